"""The evaluate step's metrics per task are exactly those the spec language lets gates judge, and
the ranking metrics are NDCG per query."""

from __future__ import annotations

import numpy as np
import pytest

from compiler.spec.model import BUILTIN_METRICS, Task
from runtime import metrics

RNG = np.random.default_rng(0)
INPUTS = {
    "binary-classification": (RNG.integers(0, 2, 50), RNG.random(50), None),
    "multiclass-classification": (np.arange(60) % 3, RNG.dirichlet([1, 1, 1], 60), None),
    "regression": (RNG.random(50), RNG.random(50), None),
    "forecasting": (RNG.random(50), RNG.random(50), None),
    "ranking": (RNG.integers(0, 4, 60), RNG.random(60), np.repeat(np.arange(6), 10)),
    "other": (RNG.random(5), RNG.random(5), None),
}


@pytest.mark.parametrize("task", Task.__args__)
def test_computed_metrics_are_the_declared_ones(task: str) -> None:
    y, scores, groups = INPUTS[task]
    assert sorted(metrics.compute(task, y, scores, groups)) == sorted(BUILTIN_METRICS[task])


def test_ndcg_is_averaged_over_queries() -> None:
    relevance = np.array([3, 2, 0, 0, 1, 2])
    groups = np.array(["a", "a", "a", "b", "b", "b"])
    perfect = metrics.compute("ranking", relevance, np.array([3.0, 2, 1, 0, 1, 2]), groups)
    assert perfect == {"ndcg": 1.0, "ndcg_at_5": 1.0, "ndcg_at_10": 1.0}
    reversed_b = metrics.compute("ranking", relevance, np.array([3.0, 2, 1, 2, 1, 0]), groups)
    assert 0.5 < reversed_b["ndcg"] < 1.0
    with pytest.raises(ValueError, match="need the query id"):
        metrics.compute("ranking", relevance, relevance, None)
