"""Checks the pictures of `python3 -m fsnn plot`: every file exists, is not
empty, and a PNG is 800 x 500 pixels (8 x 5 inches at 100 dpi), an SVG an
<svg> document. Usage: check_pictures.py DIR SUFFIX"""
import os
import struct
import sys

directory, suffix = sys.argv[1:3]
for name in ("training", "raster", "rates", "convergence", "adjoint"):
    path = os.path.join(directory, f"{name}.{suffix}")
    if not os.path.exists(path) or os.path.getsize(path) == 0:
        sys.exit(f"{path} is missing or empty")
    data = open(path, "rb").read()
    if suffix == "png":
        if data[:8] != b"\x89PNG\r\n\x1a\n" or data[12:16] != b"IHDR":
            sys.exit(f"{path} is not a PNG")
        width, height = struct.unpack(">II", data[16:24])
        if (width, height) != (800, 500):
            sys.exit(f"{path} is {width} x {height}, not 800 x 500")
    elif b"<svg" not in data[:2000]:
        sys.exit(f"{path} is not an SVG document")
    print(f"{name}.{suffix}: ok")
