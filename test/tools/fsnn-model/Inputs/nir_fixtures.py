#!/usr/bin/env python3
"""NIR files written by the NIR specification with h5py (not by fsnn), and
what NIR's semantics make of them, for fsnn-model import-nir's tests.

  nir_fixtures.py OUTDIR [--small]

(--small: 16 inputs and 8 neurons instead of 784 and 400, for fuzz seeds)
writes into OUTDIR:
  f400.nir       Input[784] -> Affine -> LIF, a recurrent Linear back to the
                 LIF, -> Affine readout -> Output (known weights; T 5)
  rleaky.nir     the same shape as snnTorch writes a recurrent leaky layer:
                 a nested NIRGraph {input, lif, w_rec (Affine), output}, with
                 per-neuron thresholds, r != tau/dt and v_leak != 0
  conv.nir       Input[2,8,8] -> SumPool2d 2 -> Conv2d -> IF[4,4,4], a
                 recurrent Conv2d, -> Flatten -> Affine readout
  conv-avg.nir   the same with AvgPool2d
  cuba.nir       F400-style with a CubaLIF whose tau_syn is dt (reduces)
  snntorch.nir   snnTorch's export of Sequential(Flatten, Linear, Leaky,
                 Linear, Leaky(output=True)): feed-forward, scalar neuron
                 parameters, the output the last layer's spikes (its rate)
  x.npy, x_conv.npy                  the inputs (float64)
  <name>.expected.npy               the logits NIR's semantics give (float64)
  refuse-<case>.nir                 one graph per construct fsnn refuses

The semantics (docs/nir.md): Euler steps of DT on
  tau dv/dt = (v_leak - v) + r I  (IF: dv/dt = r I),
a spike when v > v_threshold, then v = v_reset = 0; edges between nodes act
within a step, an edge that closes a cycle delivers the previous step's
spikes; the readout's logits are the Affine applied to the firing rate
(count / T for IF, the lambda-weighted rate of docs/method.md 1.4 for LIF).
"""
import os
import sys

import h5py
import numpy as np

DT = 1e-4
T = 5


def write_node(group, params):
    for key, value in params.items():
        if key == "nodes":
            nodes = group.create_group("nodes")
            for name, sub in value.items():
                write_node(nodes.create_group(name), sub)
        elif key == "edges":
            group.create_dataset("edges", data=np.array(value, dtype="S"))
        elif isinstance(value, str):
            group.create_dataset(key, data=value, dtype=h5py.string_dtype())
        else:
            group.create_dataset(key, data=np.asarray(value))


def write(path, nodes, edges):
    with h5py.File(path, "w") as f:
        f.create_dataset("version", data="1.0.0", dtype=h5py.string_dtype())
        node = f.create_group("node")
        write_node(node, {"type": "NIRGraph", "nodes": nodes, "edges": edges})


def f32(a):
    return np.asarray(a, dtype=np.float32)


def lif(n, tau, r, theta, v_leak=0.0, v_reset=0.0):
    full = lambda v: f32(np.broadcast_to(v, (n,)))
    return {"type": "LIF", "tau": full(tau), "r": full(r),
            "v_leak": full(v_leak), "v_threshold": full(theta),
            "v_reset": full(v_reset)}


def simulate(current, recurrent, params, steps, readout):
    """current(x) -> the input current of one step; recurrent(s) -> the
    recurrent current; params: per-neuron float64 arrays tau (None for IF),
    r, v_leak, theta."""
    tau, r, v_leak, theta = params
    static = current
    v = np.zeros_like(static)
    s = np.zeros_like(static)
    if tau is None:
        lam, scale, constant = 1.0, DT * r, 0.0
    else:
        lam, scale, constant = 1 - DT / tau, DT * r / tau, DT * v_leak / tau
    weighted = np.zeros_like(static)
    count = np.zeros_like(static)
    lam_scalar = float(np.ravel(lam)[0]) if tau is not None else 1.0
    for _ in range(steps):
        v = lam * v + constant + scale * (static + recurrent(s))
        s = (v > theta).astype(np.float64)
        v = np.where(s > 0, 0.0, v)
        count += s
        weighted = lam_scalar * weighted + s
    if tau is None:
        rate = count / steps
    else:
        rate = weighted / sum(lam_scalar ** k for k in range(steps))
    return readout(rate)


def conv2d(x, w, b, pad):
    n, c, h, wd = x.shape
    o, _, kh, kw = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    out = np.zeros((n, o, h + 2 * pad - kh + 1, wd + 2 * pad - kw + 1))
    for i in range(out.shape[2]):
        for j in range(out.shape[3]):
            patch = xp[:, :, i:i + kh, j:j + kw]
            out[:, :, i, j] = np.einsum("nckl,ockl->no", patch, w)
    return out + (0 if b is None else b[None, :, None, None])


