#!/usr/bin/python3
"""Writes Fashion-MNIST in the CIFAR-10 binary layout, so that the CIFAR
models (AlexNet-F, CIFARNet-F) can be trained on real images on machines
where CIFAR cannot be downloaded.

Each 28 x 28 image is zero-padded to 32 x 32 and replicated to 3 channels;
a record is its label byte then the 3 x 1024 pixel bytes (R, G, B planes),
as in cifar-10-batches-bin. The 60,000 training images go to
data_batch_1.bin ... data_batch_5.bin (in order, equal parts), the 10,000
test images to test_batch.bin. Every file is written to a temporary name
and renamed, so an interrupted run leaves no partial batch.

Usage:
  scripts/fashion-mnist-as-cifar.py OUTPUT_DIR [--source DIR]
      [--train-limit N] [--test-limit N]
then: fsnn-train MODEL --dataset cifar10 --data-dir OUTPUT_DIR ...
"""

import argparse
import gzip
import os
import struct
import sys

SOURCE = "/usr/share/datasets/fashion-mnist"
SIDE, PADDED, PAD = 28, 32, 2


def read_idx(path, rank):
    """The array of an IDX file (raw or .gz) of unsigned bytes: (dims, data)."""
    opener = gzip.open if path.endswith(".gz") else open
    try:
        with opener(path, "rb") as f:
            raw = f.read()
    except OSError as e:
        sys.exit(f"fashion-mnist-as-cifar: {path}: {e}")
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] != 0x08 or raw[3] != rank:
        sys.exit(f"fashion-mnist-as-cifar: {path}: not an IDX file of unsigned bytes and rank {rank}")
    dims = struct.unpack(">" + "I" * rank, raw[4:4 + 4 * rank])
    count = 1
    for d in dims:
        count *= d
    data = raw[4 + 4 * rank:]
    if len(data) != count:
        sys.exit(f"fashion-mnist-as-cifar: {path}: {len(data)} bytes of data, the header says {count}")
    return dims, data


def find(source, names):
    for name in names:
        path = os.path.join(source, name)
        if os.path.exists(path):
            return path
    sys.exit(f"fashion-mnist-as-cifar: none of {', '.join(names)} in {source}")


def load(source, prefix, limit):
    images = find(source, [f"{prefix}-images-idx3-ubyte.gz", f"{prefix}-images-idx3-ubyte"])
    labels = find(source, [f"{prefix}-labels-idx1-ubyte.gz", f"{prefix}-labels-idx1-ubyte"])
    (n, rows, cols), pixels = read_idx(images, 3)
    (m,), classes = read_idx(labels, 1)
    if (rows, cols) != (SIDE, SIDE):
        sys.exit(f"fashion-mnist-as-cifar: {images}: images of {rows} x {cols}, expected {SIDE} x {SIDE}")
    if n != m:
        sys.exit(f"fashion-mnist-as-cifar: {images} has {n} images, {labels} {m} labels")
    if any(c > 9 for c in classes):
        sys.exit(f"fashion-mnist-as-cifar: {labels}: a label above 9")
    if limit:
        n = min(n, limit)
    return n, pixels, classes


def record(pixels, label, index):
    """One CIFAR-10 record: the label, then the padded image three times."""
    plane = bytearray(PADDED * PADDED)
    image = pixels[index * SIDE * SIDE:(index + 1) * SIDE * SIDE]
    for row in range(SIDE):
        start = (row + PAD) * PADDED + PAD
        plane[start:start + SIDE] = image[row * SIDE:(row + 1) * SIDE]
    return bytes([label]) + bytes(plane) * 3


def write_batch(path, pixels, classes, indices):
    temporary = path + ".tmp"
    with open(temporary, "wb") as f:
        for i in indices:
            f.write(record(pixels, classes[i], i))
    os.replace(temporary, path)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("output")
    p.add_argument("--source", default=SOURCE, help="Fashion-MNIST's IDX files (default %(default)s)")
    p.add_argument("--train-limit", type=int, default=0, help="the first N training images only")
    p.add_argument("--test-limit", type=int, default=0, help="the first N test images only")
    a = p.parse_args()
    for name in ("train_limit", "test_limit"):
        if getattr(a, name) < 0:
            sys.exit(f"fashion-mnist-as-cifar: --{name.replace('_', '-')} must be >= 0")
    train = load(a.source, "train", a.train_limit)
    test = load(a.source, "t10k", a.test_limit)
    if train[0] < 5:
        sys.exit("fashion-mnist-as-cifar: fewer than 5 training images for the 5 training batches")
    os.makedirs(a.output, exist_ok=True)
    n, pixels, classes = train
    for b in range(5):
        write_batch(os.path.join(a.output, f"data_batch_{b + 1}.bin"), pixels, classes,
                    range(b * n // 5, (b + 1) * n // 5))
    n, pixels, classes = test
    write_batch(os.path.join(a.output, "test_batch.bin"), pixels, classes, range(n))
    print(f"wrote {train[0]} training and {test[0]} test images as CIFAR-10 batches in {a.output}")


if __name__ == "__main__":
    main()
