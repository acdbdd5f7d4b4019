"""Interrupts fsnn-train with SIGINT once it has logged a step, resumes it,
and compares with an uninterrupted run. Usage: interrupt.py DIR TOOL DATA"""
import os
import signal
import subprocess
import sys
import time

work, tool, data = sys.argv[1:4]
common = [tool, f"{work}/m.fsnn", "--dataset", "fashion-mnist", "--data-dir",
          data, "--train-limit", "1280", "--test-limit", "100", "--batch",
          "32", "--epochs", "100", "--max-steps", "400", "--log-every", "1"]
log = f"{work}/log.jsonl"
run = subprocess.Popen(common + ["-o", f"{work}/out.fsnn", "--log", log],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       text=True)
deadline = time.time() + 120
while time.time() < deadline and run.poll() is None:
    if os.path.exists(log) and os.path.getsize(log) > 0:
        break
    time.sleep(0.05)
run.send_signal(signal.SIGINT)
out, err = run.communicate(timeout=300)
if run.returncode != 130:
    sys.exit(f"expected exit 130 after SIGINT, got {run.returncode}: {err}")
if "interrupted after" not in err or "--resume" not in err:
    sys.exit(f"no interruption message: {err}")
checkpoint = f"{work}/out.ckpt.fsnn"
if not os.path.exists(checkpoint):
    sys.exit("no checkpoint was written")
subprocess.run(common + ["-o", f"{work}/resumed.fsnn", "--resume", checkpoint],
               check=True, stdout=subprocess.DEVNULL)
subprocess.run(common + ["-o", f"{work}/whole.fsnn"], check=True,
               stdout=subprocess.DEVNULL)
if open(f"{work}/resumed.fsnn", "rb").read() != \
        open(f"{work}/whole.fsnn", "rb").read():
    sys.exit("the resumed model differs from the uninterrupted one")
print("interrupted, resumed, identical")
