"""Starts a data-parallel fsnn-train job, kills every process of it with
SIGKILL once it has written its first checkpoint, and checks that the job
left no output model and a loadable checkpoint. Usage:
kill_rank.py CHECKPOINT OUTPUT MPIRUN... -- FSNN-TRAIN ARGS..."""
import os
import signal
import subprocess
import sys
import time

checkpoint, output = sys.argv[1:3]
command = sys.argv[3:]
command.remove("--")
job = subprocess.Popen(command, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, start_new_session=True)
deadline = time.time() + 300
while time.time() < deadline and job.poll() is None:
    if os.path.exists(checkpoint):
        break
    time.sleep(0.02)
if job.poll() is not None:
    sys.exit(f"the job ended (exit {job.returncode}) before it was killed")
if not os.path.exists(checkpoint):
    sys.exit("no checkpoint within the deadline")


def ranks():
    """The job's fsnn-train processes, wherever the launcher put them."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                argv = f.read().split(b"\0")
        except OSError:
            continue
        if any(a.endswith(b"fsnn-train") for a in argv[:1]) and \
                output.encode() in argv:
            found.append(int(pid))
    return found


os.killpg(job.pid, signal.SIGKILL)
for pid in ranks():
    os.kill(pid, signal.SIGKILL)
job.wait()
deadline = time.time() + 30
while ranks() and time.time() < deadline:
    time.sleep(0.05)
if ranks():
    sys.exit("fsnn-train processes survived SIGKILL")
if os.path.exists(output):
    sys.exit("the killed job wrote its output model")
print("killed after the first checkpoint")