def main():
    out = sys.argv[1]
    small = sys.argv[2:] == ["--small"]
    inputs, n = (16, 8) if small else (784, 400)
    os.makedirs(out, exist_ok=True)
    rng = np.random.default_rng(7)
    x = rng.uniform(0, 1, size=(64, inputs))
    np.save(os.path.join(out, "x.npy"), x)

    # --- f400: known weights, LIF with tau = dt / (1 - 0.9), r = tau / dt.
    w_in = f32(rng.normal(0, 1.5 / np.sqrt(inputs), (n, inputs)))
    b_in = f32(rng.normal(0, 0.1, n))
    w_rec = f32(rng.normal(0, 0.5 / np.sqrt(n), (n, n)))
    w_out = f32(rng.normal(0, 1 / np.sqrt(n), (10, n)))
    b_out = f32(rng.normal(0, 0.1, 10))
    tau = DT / (1 - 0.9)
    nodes = {
        "input": {"type": "Input", "shape": np.array([inputs])},
        "fc": {"type": "Affine", "weight": w_in, "bias": b_in},
        "lif": lif(n, tau, tau / DT, 1.0),
        "rec": {"type": "Linear", "weight": w_rec},
        "out": {"type": "Affine", "weight": w_out, "bias": b_out},
        "output": {"type": "Output", "shape": np.array([10])},
    }
    edges = [("input", "fc"), ("fc", "lif"), ("lif", "rec"), ("rec", "lif"),
             ("lif", "out"), ("out", "output")]
    write(os.path.join(out, "f400.nir"), nodes, edges)
    p = nodes["lif"]
    d = lambda a: np.asarray(a, dtype=np.float64)
    logits = simulate(x @ d(w_in).T + d(b_in), lambda s: s @ d(w_rec).T,
                      (d(p["tau"]), d(p["r"]), d(p["v_leak"]),
                       d(p["v_threshold"])), T,
                      lambda a: a @ d(w_out).T + d(b_out))
    np.save(os.path.join(out, "f400.expected.npy"), logits)

    # --- cuba: the same with a CubaLIF whose synapse is instantaneous.
    cuba = dict(nodes)
    cuba["lif"] = {"type": "CubaLIF", "tau_syn": f32(np.full(n, DT)),
                   "tau_mem": p["tau"], "r": p["r"], "v_leak": p["v_leak"],
                   "v_threshold": p["v_threshold"], "v_reset": p["v_reset"],
                   "w_in": f32(np.ones(n))}
    write(os.path.join(out, "cuba.nir"), cuba, edges)

    # --- rleaky: snnTorch's nested form, with the parameters folded into
    # the weights: per-neuron thresholds, r != tau/dt, v_leak != 0, a bias
    # on the recurrent Affine.
    theta = f32(rng.uniform(0.8, 1.2, n))
    r = f32(np.full(n, 0.5 * tau / DT))
    v_leak = f32(rng.uniform(-0.2, 0.2, n))
    b_rec = f32(rng.normal(0, 0.05, n))
    rleaky = {
        "input": {"type": "Input", "shape": np.array([inputs])},
        "fc": {"type": "Affine", "weight": w_in, "bias": b_in},
        "rlif": {"type": "NIRGraph",
                 "nodes": {
                     "input": {"type": "Input", "shape": np.array([n])},
                     "lif": lif(n, tau, r, theta, v_leak),
                     "w_rec": {"type": "Affine", "weight": w_rec,
                               "bias": b_rec},
                     "output": {"type": "Output", "shape": np.array([n])},
                 },
                 "edges": [("input", "lif"), ("lif", "w_rec"),
                           ("w_rec", "lif"), ("lif", "output")]},
        "out": {"type": "Affine", "weight": w_out, "bias": b_out},
        "output": {"type": "Output", "shape": np.array([10])},
    }
    write(os.path.join(out, "rleaky.nir"), rleaky,
          [("input", "fc"), ("fc", "rlif"), ("rlif", "out"),
           ("out", "output")])
    q = rleaky["rlif"]["nodes"]["lif"]
    logits = simulate(x @ d(w_in).T + d(b_in),
                      lambda s: s @ d(w_rec).T + d(b_rec),
                      (d(q["tau"]), d(q["r"]), d(q["v_leak"]),
                       d(q["v_threshold"])), T,
                      lambda a: a @ d(w_out).T + d(b_out))
    np.save(os.path.join(out, "rleaky.expected.npy"), logits)

    # --- conv: SumPool2d -> Conv2d -> IF, a recurrent Conv2d, a readout.
    xc = rng.uniform(0, 1, size=(32, 2, 8, 8))
    np.save(os.path.join(out, "x_conv.npy"), xc)
    wc = f32(rng.normal(0, 0.6, (4, 2, 3, 3)))
    bc = f32(rng.normal(0, 0.1, 4))
    wr = f32(rng.normal(0, 0.2, (4, 4, 3, 3)))
    wo = f32(rng.normal(0, 0.2, (10, 64)))
    bo = f32(rng.normal(0, 0.1, 10))
    full = lambda v: f32(np.full((4, 4, 4), v))
    conv = {
        "input": {"type": "Input", "shape": np.array([2, 8, 8])},
        "pool": {"type": "SumPool2d", "kernel_size": np.array([2, 2]),
                 "stride": np.array([2, 2]), "padding": np.array([0, 0])},
        "conv": {"type": "Conv2d", "weight": wc, "bias": bc,
                 "stride": np.array([1, 1]), "padding": np.array([1, 1]),
                 "dilation": np.array([1, 1]), "groups": 1,
                 "input_shape": np.array([2, 4, 4])},
        "if": {"type": "IF", "r": full(1 / DT), "v_threshold": full(1.0),
               "v_reset": full(0.0)},
        "rec": {"type": "Conv2d", "weight": wr, "bias": f32(np.zeros(4)),
                "stride": np.array([1, 1]), "padding": np.array([1, 1]),
                "dilation": np.array([1, 1]), "groups": 1},
        "flat": {"type": "Flatten", "start_dim": 0, "end_dim": -1,
                 "input_type": np.array([4, 4, 4])},
        "out": {"type": "Affine", "weight": wo, "bias": bo},
        "output": {"type": "Output", "shape": np.array([10])},
    }
    write(os.path.join(out, "conv.nir"), conv,
          [("input", "pool"), ("pool", "conv"), ("conv", "if"),
           ("if", "rec"), ("rec", "if"), ("if", "flat"), ("flat", "out"),
           ("out", "output")])
    pooled = xc.reshape(32, 2, 4, 2, 4, 2).sum(axis=(3, 5))
    current = conv2d(pooled, d(wc), d(bc), 1)
    ones = np.ones((4, 4, 4))
    logits = simulate(current, lambda s: conv2d(s, d(wr), None, 1),
                      (None, ones / DT, 0 * ones, ones), T,
                      lambda a: a.reshape(32, 64) @ d(wo).T + d(bo))
    np.save(os.path.join(out, "conv.expected.npy"), logits)
    # The same with AvgPool2d.
    conv["pool"] = dict(conv["pool"], type="AvgPool2d")
    write(os.path.join(out, "conv-avg.nir"), conv,
          [("input", "pool"), ("pool", "conv"), ("conv", "if"),
           ("if", "rec"), ("rec", "if"), ("if", "flat"), ("flat", "out"),
           ("out", "output")])
    current = conv2d(pooled / 4, d(wc), d(bc), 1)
    logits = simulate(current, lambda s: conv2d(s, d(wr), None, 1),
                      (None, ones / DT, 0 * ones, ones), T,
                      lambda a: a.reshape(32, 64) @ d(wo).T + d(bo))
    np.save(os.path.join(out, "conv-avg.expected.npy"), logits)

    # --- snntorch: two feed-forward Leaky layers, parameters as snnTorch
    # writes them (0-d tau, r, v_leak; a [1] threshold), no readout op.
    xs = rng.uniform(0, 1, size=(64, 1, 4, 4))
    np.save(os.path.join(out, "x_snntorch.npy"), xs)
    w1 = f32(rng.normal(0, 0.8, (12, 16)))
    b1 = f32(rng.normal(0, 0.1, 12))
    w2 = f32(rng.normal(0, 0.8, (10, 12)))
    b2 = f32(rng.normal(0, 0.1, 10))
    beta = 0.8
    tau_s = np.float32(DT / (1 - beta))
    leaky = {"type": "LIF", "tau": tau_s, "r": np.float32(tau_s / DT),
             "v_leak": np.float32(0.0), "v_threshold": f32([1.0])}
    write(os.path.join(out, "snntorch.nir"), {
        "input": {"type": "Input", "shape": np.array([1, 4, 4])},
        "0": {"type": "Flatten", "start_dim": 0, "end_dim": -1,
              "input_type": np.array([1, 4, 4])},
        "1": {"type": "Affine", "weight": w1, "bias": b1},
        "2": leaky,
        "3": {"type": "Affine", "weight": w2, "bias": b2},
        "4": dict(leaky),
        "output": {"type": "Output", "shape": np.array([10])},
    }, [("input", "0"), ("0", "1"), ("1", "2"), ("2", "3"), ("3", "4"),
        ("4", "output")])
    lam = 1 - DT / float(tau_s)
    scale = DT * float(np.float32(tau_s / DT)) / float(tau_s)
    i1 = xs.reshape(64, 16) @ d(w1).T + d(b1)
    v1 = np.zeros((64, 12))
    v2 = np.zeros((64, 10))
    weighted = np.zeros((64, 10))
    for _ in range(T):
        v1 = lam * v1 + scale * i1
        s1 = (v1 > 1.0).astype(np.float64)
        v1 = np.where(s1 > 0, 0.0, v1)
        v2 = lam * v2 + scale * (s1 @ d(w2).T + d(b2))
        s2 = (v2 > 1.0).astype(np.float64)
        v2 = np.where(s2 > 0, 0.0, v2)
        weighted = lam * weighted + s2
    np.save(os.path.join(out, "snntorch.expected.npy"),
            weighted / sum(lam ** k for k in range(T)))

    # --- What fsnn refuses, one construct per file (docs/nir.md).
    def variant(name, change, new_edges=None):
        graph = {k: dict(v) if isinstance(v, dict) else v
                 for k, v in nodes.items()}
        change(graph)
        write(os.path.join(out, "refuse-" + name + ".nir"), graph,
              new_edges or edges)

    variant("v-reset", lambda g: g["lif"].update(
        v_reset=f32(np.full(n, 0.5))))
    variant("cuba-synapse", lambda g: g.update(lif={
        **cuba["lif"], "tau_syn": f32(np.full(n, 5 * DT))}))
    variant("li-readout", lambda g: g.update(li={
        "type": "LI", "tau": f32(np.full(10, tau)),
        "r": f32(np.full(10, 1.0)), "v_leak": f32(np.zeros(10))}),
        edges[:-1] + [("out", "li"), ("li", "output")])
    variant("delay", lambda g: g.update(delay={
        "type": "Delay", "delay": f32(np.ones(n))}),
        [("input", "fc"), ("fc", "lif"), ("lif", "rec"), ("rec", "delay"),
         ("delay", "lif"), ("lif", "out"), ("out", "output")])
    variant("scale", lambda g: g.update(scale={
        "type": "Scale", "scale": f32(np.ones(n))}),
        [("input", "fc"), ("fc", "scale"), ("scale", "lif"), ("lif", "rec"),
         ("rec", "lif"), ("lif", "out"), ("out", "output")])
    variant("mixed-leak", lambda g: g["lif"].update(
        tau=f32(np.linspace(tau, 2 * tau, n))))
    variant("two-inputs", lambda g: g.update(input2={
        "type": "Input", "shape": np.array([inputs])}),
        edges + [("input2", "fc")])
    variant("partial-flatten", lambda g: g.update(flat={
        "type": "Flatten", "start_dim": 1, "end_dim": -1,
        "input_type": np.array([inputs])}),
        [("input", "flat"), ("flat", "fc")] + edges[1:])
    # A recurrent edge that skips back from a second layer to itself.
    two = dict(nodes)
    two["fc2"] = {"type": "Affine", "weight": f32(np.eye(n)),
                  "bias": f32(np.zeros(n))}
    two["lif2"] = lif(n, tau, tau / DT, 1.0)
    write(os.path.join(out, "refuse-middle-recurrence.nir"), two,
          [("input", "fc"), ("fc", "lif"), ("lif", "fc2"), ("fc2", "lif2"),
           ("lif2", "rec"), ("rec", "lif2"), ("lif2", "out"),
           ("out", "output")])
    grouped = dict(conv)
    grouped["conv"] = dict(conv["conv"], groups=2,
                           weight=f32(rng.normal(0, 1, (4, 1, 3, 3))))
    write(os.path.join(out, "refuse-groups.nir"), grouped,
          [("input", "pool"), ("pool", "conv"), ("conv", "if"),
           ("if", "rec"), ("rec", "if"), ("if", "flat"), ("flat", "out"),
           ("out", "output")])
    with h5py.File(os.path.join(out, "refuse-no-graph.nir"), "w") as f:
        f.create_dataset("version", data="1.0.0", dtype=h5py.string_dtype())
    with h5py.File(os.path.join(out, "refuse-not-a-graph.nir"), "w") as f:
        write_node(f.create_group("node"), nodes["lif"])


if __name__ == "__main__":
    main()
