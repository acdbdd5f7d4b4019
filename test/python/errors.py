"""Bad input from Python raises fsnn.Error with the library's message.
Usage: errors.py MODEL LIBRARY"""
import os
import sys
import tempfile

import numpy as np

import fsnn

model_path, library = sys.argv[1:3]
model = fsnn.load_model(model_path)
corrupt = os.path.join(tempfile.mkdtemp(), "corrupt.fsnn")
with open(corrupt, "wb") as f:
    f.write(b"\x08\x01\x12\xff\xff\xff\xff\x0fgarbage")
cases = {
    "missing library": lambda: fsnn.CompiledModel(model, "/nonexistent/missing.so"),
    "wrong shape": lambda: fsnn.CompiledModel(model, library).run(
        np.zeros((2, 5), np.float32)),
    "corrupt model": lambda: fsnn.load_model(corrupt),
    "unknown parameter": lambda: model.set_parameters({"nope": np.zeros(3)}),
    "wrong parameter shape": lambda: model.set_parameters(
        {"f.bias": np.zeros(3)}),
    "unknown architecture": lambda: fsnn.create_model("resnet"),
    "trainer batch": lambda: fsnn.Trainer(model, backend="reference", batch=32)
    .step(np.zeros((2, 784), np.float32), [0, 1]),
}
for name, call in cases.items():
    try:
        call()
    except fsnn.Error as e:
        print(f"{name}: {e}")
    else:
        sys.exit(f"{name}: no exception")
