"""Runs a compiled model from Python on Fashion-MNIST test images read with
numpy and normalised as fsnn-run normalises them ((p / 255 - 0.1307) /
0.3081 in float64, then float32), and writes the logits as raw float32, as
fsnn-run --dump-logits does. Usage: run_numpy.py MODEL LIBRARY IMAGES.gz N OUT"""
import gzip
import sys

import numpy as np

import fsnn

model_path, library, images_path, count, out = sys.argv[1:6]
with gzip.open(images_path, "rb") as f:
    raw = f.read()
n, rows, cols = (int.from_bytes(raw[i:i + 4], "big") for i in (4, 8, 12))
pixels = np.frombuffer(raw, np.uint8, offset=16).reshape(n, rows * cols)
images = ((pixels[:int(count)] / 255.0 - 0.1307) / 0.3081).astype(np.float32)

model = fsnn.load_model(model_path)
result = fsnn.CompiledModel(model, library, threads=2).run(images)
logits, counts = result["logits"], result["counts"]
assert logits.shape == (int(count), 10) and logits.dtype == np.float32
assert counts[0].shape == (int(count), 400), counts[0].shape
assert np.array_equal(result["rates"][0], counts[0] / model.time_steps)
logits.tofile(out)
print(f"{logits.shape[0]} logits, accuracy unknown here; counts {counts[0].shape}")
