#!/usr/bin/python3
"""Training throughput of fsnn against the PyTorch baseline, side by side, in one run.

For each model (the paper's F400 by default; T = 30 as the baseline's own
training benchmark, --T 5 for the paper's Fashion-MNIST protocol) this script
creates the model with fsnn-model, loads the same initial weights into
../shared/baseline's IDEFC / IDEConv, and then measures on the same
Fashion-MNIST training images, one after the other:

  * fsnn compiled   (fsnn-compile --train, then fsnn-train --backend compiled)
  * fsnn reference  (fsnn-train --backend reference)
  * PyTorch         (ide_torch.train_step: SGD steps with the Broyden adjoint)

For the CIFAR models (--models cifar10-alexnet-f) the images are Fashion-MNIST
in the CIFAR-10 layout (scripts/fashion-mnist-as-cifar.py) and PyTorch runs
IDEMulti.train_step of ide_torch_multi.py; --skip-reference leaves out fsnn's
reference backend, which takes minutes per step there:
  . ../shared/baseline/env.sh && /usr/bin/python3 bench/bench_training.py \
      --models cifar10-alexnet-f --steps 4 --skip-reference

Every run is the paper's full training step at batch 128: spectral refresh,
dropout, the T-step simulation, the adjoint (Broyden, 30 iterations at most,
the paper's stopping rule) and the optimiser. It prints images/s, the ratios
to PyTorch and each run's peak RSS. With --memory it also trains fsnn's
compiled step at several T and prints the peak RSS of each (it should not
grow with T: no time-unrolled graph is stored).

Every library runs on --threads threads: the compiled training step runs
its loops over the batch on OpenMP threads (fsnn-compile --train), the
reference executor its samples, PyTorch its operators.

Run (Debian 12, after scripts/build.sh; needs python3-torch, python3-numpy,
libopenblas0-pthread and dataset-fashion-mnist):
  . ../shared/baseline/env.sh && /usr/bin/python3 bench/bench_training.py
"""

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "bench"))
from bench_inference import BASELINE, FMNIST, baseline_module, run  # noqa: E402


def peak_rss_mib(cmd):
    """Runs cmd under /usr/bin/time -v; returns (stdout, peak RSS in MiB)."""
    out = subprocess.run(["/usr/bin/time", "-v"] + cmd, check=True, capture_output=True, text=True)
    for line in out.stderr.splitlines():
        if "Maximum resident set size" in line:
            return out.stdout, int(line.split()[-1]) / 1024
    return out.stdout, float("nan")


def dataset_of(arch, work, images):
    """(fsnn-train --dataset, --data-dir) for arch: Fashion-MNIST, or for the
    CIFAR models Fashion-MNIST in the CIFAR-10 layout (scripts/fashion-mnist-as-cifar.py)."""
    if not arch.startswith("cifar"):
        return "fashion-mnist", FMNIST
    out = os.path.join(work, "fmnist-as-cifar")
    if not os.path.exists(out):
        run([sys.executable, os.path.join(ROOT, "scripts", "fashion-mnist-as-cifar.py"), out,
             "--train-limit", str(images), "--test-limit", "1"])
    return "cifar10" if arch.startswith("cifar10-") else "cifar100", out


def fsnn_train(bin_dir, model, backend, steps, batch, work, threads, extra=(), dataset=("fashion-mnist", FMNIST)):
    log = os.path.join(work, f"{backend}.jsonl")
    cmd = [os.path.join(bin_dir, "fsnn-train"), model, "--dataset", dataset[0], "--data-dir", dataset[1],
           "-o", os.path.join(work, f"{backend}-trained.fsnn"), "--backend", backend, "--batch", str(batch),
           "--train-limit", str(steps * batch), "--test-limit", "1", "--max-steps", str(steps),
           "--log", log, "--threads", str(threads)] + list(extra)
    _, rss = peak_rss_mib(cmd)
    epochs = [json.loads(line) for line in open(log) if '"epoch"' in line and '"type":"epoch"' in line]
    return epochs[-1]["images_per_second"], rss


