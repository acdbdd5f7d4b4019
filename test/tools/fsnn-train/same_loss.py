"""Usage: same_loss.py A.jsonl B.jsonl TOLERANCE

Fails unless the epoch records of two fsnn-train logs report the same
training loss, to TOLERANCE relative (two backends on the same batches)."""
import json
import sys


def epoch_losses(path):
    with open(path) as f:
        records = [json.loads(line) for line in f if line.strip()]
    return [r["train_loss"] for r in records if r.get("type") == "epoch"]


a, b = epoch_losses(sys.argv[1]), epoch_losses(sys.argv[2])
tolerance = float(sys.argv[3])
if not a or len(a) != len(b):
    sys.exit(f"epoch records differ: {len(a)} against {len(b)}")
for x, y in zip(a, b):
    if abs(x - y) > tolerance * abs(y):
        sys.exit(f"training loss {x} against {y}: more than {tolerance} relative")
print(f"same training loss on {len(a)} epoch(s): {a[-1]} against {b[-1]}")
