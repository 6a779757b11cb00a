"""Evaluation metrics per task, and which direction is better for each (the gates need it)."""

from __future__ import annotations

from typing import Any

LOWER_IS_BETTER = {"log_loss", "brier_score", "rmse", "mae", "mse", "mape", "loss"}


def higher_is_better(metric: str) -> bool:
    return metric not in LOWER_IS_BETTER


def compute(task: str, y_true: Any, scores: Any) -> dict[str, float]:
    """Metrics of predictions `scores` (probabilities for classification) against labels `y_true`."""
    import numpy as np
    from sklearn import metrics as m

    y = np.asarray(y_true)
    s = np.asarray(scores, dtype=np.float64)
    if task == "binary-classification":
        predicted = (s >= 0.5).astype(int)
        clipped = np.clip(s, 1e-7, 1 - 1e-7)
        return {
            "roc_auc": m.roc_auc_score(y, s),
            "accuracy": m.accuracy_score(y, predicted),
            "precision": m.precision_score(y, predicted, zero_division=0),
            "recall": m.recall_score(y, predicted, zero_division=0),
            "f1": m.f1_score(y, predicted, zero_division=0),
            "log_loss": m.log_loss(y, clipped, labels=[0, 1]),
            "brier_score": m.brier_score_loss(y, s),
        }
    if task == "multiclass-classification":
        predicted = s.argmax(axis=1)
        return {
            "accuracy": m.accuracy_score(y, predicted),
            "f1_macro": m.f1_score(y, predicted, average="macro"),
            "log_loss": m.log_loss(y, s, labels=list(range(s.shape[1]))),
        }
    if task in ("regression", "forecasting"):
        return {"rmse": float(np.sqrt(m.mean_squared_error(y, s))), "mae": m.mean_absolute_error(y, s),
                "r2": m.r2_score(y, s)}
    raise ValueError(f"no built-in metrics for task {task!r}; log them from the training code instead")
