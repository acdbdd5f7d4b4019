#!/usr/bin/env python3
"""The corrupt-NIR-file suite: nir_corrupt.py FSNN_MODEL GOOD.nir WORKDIR.

Damaged copies of a good file (truncations, byte flips, garbage) and files
that are valid HDF5 but hostile NIR (links, cycles, huge or odd datasets)
go through `fsnn-model import-nir`. Each must end with exit status 1 and a
one-line `fsnn-model: error:` message, or, for a flip that only changed a
weight, import; never a signal, a hang or another status. Structural cases
must name their problem."""
import os
import random
import subprocess
import sys

import h5py
import numpy as np

tool, good, work = sys.argv[1:4]
os.makedirs(work, exist_ok=True)
failures = []
counts = {"refused": 0, "imported": 0}


def run(path, expect=None):
    out = os.path.join(work, "out.fsnn")
    if os.path.exists(out):
        os.remove(out)
    try:
        p = subprocess.run([tool, "import-nir", path, "--T", "5", "-o", out],
                           capture_output=True, timeout=120)
    except subprocess.TimeoutExpired:
        failures.append(f"{path}: hung")
        return
    try:
        p.stderr = p.stderr.decode("utf-8")
    except UnicodeDecodeError:
        failures.append(f"{path}: a message that is not UTF-8: {p.stderr!r}")
        return
    errors = [l for l in p.stderr.splitlines() if "error:" in l]
    if p.returncode == 0:
        counts["imported"] += 1
        if expect:
            failures.append(f"{path}: imported, expected '{expect}'")
    elif p.returncode == 1 and len(errors) == 1 and \
            errors[0].startswith("fsnn-model: error:"):
        counts["refused"] += 1
        if os.path.exists(out):
            failures.append(f"{path}: refused but wrote the output")
        if expect and expect not in errors[0]:
            failures.append(f"{path}: '{errors[0]}' lacks '{expect}'")
    else:
        failures.append(f"{path}: status {p.returncode}: {p.stderr[-300:]}")


data = open(good, "rb").read()


def damaged(name, content):
    path = os.path.join(work, name)
    with open(path, "wb") as f:
        f.write(content)
    return path


run(damaged("empty.nir", b""), "is empty")
run(damaged("garbage.nir", bytes(random.Random(1).randrange(256)
                                  for _ in range(4096))),
    "not an HDF5 file")
run(damaged("signature.nir", data[:8] + bytes(4096)), None)
for size in (16, 100, 512, 2048, 8192, len(data) // 2, len(data) - 1):
    run(damaged(f"truncated-{size}.nir", data[:size]))
rng = random.Random(7)
header = min(len(data), 16384)
for i in range(60):
    flipped = bytearray(data)
    for _ in range(4):
        # Mostly the metadata at the front, some anywhere.
        at = rng.randrange(header if i % 3 else len(data))
        flipped[at] ^= 1 << rng.randrange(8)
    run(damaged(f"flip-{i}.nir", bytes(flipped)))


def crafted(name, build, expect):
    path = os.path.join(work, name)
    with h5py.File(good, "r") as src, h5py.File(path, "w") as f:
        src.copy(src["node"], f, "node")
        f.create_dataset("version", data="1.0.0", dtype=h5py.string_dtype())
        build(f)
    run(path, expect)


crafted("soft-link.nir", lambda f: f.__setitem__(
    "node/nodes/link", h5py.SoftLink("/node/nodes/fc")),
    "a soft or external link")
crafted("external-link.nir", lambda f: f.__setitem__(
    "node/nodes/link", h5py.ExternalLink("/etc/passwd", "/x")),
    "a soft or external link")
crafted("cycle.nir", lambda f: f.__setitem__("node/nodes/fc/loop", f["node"]),
        "nested more than 32 deep")
crafted("huge.nir", lambda f: (f.__delitem__("node/nodes/fc/weight"),
                               f.create_dataset("node/nodes/fc/weight",
                                                shape=(1 << 29,), dtype="f4",
                                                chunks=(1 << 16,))),
        "dimension 0 is 536870912 (at most 2^28)")
crafted("compound.nir", lambda f: (f.__delitem__("node/nodes/fc/bias"),
                                   f.create_dataset(
                                       "node/nodes/fc/bias",
                                       data=np.zeros(400, dtype=[("a", "f4"),
                                                                 ("b", "i4")]))),
        "an element type NIR does not use")
crafted("nan.nir", lambda f: f["node/nodes/fc/bias"].__setitem__(0, np.nan),
        "'bias' holds a NaN or infinite value")
crafted("shape.nir", lambda f: (f.__delitem__("node/nodes/fc/bias"),
                                f.create_dataset("node/nodes/fc/bias",
                                                 data=np.zeros(3, "f4"))),
        "the bias has 3 values for 400 outputs")
crafted("missing-node.nir", lambda f: (f.__delitem__("node/edges"),
                                       f.create_dataset(
                                           "node/edges",
                                           data=np.array([["input", "nowhere"]],
                                                         dtype="S"))),
        "an edge names node 'nowhere', which the graph does not have")
crafted("edges-shape.nir", lambda f: (f.__delitem__("node/edges"),
                                      f.create_dataset(
                                          "node/edges",
                                          data=np.array(["input", "fc", "lif"],
                                                        dtype="S"))),
        "'edges' must be an [E, 2] array of node names")
crafted("type-number.nir", lambda f: (f.__delitem__("node/nodes/fc/type"),
                                      f.create_dataset("node/nodes/fc/type",
                                                       data=3)),
        "node 'fc': no 'type' string")
crafted("long-name.nir", lambda f: f.create_group("node/nodes/" + "n" * 300),
        "bytes (1 to 256 allowed)")
crafted("weight-dims.nir", lambda f: (f.__delitem__("node/nodes/fc/weight"),
                                      f.create_dataset(
                                          "node/nodes/fc/weight",
                                          data=np.zeros((400, 783), "f4"))),
        "does not take the incoming [784]")

print(f"{counts['refused']} refused, {counts['imported']} imported, "
      f"{len(failures)} failures")
for failure in failures:
    print("FAIL:", failure)
sys.exit(1 if failures else 0)
