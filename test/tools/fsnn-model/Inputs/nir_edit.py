#!/usr/bin/env python3
"""Copies a NIR file and changes one readout bias, as another tool editing
an fsnn export would: nir_edit.py IN OUT."""
import shutil
import sys

import h5py

shutil.copy(sys.argv[1], sys.argv[2])
with h5py.File(sys.argv[2], "r+") as f:
    f["node/nodes/readout/bias"][0] += 0.5
