"""Which device a training step runs on, and the settings that keep CUDA training reproducible."""

from __future__ import annotations

import os

# cuBLAS picks its reduction order per workspace; a fixed workspace size is what makes matmuls
# deterministic under torch.use_deterministic_algorithms(True), which raises without it.
_CUBLAS_WORKSPACE = ":4096:8"


def training_device() -> str:
    """MLPLAT_DEVICE when set, else the machine's default device."""
    return os.environ.get("MLPLAT_DEVICE") or default_device()


def default_device() -> str:
    """CUDA when torch sees a GPU, else the CPU (also where torch is not installed)."""
    try:
        import torch
    except ImportError:
        return "cpu"
    return "cuda" if torch.cuda.is_available() else "cpu"


def prepare_device(device: str) -> None:
    """Set what `device` needs before the first CUDA call; a value the user set stays."""
    if device.startswith("cuda"):
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", _CUBLAS_WORKSPACE)
