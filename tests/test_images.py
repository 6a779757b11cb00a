"""The images' lock files: the GPU runtime's is the CPU runtime's with the CUDA build of torch, so that a
version trained on a GPU pool ran the same libraries as one trained on a CPU, torch's device aside."""

from __future__ import annotations

import re

from tests.conftest import REPO

CPU = REPO / "platform/images/runtime/requirements.lock"
GPU = REPO / "platform/images/runtime-gpu/requirements.lock"
# what the CUDA build of torch adds: NVIDIA's libraries, Triton and CUDA's Python bindings
CUDA_ONLY = re.compile(r"^(nvidia-[a-z0-9-]+|triton|cuda-[a-z-]+)$")


def pins(path) -> dict[str, str]:
    return dict(re.findall(r"^([A-Za-z0-9_.-]+)==(\S+) \\$", path.read_text(), re.MULTILINE))


def hashed(path) -> bool:
    """Every requirement carries at least one sha256 (pip --require-hashes installs nothing else)."""
    blocks = re.split(r"\n(?=[A-Za-z0-9_.-]+==)", path.read_text().split("\n", 4)[-1])
    return all("--hash=sha256:" in block for block in blocks if "==" in block)


def test_the_gpu_lock_is_the_cpu_lock_with_a_cuda_torch() -> None:
    cpu, gpu = pins(CPU), pins(GPU)
    assert cpu["torch"].endswith("+cpu") and gpu["torch"] == cpu["torch"].removesuffix("+cpu")
    assert {name for name in gpu if CUDA_ONLY.match(name)} >= {"nvidia-cudnn-cu13", "nvidia-nccl-cu13", "triton"}
    differing = {name: (cpu.get(name), gpu.get(name)) for name in set(cpu) | set(gpu)
                 if name != "torch" and not CUDA_ONLY.match(name) and cpu.get(name) != gpu.get(name)}
    # a marker-only extra the resolver for a generic Python 3.11 keeps (redis: python < 3.11.3)
    assert differing == {"async-timeout": (None, "5.0.1")}, differing
    assert hashed(GPU) and hashed(CPU)


def test_the_gpu_image_installs_the_gpu_lock() -> None:
    dockerfile = (REPO / "platform/images/runtime-gpu/Dockerfile").read_text()
    assert "COPY platform/images/runtime-gpu/requirements.lock ./requirements.lock" in dockerfile
    assert "--require-hashes" in dockerfile and "download.pytorch.org/whl/cpu" not in dockerfile


def test_the_workflows_lock_pins_what_the_runtime_lock_pins() -> None:
    """.github/workflows install mlplat[registry] from requirements-registry.lock: the same versions as the
    runtime image, every file hashed, nothing resolved at run time."""
    registry, cpu = pins(REPO / "platform/images/runtime/requirements-registry.lock"), pins(CPU)
    assert {"mlflow", "pydantic", "pyyaml", "gitpython"} <= set(registry)
    assert {name: version for name, version in registry.items() if cpu.get(name) != version} == {}
    assert hashed(REPO / "platform/images/runtime/requirements-registry.lock")
