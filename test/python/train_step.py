"""A training step from Python equals fsnn-train's: the Trainer's first step
on the first batch of fsnn-train's epoch order gives exactly the parameters
of `fsnn-train --max-steps 1`, and fsnn.train() with the same flags writes
the same file. Usage: train_step.py MODEL TRAIN_LIBRARY DATA CLI_OUTPUT WORK"""
import sys

import numpy as np

import fsnn

model_path, library, data, cli_output, work = sys.argv[1:6]
batch, seed, limit = 32, 9, 320

images, labels = fsnn.load_dataset("fashion-mnist", data, "train", limit)
order = fsnn.epoch_order(seed, 0, len(labels))[:batch]
trainer = fsnn.Trainer(fsnn.load_model(model_path), backend="compiled",
                       library=library, batch=batch, lr=0.05, seed=seed,
                       threads=2)
result = trainer.step(images[order], labels[order])
print(f"loss {result['loss']:.6f}, correct {result['correct']}")
cli = fsnn.load_model(cli_output).parameters()
mine = trainer.parameters()
assert cli.keys() == mine.keys()
for name in cli:
    if not np.array_equal(cli[name], mine[name]):
        sys.exit(f"{name} differs from fsnn-train's after one step")
print(f"Trainer.step: all {len(cli)} tensors equal fsnn-train's")

report = fsnn.train(model_path, "fashion-mnist", data, f"{work}/python.fsnn",
                    backend="compiled", library=library, batch=batch,
                    seed=seed, max_steps=1, train_limit=limit, test_limit=100,
                    epochs=1, threads=2)
assert report["steps"] == 1, report
if open(f"{work}/python.fsnn", "rb").read() != open(cli_output, "rb").read():
    sys.exit("fsnn.train() wrote another file than fsnn-train")
print("fsnn.train: the same file as fsnn-train")
