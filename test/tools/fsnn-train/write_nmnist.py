"""Usage: write_nmnist.py DIR TRAIN_PER_CLASS TEST_PER_CLASS

Writes a small N-MNIST tree (DIR/{Train,Test}/<digit>/NNNNN.bin) of random
events in the dataset's 40-bit format (x, y, polarity bit and a 23-bit
timestamp in microseconds, over the recordings' 300 ms), seeded, so that
the N-MNIST models train on it where the dataset cannot be downloaded."""
import os
import random
import sys

out, per_train, per_test = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rng = random.Random(5)
for split, per_class in (("Train", per_train), ("Test", per_test)):
    for digit in range(10):
        folder = os.path.join(out, split, str(digit))
        os.makedirs(folder, exist_ok=True)
        for n in range(per_class):
            events = bytearray()
            # A digit-dependent blob, so that the classes differ.
            cx, cy = 6 + 2 * digit, 8 + digit
            for _ in range(rng.randrange(300, 600)):
                x = min(33, max(0, int(rng.gauss(cx, 4))))
                y = min(33, max(0, int(rng.gauss(cy, 4))))
                t = rng.randrange(0, 300_000)
                events += bytes([x, y, (rng.randrange(2) << 7) | (t >> 16), (t >> 8) & 0xFF, t & 0xFF])
            with open(os.path.join(folder, f"{n:05d}.bin"), "wb") as f:
                f.write(events)
print(f"wrote {10 * per_train} training and {10 * per_test} test recordings in {out}")
