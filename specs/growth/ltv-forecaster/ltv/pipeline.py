"""Gradient-boosted trees for lifetime value: a Poisson loss, because value is non-negative and skewed."""

from __future__ import annotations

from sklearn.ensemble import HistGradientBoostingRegressor

from runtime.contract import TrainingInput


def train(inp: TrainingInput) -> HistGradientBoostingRegressor:
    hp = inp.hyperparameters
    model = HistGradientBoostingRegressor(loss=str(hp.get("loss", "poisson")),
                                          max_leaf_nodes=int(hp.get("max_leaf_nodes", 31)),
                                          learning_rate=float(hp.get("learning_rate", 0.1)),
                                          max_iter=int(hp.get("max_iter", 200)), random_state=int(hp.get("seed", 0)))
    return model.fit(inp.train[inp.features], inp.train[inp.target])
