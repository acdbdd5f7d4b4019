"""Checks a fsnn-train metrics log: the loss falls and the test accuracy
beats chance by a wide margin. Usage: check_learning.py LOG MIN_ACCURACY"""
import json
import sys

records = [json.loads(line) for line in open(sys.argv[1])]
steps = [r for r in records if r["type"] == "step"]
epochs = [r for r in records if r["type"] == "epoch"]
if len(steps) < 4 or not epochs:
    sys.exit(f"too few records: {len(steps)} steps, {len(epochs)} epochs")
quarter = max(1, len(steps) // 4)
first = sum(r["loss"] for r in steps[:quarter]) / quarter
last = sum(r["loss"] for r in steps[-quarter:]) / quarter
accuracy = epochs[-1]["test_accuracy"]
print(f"loss {first:.4f} -> {last:.4f}, test accuracy {accuracy:.4f}")
if not last < 0.8 * first:
    sys.exit(f"the loss did not fall: {first} -> {last}")
if not accuracy >= float(sys.argv[2]):
    sys.exit(f"test accuracy {accuracy} is below {sys.argv[2]}")
