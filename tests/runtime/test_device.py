"""Device choice for training, and that a model artifact is not tied to the device it was exported on.

CI has no GPU, so the CUDA path is checked by what it depends on: the cuBLAS setting that deterministic
training needs, and an exported program that moves whole to another device ("meta" stands in for
"cuda": a tensor left on the CPU fails there the same way)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

from runtime import artifact
from runtime.contract import TrainingInput
from runtime.data import uris
from runtime.device import prepare_device, training_device
from tests.conftest import REPO, checked_model


def test_mlplat_device_wins_and_cpu_is_the_fallback(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLPLAT_DEVICE", "cuda:1")
    assert training_device() == "cuda:1"
    monkeypatch.delenv("MLPLAT_DEVICE")
    assert training_device() == ("cuda" if torch.cuda.is_available() else "cpu")


def test_cuda_gets_a_fixed_cublas_workspace_and_a_user_value_stays(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CUBLAS_WORKSPACE_CONFIG", raising=False)
    prepare_device("cpu")
    assert "CUBLAS_WORKSPACE_CONFIG" not in os.environ
    prepare_device("cuda:0")
    assert os.environ["CUBLAS_WORKSPACE_CONFIG"] == ":4096:8"
    monkeypatch.setenv("CUBLAS_WORKSPACE_CONFIG", ":16:8")
    prepare_device("cuda")
    assert os.environ["CUBLAS_WORKSPACE_CONFIG"] == ":16:8"


def _runs_on_meta(directory: Path, n_features: int) -> None:
    moved = artifact.load(directory, device="meta")
    out = moved.model(torch.zeros(5, n_features, device="meta"))
    assert (out.device.type, tuple(out.shape)) == ("meta", (5,))


def test_reference_model_artifact_runs_on_another_device(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(REPO / "specs" / "platform" / "tumor-classifier"))
    from tumor_classifier.train import fit

    frame = uris.load("sklearn://breast_cancer?split=train&holdout=0.25&seed=0", "benign")
    features = uris.feature_columns(frame, "benign")
    deterministic = torch.are_deterministic_algorithms_enabled()
    try:
        model = fit(TrainingInput(train=frame, features=features, target="benign", task="binary-classification",
                                  device="cpu", log_metric=lambda name, value, step: None,
                                  hyperparameters={"epochs": 1, "batch_size": 64, "seed": 7}))
    finally:
        torch.use_deterministic_algorithms(deterministic)  # fit turns it on for the whole process
    _runs_on_meta(artifact.save(model, tmp_path / "model", framework="pytorch", task="binary-classification",
                                features=features), len(features))


class _MakesTensorsInForward(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.linear = torch.nn.Linear(3, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.linear(x) + torch.tensor([0.5])).squeeze(-1)


def test_tensors_a_model_creates_in_forward_move_too(tmp_path: Path) -> None:
    _runs_on_meta(artifact.save(_MakesTensorsInForward(), tmp_path / "model", framework="pytorch",
                                task="binary-classification", features=["a", "b", "c"]), 3)


def test_a_step_that_requested_gpus_stops_on_a_cpu_build_of_torch(tmp_path: Path) -> None:
    """prod tumor-classifier's rendered train step (1 h100: MLPLAT_GPUS=1, the GPU image) run with this
    machine's torch, the CPU build: it stops at once with exit 2 and says why, before a run is tracked;
    without MLPLAT_GPUS nothing is checked (a laptop, a CPU pool)."""
    import subprocess
    import sys

    from renderers import argo
    from runtime.device import missing_gpus

    model = checked_model(REPO, "tumor-classifier", "prod")
    template = argo.render(model)[0].body
    [train] = [t for t in template["spec"]["templates"] if t["name"] == "train"]
    pod_env = {e["name"]: e["value"] for e in train["container"]["env"] if "value" in e}
    assert pod_env["MLPLAT_GPUS"] == "1" and "mlplat-runtime-gpu" in train["container"]["image"]
    assert missing_gpus(0) is None
    if torch.version.cuda is None:
        assert "is a CPU build" in missing_gpus(1)
    (tmp_path / "model.json").write_text(model.summary_json())
    env = {**os.environ, "MLPLAT_GPUS": pod_env["MLPLAT_GPUS"], "PYTHONPATH": str(REPO)}
    done = subprocess.run([sys.executable, "-m", "runtime", "train", "--spec", str(tmp_path / "model.json"),
                           "--tracking-uri", f"sqlite:///{tmp_path / 'never.db'}", "--outputs", str(tmp_path)],
                          capture_output=True, text=True, env=env, timeout=300)
    if missing_gpus(1):
        assert done.returncode == 2 and "the pod requested 1 GPU(s)" in done.stderr, done.stderr
        assert not (tmp_path / "never.db").exists()  # stopped before MLflow was touched
