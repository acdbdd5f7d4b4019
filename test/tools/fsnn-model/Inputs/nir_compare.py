#!/usr/bin/env python3
"""nir_compare.py EXPECTED.npy ACTUAL.npy TOLERANCE: fails unless the two
logit arrays agree to TOLERANCE relative to the largest |expected|, and
prints how many predictions agree."""
import sys

import numpy as np

expected = np.load(sys.argv[1]).astype(np.float64)
actual = np.load(sys.argv[2]).astype(np.float64)
tolerance = float(sys.argv[3])
if expected.shape != actual.shape:
    sys.exit(f"shapes differ: {expected.shape} vs {actual.shape}")
error = np.abs(expected - actual).max() / np.abs(expected).max()
agree = int((expected.argmax(1) == actual.argmax(1)).sum())
print(f"max relative difference {error:.1e}, "
      f"predictions {agree}/{len(expected)} equal")
if not error <= tolerance:
    sys.exit(f"difference {error:.3e} above {tolerance:.0e}")
