"""A random forest on settled payments, trained on the DataFrame so the served model knows its feature names."""

from __future__ import annotations

from sklearn.ensemble import RandomForestClassifier

from runtime.contract import TrainingInput


def fit(inp: TrainingInput) -> RandomForestClassifier:
    hp = inp.hyperparameters
    model = RandomForestClassifier(n_estimators=int(hp.get("n_estimators", 200)), max_depth=hp.get("max_depth"),
                                   class_weight=hp.get("class_weight"), random_state=int(hp.get("seed", 0)),
                                   n_jobs=1)
    return model.fit(inp.train[inp.features], inp.train[inp.target])
