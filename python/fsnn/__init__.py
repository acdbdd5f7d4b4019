"""fsnn from Python: feedback spiking networks trained by implicit
differentiation on the equilibrium state (IDE), compiled through MLIR.

    import numpy as np, fsnn
    model = fsnn.load_model("f400.fsnn")
    fsnn.compile(model, "f400.so", batch=100)
    out = fsnn.CompiledModel(model, "f400.so").run(images)  # float32, N x 784
    out["logits"], out["counts"], out["rates"]

Every failure raises fsnn.Error (a RuntimeError) with the library's message.
See docs/python.md.
"""

from ._fsnn import (CompiledModel, Error, Model, Trainer, compile,
                    create_model, epoch_order, import_nir, load_dataset,
                    load_model, run_reference, trace, train)

__all__ = ["CompiledModel", "Error", "Model", "Trainer", "compile",
           "create_model", "epoch_order", "import_nir", "load_dataset",
           "load_model", "run_reference", "trace", "train"]
