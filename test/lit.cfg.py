# -*- Python -*-
import os
import shutil
import subprocess

import lit.formats
from lit.llvm import llvm_config

config.name = "fsnn"
config.test_format = lit.formats.ShTest(not llvm_config.use_lit_shell)
config.suffixes = [".mlir", ".test"]
config.excludes = ["Inputs", "unit", "fake-cuda", "CMakeLists.txt", "lit.cfg.py"]
config.test_source_root = os.path.dirname(__file__)
config.test_exec_root = os.path.join(config.fsnn_obj_root, "test")

# Captured FileCheck variables reset at each CHECK-LABEL, and a misspelt
# check prefix is an error, as in upstream MLIR.
config.environment["FILECHECK_OPTS"] = (
    "-enable-var-scope --allow-unused-prefixes=false"
)

config.substitutions.append(("%fsnn_src_root", config.fsnn_src_root))
config.substitutions.append(("%fsnn_obj_root", config.fsnn_obj_root))
llvm_config.with_system_environment(["HOME", "TMPDIR"])
llvm_config.use_default_substitutions()
llvm_config.with_environment("PATH", config.llvm_tools_dir, append_path=True)
llvm_config.add_tool_substitutions(
    ["fsnn-opt", "fsnn-translate", "fsnn-model", "fsnn-run", "fsnn-compile",
     "fsnn-train"],
    [config.fsnn_tools_dir],
)

# Debian's dataset-fashion-mnist, installed by scripts/install-deps.sh.
fashion_mnist = "/usr/share/datasets/fashion-mnist"
if os.path.exists(os.path.join(fashion_mnist, "t10k-images-idx3-ubyte.gz")):
    config.available_features.add("fashion-mnist")
config.substitutions.append(("%fashion_mnist", fashion_mnist))

# Data-parallel training: fsnn-train built with Open MPI, and its mpirun.
# Several ranks on this machine (--oversubscribe: more ranks than cores),
# as root where the tests run as root.
mpirun = shutil.which("mpirun")
if config.fsnn_have_mpi.upper() in ("TRUE", "1", "ON") and mpirun:
    config.available_features.add("mpi")
    flags = " --oversubscribe --bind-to none"
    if os.geteuid() == 0:
        flags += " --allow-run-as-root"
    config.substitutions.append(("%mpirun", mpirun + flags))

# The Python package (build/python/fsnn) on Debian's python3.
python_package = os.path.join(config.fsnn_obj_root, "python")
if os.path.exists(os.path.join(python_package, "fsnn", "__init__.py")):
    config.available_features.add("python-fsnn")
config.substitutions.append(
    ("%fsnn_python", f"env PYTHONPATH={python_package} /usr/bin/python3"))
# h5py and numpy write the NIR test files (test/tools/fsnn-model/Inputs).
if subprocess.run(["/usr/bin/python3", "-c", "import h5py, numpy"],
                  capture_output=True).returncode == 0:
    config.available_features.add("h5py")
if subprocess.run(["/usr/bin/python3", "-c", "import matplotlib"],
                  capture_output=True).returncode == 0:
    config.available_features.add("matplotlib")
# The PyTorch baseline (python3-torch and the baseline's ide_torch.py), for
# interop: FSNN_TORCH_BASELINE, else ../shared/baseline beside the checkout,
# else where this project's machines keep it.
baseline = next(
    (path for path in (os.environ.get("FSNN_TORCH_BASELINE"),
                       os.path.join(os.path.dirname(config.fsnn_src_root),
                                    "shared", "baseline"),
                       "/work/shared/baseline")
     if path and os.path.exists(os.path.join(path, "ide_torch.py"))),
    "")
if baseline and subprocess.run(
        ["/usr/bin/python3", "-c", "import torch"],
        capture_output=True).returncode == 0:
    config.available_features.add("torch-baseline")
config.substitutions.append(("%torch_baseline", baseline))

# CUDA's ptxas (CUDA 13 at /usr/local/cuda), for the checks of the GPU path
# that need no GPU.
ptxas = "/usr/local/cuda/bin/ptxas"
if os.path.exists(ptxas):
    config.available_features.add("ptxas")
config.substitutions.append(("%ptxas", ptxas))

# The stand-in CUDA driver (fake-cuda/), for the host side of CUDA models.
config.substitutions.append(
    ("%fake_cuda", os.path.join(config.fsnn_obj_root, "lib", "libfsnn_fake_cuda.so"))
)
