"""What a run or results file records about where it came from: code version, libraries, hardware."""

import platform
import shlex
import subprocess
import sys
from importlib.metadata import PackageNotFoundError, version

from .paths import REPO_ROOT

LIBRARIES = ("torch", "transformers", "peft", "accelerate", "datasets", "scikit-learn", "tokenizers", "onnxruntime")


def command_line(module: str, argv=None) -> str:
    """The command a results file was written by (`python -m MODULE ARGS`), for its record: argv as given to the
    module's main(), or this process's arguments."""
    return shlex.join(["python", "-m", module, *(argv if argv is not None else sys.argv[1:])])


def git_commit() -> str | None:
    try:
        result = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=REPO_ROOT, capture_output=True, text=True, check=True, timeout=10
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return result.stdout.strip()


def library_versions() -> dict:
    versions = {"python": platform.python_version()}
    for name in LIBRARIES:
        try:
            versions[name] = version(name)
        except PackageNotFoundError:
            versions[name] = None
    return versions


def cpu_name() -> str:
    """The processor's model name where the OS tells it (Linux), else the architecture."""
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


VECTOR_FLAGS = ("avx2", "fma", "avx512f", "avx512_vnni", "avx_vnni", "avx512_bf16", "amx_bf16", "amx_int8")


def cpu_vector_flags() -> list[str]:
    """The CPU's vector-instruction flags that decide int8 and bf16 speed (Linux), in VECTOR_FLAGS' order."""
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            flags = next((line.split(":", 1)[1].split() for line in cpuinfo if line.startswith("flags")), [])
    except OSError:
        return []
    return [flag for flag in VECTOR_FLAGS if flag in flags]


def device_info() -> dict:
    import os

    import torch

    info = {"cpu": cpu_name(), "cpu_cores": os.cpu_count(), "torch_threads": torch.get_num_threads(),
            "cpu_vector_flags": cpu_vector_flags()}  # fmt: skip
    if torch.cuda.is_available():
        info["cuda_device"] = torch.cuda.get_device_name(0)
        info["cuda_devices"] = torch.cuda.device_count()
    return info
