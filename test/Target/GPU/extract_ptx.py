"""Writes the PTX of every gpu.binary in an MLIR file (gpu-module-to-binary
format=isa) to PREFIX-<n>.ptx. Usage: extract_ptx.py FILE PREFIX"""
import re
import sys

text = open(sys.argv[1]).read()
count = 0
for m in re.finditer(r'assembly = "((?:[^"\\]|\\.)*)"', text):
    raw, out, i = m.group(1), bytearray(), 0
    while i < len(raw):
        if raw[i] == '\\':
            if raw[i + 1] in '\\"':
                out.append(ord(raw[i + 1]))
                i += 2
            else:
                out.append(int(raw[i + 1:i + 3], 16))
                i += 3
        else:
            out += raw[i].encode()
            i += 1
    open(f"{sys.argv[2]}-{count}.ptx", "wb").write(bytes(out).rstrip(b"\0"))
    count += 1
if count == 0:
    sys.exit("no PTX in " + sys.argv[1])
print(count)
