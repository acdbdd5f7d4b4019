"""Pictures of a model and its training (matplotlib, PNG or SVG by the
file's suffix): training curves, spike rasters, firing-rate histograms,
a[t] approaching the equilibrium a*, and the adjoint solver's residual per
iteration. Each function writes one file; `python3 -m fsnn plot` writes
them all (docs/python.md)."""
import json

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402

from . import _fsnn  # noqa: E402

# Every figure is this size, so that a PNG is WIDTH x HEIGHT pixels.
WIDTH_INCHES, HEIGHT_INCHES, DPI = 8.0, 5.0, 100


def _figure(rows=1, columns=1, **kwargs):
    return plt.subplots(rows, columns, figsize=(WIDTH_INCHES, HEIGHT_INCHES),
                        dpi=DPI, **kwargs)


def _save(figure, path):
    figure.tight_layout()
    figure.savefig(path, dpi=DPI)
    plt.close(figure)
    return path


def _read_log(path):
    steps, epochs = [], []
    with open(path) as f:
        for line in f:
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if record.get("type") == "step":
                steps.append(record)
            elif record.get("type") == "epoch":
                epochs.append(record)
    if not steps and not epochs:
        raise _fsnn.Error(f"{path}: no step or epoch records (fsnn-train --log)")
    return steps, epochs


def training_curves(log_path, out):
    """Loss per logged step; train and test accuracy per epoch on a zoomed
    percentage axis; the adjoint's worst relative residual (log scale) and
    the learning rate."""
    steps, epochs = _read_log(log_path)
    figure, axes = _figure(2, 2, sharex=True)
    (loss, accuracy), (residual, rate) = axes
    x = [s["step"] for s in steps if s.get("loss", -1) >= 0]
    loss.plot(x, [s["loss"] for s in steps if s.get("loss", -1) >= 0],
              color="#c0392b", label="training loss")
    loss.set_ylabel("cross-entropy")
    loss.set_title("Loss")
    loss.legend(loc="upper right")
    values = []
    for key, label, colour in (("train_accuracy", "train", "#2e86c1"),
                               ("test_accuracy", "test", "#28b463")):
        points = [(e["step"], 100 * e[key]) for e in epochs
                  if e.get(key, -1) >= 0]
        if points:
            accuracy.plot(*zip(*points), marker="o", color=colour, label=label)
            values += [v for _, v in points]
    if values:
        low, high = min(values), max(values)
        margin = max(1.0, 0.15 * (high - low))
        accuracy.set_ylim(max(0, low - margin), min(100, high + margin))
        accuracy.legend(loc="lower right")
    accuracy.set_ylabel("accuracy (%)")
    accuracy.set_title("Accuracy per epoch")
    residuals = [(s["step"], s["adjoint_worst_residual"]) for s in steps
                 if s.get("adjoint_worst_residual", 0) > 0]
    if residuals:
        residual.semilogy(*zip(*residuals), color="#8e44ad",
                          label="worst sample of the step")
        residual.legend(loc="upper right")
    residual.set_ylabel("|r(β)| / |∂L/∂a|")
    residual.set_title("Adjoint residual")
    residual.set_xlabel("step")
    rate.plot([s["step"] for s in steps], [s.get("lr", 0) for s in steps],
              color="#d35400", label="learning rate")
    rate.set_ylabel("learning rate")
    rate.set_title("Schedule")
    rate.set_xlabel("step")
    rate.legend(loc="upper right")
    for axis in axes.flat:
        axis.grid(alpha=0.3)
    return _save(figure, out)


def spike_raster(model, image, out, layer=0, neurons=None):
    """Spikes of chosen neurons of a layer over the T steps, for one image
    (the reference executor in float64). `neurons`: indices, or the 64 most
    active by default."""
    trace = _fsnn.trace(model, np.asarray(image, np.float32)[None])
    spikes = trace["spikes"][layer][:, 0, :]  # T x neurons
    if neurons is None:
        neurons = np.argsort(-spikes.sum(0), kind="stable")[:64]
    neurons = np.asarray(neurons)
    figure, axis = _figure()
    T = spikes.shape[0]
    for row, neuron in enumerate(neurons):
        times = np.nonzero(spikes[:, neuron])[0] + 1
        axis.scatter(times, np.full(len(times), row), marker="|", s=60,
                     color="black")
    axis.set_xlim(0.5, T + 0.5)
    axis.set_ylim(-1, len(neurons))
    axis.xaxis.set_major_locator(MaxNLocator(integer=True))
    axis.set_xlabel("time step t")
    axis.set_ylabel(f"neuron (layer {layer + 1}, {len(neurons)} shown)")
    axis.set_title(f"Spike raster ({model.name}, T = {T})")
    return _save(figure, out)


