"""Writes .npy inputs for npy.test from the Fashion-MNIST test images, and
with --check compares fsnn-run's .npy outputs. Stdlib only (no numpy): the
arrays are written and read by hand, in NumPy's format.
Usage: npy_inputs.py FASHION_MNIST_DIR WORK [--check]"""
import array
import ast
import gzip
import struct
import sys


def write(path, descr, shape, data):
    header = (f"{{'descr': '{descr}', 'fortran_order': False, "
              f"'shape': {tuple(shape)}, }}")
    header += " " * ((64 - (10 + len(header) + 1) % 64) % 64) + "\n"
    with open(path, "wb") as f:
        f.write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)))
        f.write(header.encode() + data)


def read(path):
    raw = open(path, "rb").read()
    assert raw[:6] == b"\x93NUMPY", path
    length = struct.unpack("<H", raw[8:10])[0]
    header = ast.literal_eval(raw[10:10 + length].decode())
    return header["descr"], header["shape"], raw[10 + length:]


directory, work = sys.argv[1:3]
n = 200
with gzip.open(f"{directory}/t10k-images-idx3-ubyte.gz") as f:
    pixels = f.read()[16:16 + n * 784]
with gzip.open(f"{directory}/t10k-labels-idx1-ubyte.gz") as f:
    labels = f.read()[8:8 + n]

if "--check" not in sys.argv:
    write(f"{work}/pixels.npy", "|u1", (n, 784), pixels)
    normalised = array.array("f", ((p / 255.0 - 0.1307) / 0.3081 for p in pixels))
    write(f"{work}/float.npy", "<f4", (n, 28, 28), normalised.tobytes())
    write(f"{work}/labels.npy", "<i8", (n,),
          array.array("q", list(labels)).tobytes())
    write(f"{work}/corrupt.npy", "<f4", (n, 784), b"\0" * 12)
    sys.exit(0)

descr, shape, logits = read(f"{work}/idx-logits.npy")
assert (descr, shape) == ("<f4", (n, 10)), (descr, shape)
assert logits == open(f"{work}/idx.bin", "rb").read(), "logits != --dump-logits"
descr, shape, counts = read(f"{work}/idx-counts.npy")
assert (descr, shape) == ("<i4", (n, 400)), (descr, shape)
values = array.array("i", counts)
assert 0 <= min(values) and max(values) <= 5 and sum(values) > 0
for name in ("float", "pixels"):
    assert read(f"{work}/{name}-logits.npy")[2] == logits, f"{name} logits differ"
assert read(f"{work}/pixels-counts.npy")[2] == counts, "counts:1 differ"
descr, shape, _ = read(f"{work}/dataset-logits.npy")
assert (descr, shape) == ("<f4", (n, 10)), (descr, shape)
print("npy outputs: ok")
