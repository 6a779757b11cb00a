"""Evaluation metrics per task, and which direction is better for each (the gates need it)."""

from __future__ import annotations

from typing import Any

LOWER_IS_BETTER = {"log_loss", "brier_score", "rmse", "mae", "mse", "mape", "loss"}


def higher_is_better(metric: str) -> bool:
    return metric not in LOWER_IS_BETTER


def compute(task: str, y_true: Any, scores: Any, groups: Any = None) -> dict[str, float]:
    """Metrics of predictions `scores` (probabilities for classification, relevance scores for ranking)
    against labels `y_true`; ranking needs `groups`, the query id of each row. The names are those
    compiler/spec/model.py BUILTIN_METRICS declares (tests/runtime/test_metrics.py holds them together)."""
    import numpy as np
    from sklearn import metrics as m

    y = np.asarray(y_true)
    s = np.asarray(scores, dtype=np.float64)
    if task == "other":
        return {}  # the training code logs what its gates judge (evaluation.loggedMetrics)
    if task == "ranking":
        return _ranking(y, s, groups)
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
    raise ValueError(f"no built-in metrics for task {task!r}")


def _ranking(relevance: Any, scores: Any, groups: Any) -> dict[str, float]:
    """NDCG per query, averaged over the queries with more than one result (a single result is always
    in order); relevance labels are graded gains (0 = irrelevant)."""
    import numpy as np
    import pandas as pd
    from sklearn.metrics import ndcg_score

    if groups is None:
        raise ValueError("ranking metrics need the query id of each row (training.data.group)")
    frame = pd.DataFrame({"group": np.asarray(groups), "y": relevance, "s": scores})
    per_query: dict[str, list[float]] = {"ndcg": [], "ndcg_at_5": [], "ndcg_at_10": []}
    for _, rows in frame.groupby("group", sort=True):
        if len(rows) < 2:
            continue
        y, s = rows["y"].to_numpy()[None, :], rows["s"].to_numpy()[None, :]
        per_query["ndcg"].append(ndcg_score(y, s))
        per_query["ndcg_at_5"].append(ndcg_score(y, s, k=5))
        per_query["ndcg_at_10"].append(ndcg_score(y, s, k=10))
    if not per_query["ndcg"]:
        raise ValueError("no query in the eval data has more than one row to rank")
    return {name: float(np.mean(values)) for name, values in per_query.items()}
