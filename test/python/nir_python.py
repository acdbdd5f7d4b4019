#!/usr/bin/env python3
"""fsnn.import_nir and Model.export_nir: nir_python.py FIXTURES (the
directory Inputs/nir_fixtures.py wrote)."""
import sys

import numpy as np

import fsnn

fixtures = sys.argv[1]
model = fsnn.import_nir(f"{fixtures}/f400.nir", time_steps=5)
for note in model.notes:
    print("note:", note)
x = np.load(f"{fixtures}/x.npy").astype(np.float32)
logits = fsnn.run_reference(model, x, double_precision=True)["logits"]
expected = np.load(f"{fixtures}/f400.expected.npy")
error = np.abs(logits - expected).max() / np.abs(expected).max()
print("f400 logits match NIR's semantics:", bool(error < 1e-5),
      "predictions equal:", bool((logits.argmax(1) == expected.argmax(1)).all()))
notes = model.export_nir(f"{fixtures}/again.nir")
back = fsnn.import_nir(f"{fixtures}/again.nir")
print("round trip:", back.notes[-1])
print("parameters equal:", all(np.array_equal(value, back.parameters()[name])
                               for name, value in model.parameters().items()))
try:
    fsnn.import_nir(f"{fixtures}/refuse-v-reset.nir", time_steps=5)
except fsnn.Error as error:
    print("refused:", error)
