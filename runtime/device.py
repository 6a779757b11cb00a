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


def missing_gpus(requested: int) -> str | None:
    """Why a step that requested `requested` GPUs (MLPLAT_GPUS, set by the renderer) cannot use them: torch's
    CPU build, no driver, fewer devices than requested; None where torch sees enough, or cannot tell
    (torch is not installed: a team's own program may use the GPUs without it)."""
    if requested <= 0:
        return None
    try:
        import torch
    except ImportError:
        return None
    build = torch.__version__
    if torch.version.cuda is None:
        return (f"the pod requested {requested} GPU(s), but torch {build} is a CPU build: it would train on the CPU "
                "while the GPUs idle. Run the train step in the GPU image (platform.yaml defaults.images.trainingGpu, "
                "built from platform/images/runtime-gpu)")
    seen = torch.cuda.device_count() if torch.cuda.is_available() else 0
    if seen < requested:
        return (f"the pod requested {requested} GPU(s), but torch {build} (CUDA {torch.version.cuda}) sees {seen}: "
                "check the node's NVIDIA driver and device plugin, and the pod's GPU limit")
    return None
