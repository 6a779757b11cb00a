"""What a team's training entry point receives. Import it for type hints; nothing else is needed.

    def fit(inp: TrainingInput) -> torch.nn.Module | sklearn estimator

A PyTorch module maps a float32 tensor [batch, len(features)] of raw features to predictions (a
probability per row for binary classification). The platform exports, logs and registers it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class TrainingInput:
    train: Any  # pandas.DataFrame: feature columns plus the target column
    features: list[str]  # the feature columns of `train`, in the order the served model takes them
    target: str  # the label column (training.data.target)
    hyperparameters: dict[str, Any]  # training.hyperparameters, as written in the spec
    task: str  # spec.task, e.g. binary-classification
    device: str  # "cuda" when a GPU is present, else "cpu"
    log_metric: Callable[[str, float, int], None]  # (name, value, step) onto the tracking run
    group: str | None = None  # ranking: the query id column (in `train`, not among `features`)