def torch_training(arch, T, weights, steps, batch, threads, data_dir):
    """Images/s of ide_torch.train_step (the CIFAR models: IDEMulti.train_step,
    ide_torch_multi.py) on the same weights and images, in a child process (its
    own peak RSS)."""
    code = f"""
import json, resource, sys, time, numpy as np, torch
sys.path.insert(0, {BASELINE!r}); sys.path.insert(0, {os.path.join(ROOT, 'bench')!r})
torch.set_num_threads({threads})
from ide_torch import load_fashion_mnist, make_optimizer, train_step
from bench_inference import baseline_module
m = baseline_module({arch!r}, {T}, {weights!r})
m.dropout = 0.2
if hasattr(m, "enable_weight_cache"):
    m.enable_weight_cache(False)
if {arch.startswith("cifar")!r}:
    # The CIFAR-layout records fsnn-train reads, normalised as it does.
    raw = np.concatenate([np.fromfile(f"{data_dir}/data_batch_{{i}}.bin", dtype=np.uint8).reshape(-1, 3073)
                          for i in range(1, 6)])
    y = torch.from_numpy(raw[:, 0].astype(np.int64))
    mean = np.array([0.4914, 0.4822, 0.4465], np.float32).reshape(1, 3, 1, 1)
    std = np.array([0.2023, 0.1994, 0.2010], np.float32).reshape(1, 3, 1, 1)
    x = torch.from_numpy((raw[:, 1:].reshape(-1, 3, 32, 32).astype(np.float32) / 255 - mean) / std)
    train_step = lambda model, opt, xb, yb: model.train_step(opt, xb, yb)
else:
    x, y = load_fashion_mnist("train")
B = {batch}
xb = [x[i * B:(i + 1) * B] for i in range({steps} + 2)]
yb = [y[i * B:(i + 1) * B] for i in range({steps} + 2)]
opt = make_optimizer(m)
for i in range(2):
    train_step(m, opt, xb[i], yb[i])
t0 = time.perf_counter()
for i in range({steps}):
    train_step(m, opt, xb[2 + i], yb[2 + i])
rate = {steps} * B / (time.perf_counter() - t0)
print(json.dumps({{"rate": rate, "rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}}))
"""
    try:
        out = run([sys.executable, "-c", code])
    except subprocess.CalledProcessError as e:
        sys.exit(f"the PyTorch run failed:\n{e.stderr}")
    r = json.loads(out.stdout.strip().splitlines()[-1])
    return r["rate"], r["rss"]


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--build", default=os.path.join(ROOT, "build"))
    p.add_argument("--models", default="fmnist-f400")
    p.add_argument("--T", type=int, default=30)
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--threads", type=int, default=2, help="threads of every library")
    p.add_argument("--steps", type=int, default=30, help="timed optimiser steps per run")
    p.add_argument("--reps", type=int, default=3)
    p.add_argument("--memory", default="", help="T values for the peak RSS of training each model, e.g. 5,30,100,300")
    p.add_argument("--skip-speed", action="store_true", help="only the --memory runs")
    p.add_argument("--skip-reference", action="store_true",
                   help="leave out fsnn's reference backend (minutes per step on the CIFAR models)")
    p.add_argument("--json", help="also write the results here")
    a = p.parse_args()
    bin_dir = os.path.join(a.build, "bin")
    work = tempfile.mkdtemp(prefix="fsnn-bench-train-")
    results = {"batch": a.batch, "T": a.T, "torch_threads": a.threads, "models": {}, "memory": {}}
    try:
        for arch in ([] if a.skip_speed else a.models.split(",")):
            model = os.path.join(work, arch + ".fsnn")
            run([os.path.join(bin_dir, "fsnn-model"), "create", arch, "-o", model, "--T", str(a.T), "--seed", "1"])
            weights = os.path.join(work, arch + "-weights")
            os.makedirs(weights)
            run([os.path.join(bin_dir, "fsnn-model"), "export-weights", model, weights])
            library = os.path.join(work, arch + ".train.so")
            compiled = True
            try:
                run([os.path.join(bin_dir, "fsnn-compile"), model, "--train", "--batch", str(a.batch), "-o", library])
            except subprocess.CalledProcessError as e:
                print(f"{arch}: no compiled training step: {e.stderr.strip()}")
                compiled = False
            rates = {"compiled": [], "reference": [], "pytorch": []}
            rss = {}
            dataset = dataset_of(arch, work, (a.steps + 2) * a.batch)
            for _ in range(a.reps):  # interleaved, so that noise hits all alike
                if compiled:
                    r, m = fsnn_train(bin_dir, model, "compiled", a.steps, a.batch, work, a.threads,
                                      ["--library", library], dataset)
                    rates["compiled"].append(r)
                    rss["compiled"] = m
                if not a.skip_reference:
                    r, m = fsnn_train(bin_dir, model, "reference", max(4, a.steps // 3), a.batch, work, a.threads,
                                      dataset=dataset)
                    rates["reference"].append(r)
                    rss["reference"] = m
                r, m = torch_training(arch, a.T, weights, a.steps, a.batch, a.threads, dataset[1])
                rates["pytorch"].append(r)
                rss["pytorch"] = m
            med = {k: statistics.median(v) for k, v in rates.items() if v}
            results["models"][arch] = {"images_per_s": med, "peak_rss_mib": rss,
                                       "ratios_to_pytorch": {k: v / med["pytorch"] for k, v in med.items()}}
        for arch in (a.models.split(",") if a.memory else []):
            results["memory"][arch] = {}
            for T in [int(t) for t in a.memory.split(",")]:
                model = os.path.join(work, f"mem-{arch}-{T}.fsnn")
                run([os.path.join(bin_dir, "fsnn-model"), "create", arch, "-o", model, "--T", str(T), "--seed", "1"])
                library = os.path.join(work, f"mem-{arch}-{T}.train.so")
                run([os.path.join(bin_dir, "fsnn-compile"), model, "--train", "--batch", str(a.batch), "-o", library])
                _, m = fsnn_train(bin_dir, model, "compiled", 2, a.batch, work, a.threads, ["--library", library])
                _, mr = fsnn_train(bin_dir, model, "reference", 1, a.batch, work, a.threads)
                results["memory"][arch][T] = {"compiled_peak_rss_mib": m, "reference_peak_rss_mib": mr}
    finally:
        shutil.rmtree(work, ignore_errors=True)

    print(f"training, batch {a.batch}, T {a.T}; every library on {a.threads} threads; "
          f"median of {a.reps} interleaved reps")
    print(f"{'model':14s}{'compiled':>10s}{'reference':>11s}{'pytorch':>10s}{'comp/pt':>9s}{'ref/pt':>8s}"
          f"{'RSS comp':>10s}{'RSS ref':>9s}{'RSS pt':>8s}  (images/s, MiB)")
    for arch, r in results["models"].items():
        i, q, s = r["images_per_s"], r["ratios_to_pytorch"], r["peak_rss_mib"]
        nan = float("nan")
        print(f"{arch:14s}{i.get('compiled', nan):10.1f}{i.get('reference', nan):11.1f}{i['pytorch']:10.1f}"
              f"{q.get('compiled', nan):9.2f}{q.get('reference', nan):8.2f}"
              f"{s.get('compiled', nan):10.0f}{s.get('reference', nan):9.0f}{s['pytorch']:8.0f}")
    for arch, by_t in results["memory"].items():
        print(f"{arch}: peak RSS of training (MiB, batch {a.batch}) against T:")
        for T, m in by_t.items():
            print(f"  T = {T:4d}: compiled {m['compiled_peak_rss_mib']:.0f}, reference {m['reference_peak_rss_mib']:.0f}")
    if a.json:
        with open(a.json, "w") as fh:
            json.dump(results, fh, indent=2)


if __name__ == "__main__":
    main()
