#!/usr/bin/python3
"""Data-parallel training throughput: images/s on 1 and 2 MPI ranks, side by side.

For F400 (T = 5, the paper's Fashion-MNIST protocol) and 64C5s (T = 30) this
script compiles the sharded training step (fsnn-compile --train --sharded)
at the shard batch, then trains the same global batch, the same steps and
the same seed in rounds, one configuration after the other:

  * 1 process, 1 thread   (all shards one after the other)
  * 1 process, 2 threads  (the compiled step's OpenMP loops on 2 threads)
  * 2 ranks, 1 thread each (mpirun -np 2: one shard per rank)

and prints the median training images/s of each (fsnn-train's epoch line:
the steps only, not the evaluation) and the ratios. Every run trains the
same model (the ranks' result is byte-identical to one process; the lit test
tools/fsnn-train/data-parallel.test checks that).

Run (after scripts/build.sh, with libopenmpi-dev and openmpi-bin installed):
  python3 bench/bench_data_parallel.py [--rounds 3] [--steps 20]
"""

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(ROOT, "build", "bin")
DATA = "/usr/share/datasets/fashion-mnist"
MODELS = {
    # name: (zoo architecture, T, shard batch, global batch)
    "F400": ("fmnist-f400", 5, 64, 128),
    "64C5s": ("mnist-64c5", 30, 16, 32),
}


def run(command):
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"{' '.join(command)} failed:\n{done.stderr}")
    return done.stdout


def images_per_second(output):
    match = re.search(r"epoch 1/1: .*\(([0-9.]+) images/s\)", output)
    if not match:
        sys.exit(f"no epoch line in:\n{output}")
    return float(match.group(1))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--models", default=",".join(MODELS))
    args = parser.parse_args()
    mpirun = shutil.which("mpirun")
    if not mpirun:
        sys.exit("mpirun not found: install openmpi-bin (scripts/install-deps.sh)")
    launcher = [mpirun, "--oversubscribe", "--bind-to", "none"]
    if os.geteuid() == 0:
        launcher.append("--allow-run-as-root")
    work = tempfile.mkdtemp(prefix="fsnn-dp-")
    print(f"{'model':8} {'configuration':26} {'images/s':>9} {'ratio':>6}")
    for name in args.models.split(","):
        arch, steps_t, shard, batch = MODELS[name]
        model = os.path.join(work, f"{name}.fsnn")
        step = os.path.join(work, f"{name}.step.so")
        run([os.path.join(BIN, "fsnn-model"), "create", arch, "--T",
             str(steps_t), "-o", model])
        run([os.path.join(BIN, "fsnn-compile"), model, "--train", "--sharded",
             "--batch", str(shard), "-o", step])
        train = [os.path.join(BIN, "fsnn-train"), model, "--dataset",
                 "fashion-mnist", "--data-dir", DATA, "--backend", "compiled",
                 "--library", step, "--batch", str(batch), "--max-steps",
                 str(args.steps), "--train-limit", str(batch * args.steps),
                 "--epochs", "1", "--test-limit", "100", "-o",
                 os.path.join(work, "out.fsnn")]
        configurations = {
            "1 process, 1 thread": train + ["--threads", "1"],
            "1 process, 2 threads": train + ["--threads", "2"],
            "2 ranks, 1 thread each": launcher + ["-np", "2"] + train
            + ["--threads", "1"],
        }
        rates = {label: [] for label in configurations}
        for _ in range(args.rounds):
            for label, command in configurations.items():
                rates[label].append(images_per_second(run(command)))
        base = statistics.median(rates["1 process, 1 thread"])
        for label, values in rates.items():
            rate = statistics.median(values)
            print(f"{name:8} {label:26} {rate:9.1f} {rate / base:6.2f}")
    shutil.rmtree(work)
    print(f"(global batch / shard batch: F400 {MODELS['F400'][3]}/"
          f"{MODELS['F400'][2]}, 64C5s {MODELS['64C5s'][3]}/"
          f"{MODELS['64C5s'][2]}; median of {args.rounds} rounds, "
          f"{args.steps} steps each; {os.cpu_count()} cores)")


if __name__ == "__main__":
    main()