def rate_histograms(model, images, out, library=None):
    """Per layer, the histogram of firing rates (spikes per step) over the
    neurons and images: through a compiled library if given, else the
    reference executor."""
    images = np.asarray(images, np.float32)
    result = (_fsnn.CompiledModel(model, library).run(images) if library
              else _fsnn.run_reference(model, images))
    layers = result["rates"]
    figure, axes = _figure(1, len(layers), squeeze=False)
    for index, (axis, rates) in enumerate(zip(axes[0], layers)):
        values = np.ravel(rates)
        axis.hist(values, bins=np.linspace(0, 1, model.time_steps + 2),
                  color="#2e86c1", edgecolor="white")
        axis.set_yscale("log")
        axis.set_xlabel("firing rate (spikes per step)")
        axis.set_ylabel("neurons x images")
        axis.set_title(f"Layer {index + 1}: mean {values.mean():.3f}, "
                       f"silent {100 * (values == 0).mean():.0f}%")
    return _save(figure, out)


def convergence(model, images, out):
    """|a[t] - a*| / |a*| over t for a few images: the average firing rate
    after t steps approaching the equilibrium of the rate equation
    (docs/method.md §2), the reference executor in float64."""
    images = np.asarray(images, np.float32)
    trace = _fsnn.trace(model, images)
    spikes = trace["spikes"][-1]  # T x batch x neurons
    target = trace["equilibrium"]
    T = spikes.shape[0]
    rates = np.cumsum(spikes, axis=0) / np.arange(1, T + 1)[:, None, None]
    figure, axis = _figure()
    for sample in range(images.shape[0]):
        error = np.linalg.norm(rates[:, sample] - target[sample], axis=1)
        error /= max(np.linalg.norm(target[sample]), 1e-12)
        axis.plot(np.arange(1, T + 1), error, marker="o", label=f"image {sample}")
    axis.plot(np.arange(1, T + 1), 1.0 / np.arange(1, T + 1), "k--",
              label="1/t")
    axis.set_yscale("log")
    axis.xaxis.set_major_locator(MaxNLocator(integer=True))
    axis.set_xlabel("time step t")
    axis.set_ylabel("|a[t] - a*| / |a*|")
    axis.set_title("Average rate approaching the equilibrium")
    axis.grid(alpha=0.3)
    axis.legend(loc="upper right")
    return _save(figure, out)


def adjoint_residual(model, images, labels, out):
    """The adjoint solver's residual norm per iteration for a batch (the
    model's solver, as in training; the reference executor in float64)."""
    trace = _fsnn.trace(model, np.asarray(images, np.float32),
                        [int(label) for label in labels])
    residuals = trace["adjoint_residuals"]
    figure, axis = _figure()
    axis.semilogy(np.arange(len(residuals)), residuals, marker="o",
                  color="#8e44ad")
    axis.xaxis.set_major_locator(MaxNLocator(integer=True))
    axis.set_xlabel("iteration")
    axis.set_ylabel("residual norm of the batch")
    axis.set_title(f"Adjoint solve ({len(labels)} images)")
    axis.grid(alpha=0.3, which="both")
    return _save(figure, out)


def plot_all(model_path, log_path, data_dir, directory, suffix="png",
             dataset="fashion-mnist", library=None, images=100):
    """Every picture of a trained model and its log into `directory`."""
    import os
    os.makedirs(directory, exist_ok=True)
    model = _fsnn.load_model(model_path)
    samples, labels = _fsnn.load_dataset(dataset, data_dir, "test", images,
                                         model.time_steps)
    path = lambda name: os.path.join(directory, f"{name}.{suffix}")  # noqa
    written = []
    if log_path:
        written.append(training_curves(log_path, path("training")))
    written.append(spike_raster(model, samples[0], path("raster")))
    written.append(rate_histograms(model, samples, path("rates"), library))
    written.append(convergence(model, samples[:4], path("convergence")))
    written.append(adjoint_residual(model, samples[:32], labels[:32],
                                    path("adjoint")))
    return written
