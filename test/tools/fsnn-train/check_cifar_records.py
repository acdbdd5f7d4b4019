"""Usage: check_cifar_records.py CIFAR_DIR FASHION_MNIST_DIR TRAIN TEST

Fails unless CIFAR_DIR holds data_batch_1..5.bin with TRAIN records in all
(in order, equal parts) and test_batch.bin with TEST, each record the
Fashion-MNIST label then the image zero-padded to 32 x 32 in all three
planes."""
import gzip
import os
import sys

cifar, source, train, test = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
RECORD = 1 + 3 * 32 * 32


def idx(name, header):
    with gzip.open(os.path.join(source, name), "rb") as f:
        return f.read()[header:]


def expected(images, labels, i):
    plane = bytearray(32 * 32)
    for row in range(28):
        plane[(row + 2) * 32 + 2:(row + 2) * 32 + 30] = images[i * 784 + row * 28:i * 784 + row * 28 + 28]
    return bytes([labels[i]]) + bytes(plane) * 3


def check(files, prefix, count):
    images, labels = idx(prefix + "-images-idx3-ubyte.gz", 16), idx(prefix + "-labels-idx1-ubyte.gz", 8)
    records = b"".join(open(os.path.join(cifar, f), "rb").read() for f in files)
    if len(records) != count * RECORD:
        sys.exit(f"{files}: {len(records)} bytes, expected {count} records of {RECORD}")
    for i in range(count):
        if records[i * RECORD:(i + 1) * RECORD] != expected(images, labels, i):
            sys.exit(f"{prefix} image {i}: its record differs")


check([f"data_batch_{b}.bin" for b in range(1, 6)], "train", train)
sizes = [os.path.getsize(os.path.join(cifar, f"data_batch_{b}.bin")) for b in range(1, 6)]
if len(set(sizes)) != 1:
    sys.exit(f"training batches of unequal sizes {sizes}")
check(["test_batch.bin"], "t10k", test)
print(f"{train} training and {test} test records match the images")
