"""The environment a model was trained in: what its bytes depend on.

The train step records it on the run (mlplat/environment.json); the register step puts it in the
version's evidence, and the ML-BOM lists each package with its purl. It holds the interpreter and
every installed distribution; how they compare with the lock file the runtime image is built from
(MLPLAT_LOCK: platform/images/runtime/requirements.lock); and the machine: the CPU, the kernels
torch dispatched to and the accelerator, because the same code, data and packages give a PyTorch
model other float rounding, so other bytes, on another kind of CPU or GPU (docs/reproducibility.md).
"""

from __future__ import annotations

import hashlib
import os
import platform
import re
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

RECORD_PATH = "mlplat/environment.json"
LOCK_ENV = "MLPLAT_LOCK"
_LOCKED = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)", re.M)


def describe() -> dict[str, Any]:
    packages: dict[str, str] = {}
    for distribution in metadata.distributions():
        name = distribution.metadata["Name"]
        if name:  # a broken install can leave a distribution without metadata
            packages.setdefault(canonical_name(name), distribution.version)
    return {"python": platform.python_version(),
            "packages": [{"name": name, "version": packages[name]} for name in sorted(packages)],
            "lock": lock_record(packages),
            "machine": machine()}


def canonical_name(name: str) -> str:
    """PEP 503 normalised name, as purls of type pypi spell it."""
    return re.sub(r"[-_.]+", "-", name).lower()


def lock_record(installed: dict[str, str]) -> dict[str, Any] | None:
    """The lock file's digest and every locked distribution not installed at its locked version."""
    location = os.environ.get(LOCK_ENV)
    if not location or not Path(location).is_file():
        return None
    content = Path(location).read_bytes()
    locked = {canonical_name(name): version for name, version in _LOCKED.findall(content.decode())}
    differences = [f"{name}: locked {version}, installed {installed.get(name, 'none')}"
                   for name, version in sorted(locked.items()) if installed.get(name) != version]
    return {"file": Path(location).name, "sha256": hashlib.sha256(content).hexdigest(),
            "matches": not differences, "differences": differences}


def machine() -> dict[str, Any]:
    """The hardware the bytes were computed on. torch facts only when the training code used torch."""
    torch = sys.modules.get("torch")
    accelerator = None
    if torch is not None and torch.cuda.is_available():
        accelerator = f"{torch.cuda.get_device_name(0)} (CUDA {torch.version.cuda})"
    return {
        "arch": platform.machine(),
        "cpu": _cpu_model(),
        "cpuCount": os.cpu_count() or 0,
        "torchCpuCapability": torch.backends.cpu.get_cpu_capability() if torch is not None else None,
        "torchThreads": torch.get_num_threads() if torch is not None else None,
        "accelerator": accelerator,
    }


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.partition(":")[2].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"
