#!/usr/bin/python3
"""PyTorch weights into fsnn: the baseline's IDEFC (the paper's F400 in eager
PyTorch, ../shared/baseline/ide_torch.py), trained a few steps in PyTorch,
is copied into an fsnn F400 through the Python API, compiled, and run on the
same Fashion-MNIST test images; the predictions must agree.

    PYTHONPATH=build/python /usr/bin/python3 python/examples/torch_weights.py \\
        --baseline ../shared/baseline [--images 1000] [--steps 20]

Exits non-zero unless every prediction agrees.
"""
import argparse
import os
import sys
import tempfile

import numpy as np

import fsnn

# PyTorch's state_dict names of IDEFC -> fsnn's initializer names.
IDEFC_TO_FSNN = {
    "ff.weight": "f.weight", "ff.bias": "f.bias",
    "bn.weight": "f.bn.gamma", "bn.bias": "f.bn.beta",
    "bn.running_mean": "f.bn.running_mean", "bn.running_var": "f.bn.running_var",
    "fb.weight_v": "fb.v", "fb.weight_g": "fb.g", "fb.u": "fb.u",
    "fb.v": "fb.vvec",
    "classifier.weight": "readout.weight", "classifier.bias": "readout.bias",
}


def fsnn_parameters(state_dict, model):
    """The fsnn parameters of a PyTorch IDEFC state_dict, in the shapes of
    `model` (an fsnn F400)."""
    shapes = {name: value.shape for name, value in model.parameters().items()}
    return {ours: state_dict[theirs].detach().cpu().numpy().astype(
        np.float32).reshape(shapes[ours])
        for theirs, ours in IDEFC_TO_FSNN.items()}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", required=True,
                        help="the PyTorch baseline's directory (ide_torch.py)")
    parser.add_argument("--images", type=int, default=1000)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--data-dir", default="/usr/share/datasets/fashion-mnist")
    args = parser.parse_args()
    sys.path.insert(0, args.baseline)
    import torch
    from ide_torch import IDEFC, load_fashion_mnist, make_optimizer, train_step

    torch.manual_seed(0)
    torch.set_num_threads(2)
    T = 5
    net = IDEFC(n_hidden=400, T=T, dropout=0.2)
    x, y = load_fashion_mnist("train", args.data_dir)
    optimizer = make_optimizer(net)
    for step in range(args.steps):
        batch = slice(step * 64, (step + 1) * 64)
        train_step(net, optimizer, x[batch], y[batch])
    net.eval()
    x_test, _ = load_fashion_mnist("test", args.data_dir)
    x_test = x_test[:args.images]
    with torch.no_grad():
        theirs = net(x_test).argmax(1).numpy()

    model = fsnn.create_model("fmnist-f400", time_steps=T)
    model.set_parameters(fsnn_parameters(net.state_dict(), model))
    work = tempfile.mkdtemp(prefix="fsnn-torch-")
    library = os.path.join(work, "f400.so")
    fsnn.compile(model, library, batch=100)
    images = x_test.reshape(len(x_test), -1).numpy()
    ours = fsnn.CompiledModel(model, library).run(images)["logits"].argmax(1)
    model.save(os.path.join(work, "from-torch.fsnn"))

    agree = int((ours == theirs).sum())
    print(f"{agree} of {len(theirs)} predictions agree with PyTorch "
          f"({100.0 * agree / len(theirs):.2f}%); the fsnn model is "
          f"{work}/from-torch.fsnn")
    sys.exit(0 if agree == len(theirs) else 1)


if __name__ == "__main__":
    main()
