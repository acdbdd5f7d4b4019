#!/usr/bin/python3
"""Inference throughput of fsnn against the PyTorch baseline, side by side, in one run.

For each model (the paper's F400, 64C5s-F64C5 and CIFAR AlexNet-F at T = 30
by default) this script creates the model with fsnn-model, exports its
weights, loads the same weights into ../shared/baseline's IDEFC / IDEConv /
IDEMulti (ide_torch_multi.py), compiles the model with fsnn-compile, and then
measures on the same images (Fashion-MNIST test images; for the CIFAR models,
which cannot be downloaded here, --cifar-images random 3 x 32 x 32 images
written as an IDX file, in batches of --cifar-batch), in this process and its
children, one after the other:

  * fsnn compiled   (fsnn-run m.so --json; batch 128, 2 threads)
  * fsnn reference  (fsnn-run --backend reference --json)
  * PyTorch         (the baseline module in eval mode, torch.set_num_threads)
  * sgemm peak      (torch.mm of 1024 x 1024 float32, the same threads)

and prints images/s, the ratios to PyTorch, fsnn's dense-equivalent GFLOP/s
against the sgemm peak, and whether the predictions agree.

A freshly created model's feedback weight uses random power-iteration
vectors u and v (docs/method.md §4.1), so its spectral estimate is far from
sigma(V) and the event-driven maps see unrepresentative spikes (F400: rate
0.48, a neuron switching on once and for all). --train-steps N first trains
each model N steps through its compiled training step (the power iteration
and the BN statistics then settle), as a deployed model would be; PyTorch's
dense work does not depend on the weights. The default is 30 steps; 0
measures the models as created. Machines here are
shared and noisy: every figure is the median of --reps repetitions, compiled
and PyTorch interleaved one at a time, and the ratios are what to quote.

Run (Debian 12, after scripts/build.sh; needs python3-torch, python3-numpy,
libopenblas0-pthread and dataset-fashion-mnist):
  . ../shared/baseline/env.sh && /usr/bin/python3 bench/bench_inference.py
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BASELINE = os.path.join(os.path.dirname(ROOT), "shared", "baseline")
FMNIST = "/usr/share/datasets/fashion-mnist"


def run(cmd, **kw):
    return subprocess.run(cmd, check=True, capture_output=True, text=True, **kw)


def dense_flops_per_image(arch, T):
    """Dense-equivalent multiply-adds x 2 of one inference (F once, feedback per step)."""
    if arch.startswith("cifar"):
        # AlexNet-F: F (3->96 s2, 32x32 -> 16x16) once; per step the layers
        # 96->256 (16x16), 256->384 s2 (8x8), 384->384, 384->256 (8x8) and the
        # feedback 256->96 transposed conv s2 (8x8 -> 16x16).
        per_step = 96 * 256 * 9 * 256 + 256 * 384 * 9 * 64 + 384 * 384 * 9 * 64 + 384 * 256 * 9 * 64 \
            + 256 * 96 * 9 * 64
        return 2 * (3 * 96 * 9 * 256 + T * per_step + 16384 * 10)
    if arch == "fmnist-f400":
        return 2 * (784 * 400 + (T - 1) * 400 * 400 + 400 * 10)
    # 64C5s: conv 1->64 5x5 s2 on 28x28 -> 14x14; feedback 64->64 5x5 on 14x14.
    return 2 * (64 * 25 * 196 + (T - 1) * 64 * 64 * 25 * 196 + 12544 * 10)


def write_cifar_images(path, n, seed=1):
    """n random 3 x 32 x 32 images as an IDX file (unsigned bytes, 4 dims)."""
    pixels = np.random.default_rng(seed).integers(0, 256, size=(n, 3, 32, 32), dtype=np.uint8)
    with open(path, "wb") as fh:
        fh.write(bytes([0, 0, 8, 4]))
        for d in pixels.shape:
            fh.write(int(d).to_bytes(4, "big"))
        fh.write(pixels.tobytes())
    import torch
    return torch.from_numpy(pixels.astype(np.float32) / 255.0)


def load_images(n):
    sys.path.insert(0, BASELINE)
    from ide_torch import load_fashion_mnist  # noqa: E402
    x, _ = load_fashion_mnist("test")
    return x[:n].contiguous()


def baseline_module(arch, T, weights_dir):
    import torch
    sys.path.insert(0, BASELINE)
    from ide_torch import IDEConv, IDEFC  # noqa: E402
    manifest = {t["name"]: t for t in json.load(open(os.path.join(weights_dir, "manifest.json")))}

    def tensor(name):
        t = manifest[name]
        data = np.fromfile(os.path.join(weights_dir, t["file"]), dtype=np.float32)
        return torch.from_numpy(data.reshape(t["dims"]))

    names = {"ff.weight": "f.weight", "ff.bias": "f.bias", "bn.weight": "f.bn.gamma",
             "bn.bias": "f.bn.beta", "bn.running_mean": "f.bn.running_mean",
             "bn.running_var": "f.bn.running_var", "fb.weight_v": "fb.v", "fb.weight_g": "fb.g",
             "fb.u": "fb.u", "fb.v": "fb.vvec", "classifier.weight": "readout.weight",
             "classifier.bias": "readout.bias"}
    if arch.startswith("cifar"):
        from ide_torch_multi import ALEXNET_F, CIFARNET_F, IDEMulti  # noqa: E402
        shape = ALEXNET_F if "alexnet" in arch else CIFARNET_F
        m = IDEMulti(channels=shape["channels"], strides=shape["strides"], T=T,
                     n_classes=100 if arch.startswith("cifar100") else 10)
        names = {"fb.weight_v": "fb.v", "fb.weight_g": "fb.g", "fb.u": "fb.u", "fb.v": "fb.vvec",
                 "classifier.weight": "readout.weight", "classifier.bias": "readout.bias",
                 "ff.weight": "layer1.weight", "ff.bias": "layer1.bias", "bn0.weight": "layer1.bn.gamma",
                 "bn0.bias": "layer1.bn.beta", "bn0.running_mean": "layer1.bn.running_mean",
                 "bn0.running_var": "layer1.bn.running_var"}
        for i in range(len(shape["channels"]) - 1):
            ours = f"layer{i + 2}"
            names.update({f"convs.{i}.weight": ours + ".weight", f"convs.{i}.bias": ours + ".bias",
                          f"bns.{i}.weight": ours + ".bn.gamma", f"bns.{i}.bias": ours + ".bn.beta",
                          f"bns.{i}.running_mean": ours + ".bn.running_mean",
                          f"bns.{i}.running_var": ours + ".bn.running_var"})
    else:
        m = IDEFC(n_hidden=400, T=T) if arch == "fmnist-f400" else IDEConv(T=T)
    state = m.state_dict()
    for theirs, ours in names.items():
        state[theirs] = tensor(ours).reshape(state[theirs].shape)
    m.load_state_dict(state)
    m.eval()
    if hasattr(m, "enable_weight_cache"):
        m.enable_weight_cache(True)
    elif hasattr(m.fb, "cache"):
        m.fb.cache = True
    return m


def time_torch(module, x, batch, reps):
    import torch
    batches = [x[i:i + batch] for i in range(0, len(x), batch)]
    logits = []
    with torch.no_grad():
        for xb in batches[:2]:
            module(xb)
        rates = []
        for r in range(reps):
            t0 = time.perf_counter()
            out = [module(xb) for xb in batches]
            rates.append(len(x) / (time.perf_counter() - t0))
            logits = out
    return statistics.median(rates), torch.cat(logits).numpy()


def sgemm_peak(threads):
    import torch
    torch.set_num_threads(threads)
    a = torch.randn(1024, 1024)
    b = torch.randn(1024, 1024)
    for _ in range(3):
        a @ b
    rates = []
    for _ in range(5):
        t0 = time.perf_counter()
        for _ in range(10):
            a @ b
        rates.append(10 * 2 * 1024 ** 3 / (time.perf_counter() - t0) / 1e9)
    return max(rates)


def fsnn_run(bin_dir, args, reps):
    rates, result = [], None
    for _ in range(reps):
        result = json.loads(run([os.path.join(bin_dir, "fsnn-run")] + args + ["--json"]).stdout)
        rates.append(result["images_per_second"])
    return statistics.median(rates), result


def train(bin_dir, work, arch, model, steps, threads):
    """Trains `model` in place for `steps` steps through its compiled training
    step; returns the steps, or 0 (with a note) where it has none."""
    library = os.path.join(work, arch + ".train.so")
    try:
        run([os.path.join(bin_dir, "fsnn-compile"), model, "--train", "--batch", "128", "-o", library])
    except subprocess.CalledProcessError as e:
        print(f"{arch}: measured untrained (no compiled training step: {e.stderr.strip().splitlines()[-1]})")
        return 0
    trained = os.path.join(work, arch + ".trained.fsnn")
    run([os.path.join(bin_dir, "fsnn-train"), model, "--dataset", "fashion-mnist", "--data-dir", FMNIST,
         "--backend", "compiled", "--library", library, "--batch", "128", "--max-steps", str(steps),
         "--train-limit", str(128 * steps), "--test-limit", "1", "--threads", str(threads), "-o", trained])
    os.replace(trained, model)
    return steps


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--build", default=os.path.join(ROOT, "build"))
    p.add_argument("--models", default="fmnist-f400,mnist-64c5,cifar10-alexnet-f")
    p.add_argument("--T", type=int, default=30)
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--reps", type=int, default=5)
    p.add_argument("--images", type=int, default=0, help="images per model (default: 8192 FC, 256 conv)")
    p.add_argument("--cifar-images", type=int, default=16, help="random images for the CIFAR models")
    p.add_argument("--cifar-batch", type=int, default=8, help="batch of the CIFAR models")
    p.add_argument("--train-steps", type=int, default=30,
                   help="first train each model this many steps (batch 128, compiled backend, Fashion-MNIST), "
                        "so that its spectral estimate and BN statistics are those of a trained model; "
                        "models without a compiled training step are measured untrained")
    p.add_argument("--json", help="also write the results here")
    a = p.parse_args()
    if a.train_steps < 0:
        p.error("--train-steps must be >= 0")
    import torch
    torch.set_num_threads(a.threads)
    bin_dir = os.path.join(a.build, "bin")
    work = tempfile.mkdtemp(prefix="fsnn-bench-")
    results = {"threads": a.threads, "batch": a.batch, "T": a.T, "torch": torch.__version__,
               "sgemm_peak_gflops": sgemm_peak(a.threads), "models": {}}
    try:
        for arch in a.models.split(","):
            cifar = arch.startswith("cifar")
            n = a.cifar_images if cifar else a.images or (8192 if arch == "fmnist-f400" else 256)
            batch = a.cifar_batch if cifar else a.batch
            model = os.path.join(work, arch + ".fsnn")
            run([os.path.join(bin_dir, "fsnn-model"), "create", arch, "-o", model, "--T", str(a.T), "--seed", "1"])
            trained_steps = train(bin_dir, work, arch, model, a.train_steps, a.threads) if a.train_steps else 0
            weights = os.path.join(work, arch + "-weights")
            os.makedirs(weights)
            run([os.path.join(bin_dir, "fsnn-model"), "export-weights", model, weights])
            library = os.path.join(work, arch + ".so")
            # One chunk per thread: the runtime runs chunks of the compiled batch in parallel.
            compiled_batch = max(1, batch // a.threads)
            run([os.path.join(bin_dir, "fsnn-compile"), model, "-o", library, "--batch", str(compiled_batch)])
            if cifar:
                images = os.path.join(work, "cifar.idx")
                x = write_cifar_images(images, n)
            else:
                images = os.path.join(FMNIST, "t10k-images-idx3-ubyte.gz")
                x = load_images(n)
            common = ["--model", model, "--images", images, "--limit", str(n), "--batch", str(batch),
                      "--threads", str(a.threads)]
            module = baseline_module(arch, a.T, weights)
            # Interleaved, one repetition of each at a time, so that the
            # machine's noise (which moved PyTorch's rate by 2x between runs
            # minutes apart) hits both alike.
            compiled_rates, torch_rates = [], []
            for _ in range(a.reps):
                compiled_rates.append(fsnn_run(bin_dir, [library] + common, 1)[0])
                rate, torch_logits = time_torch(module, x, batch, 1)
                torch_rates.append(rate)
            compiled_rate = statistics.median(compiled_rates)
            torch_rate = statistics.median(torch_rates)
            dump = os.path.join(work, arch + ".logits")
            run([os.path.join(bin_dir, "fsnn-run"), library] + common + ["--dump-logits", dump])
            reference_rate, _ = fsnn_run(bin_dir, ["--backend", "reference"] + common, 1)
            ours = np.fromfile(dump, dtype=np.float32).reshape(torch_logits.shape)
            agree = float((ours.argmax(1) == torch_logits.argmax(1)).mean())
            flops = dense_flops_per_image(arch, a.T)
            results["models"][arch] = {
                "images": n, "batch": batch, "trained_steps": trained_steps,
                "fsnn_compiled_images_per_s": compiled_rate,
                "fsnn_reference_images_per_s": reference_rate, "pytorch_images_per_s": torch_rate,
                "compiled_over_pytorch": compiled_rate / torch_rate,
                "reference_over_pytorch": reference_rate / torch_rate,
                "compiled_dense_equivalent_gflops": flops * compiled_rate / 1e9,
                "prediction_agreement_with_pytorch": agree,
                "max_abs_logit_difference": float(np.abs(ours - torch_logits).max()),
            }
    finally:
        shutil.rmtree(work, ignore_errors=True)

    peak = results["sgemm_peak_gflops"]
    print(f"threads {a.threads}, batch {a.batch}, T {a.T}, torch {results['torch']}, "
          f"sgemm peak {peak:.1f} GFLOP/s (median of {a.reps} interleaved reps each)")
    print(f"{'model':22s}{'trained':>8s}{'compiled':>12s}{'reference':>12s}{'pytorch':>12s}"
          f"{'compiled/pt':>13s}{'ref/pt':>9s}{'GFLOP/s':>10s}{'%peak':>7s}{'agree':>8s}")
    for arch, r in results["models"].items():
        g = r["compiled_dense_equivalent_gflops"]
        print(f"{arch:22s}{r['trained_steps']:8d}"
              f"{r['fsnn_compiled_images_per_s']:12.0f}{r['fsnn_reference_images_per_s']:12.0f}"
              f"{r['pytorch_images_per_s']:12.0f}{r['compiled_over_pytorch']:13.2f}"
              f"{r['reference_over_pytorch']:9.2f}{g:10.2f}{100 * g / peak:7.1f}"
              f"{100 * r['prediction_agreement_with_pytorch']:7.1f}%")
    if a.json:
        with open(a.json, "w") as fh:
            json.dump(results, fh, indent=2)


if __name__ == "__main__":
    main()
