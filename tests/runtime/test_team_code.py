"""The example specs' own training code (chargeback-risk, ltv-forecaster) trained through the runtime's
contract on data scikit-learn ships in place of their buckets, then saved, loaded and scored as the
evaluate step and the model server do: scikit-learn models get a DataFrame with their feature names,
in float64, so no warning and no lost precision."""

from __future__ import annotations

import importlib
import warnings
from pathlib import Path

import numpy as np
import pytest
import yaml

from runtime import artifact, metrics
from runtime.contract import TrainingInput
from runtime.data import uris
from tests.conftest import REPO

CASES = {
    "chargeback-risk": ("specs/payments/chargeback-risk", "sklearn://breast_cancer?split={}", "target"),
    "ltv-forecaster": ("specs/growth/ltv-forecaster", "sklearn://diabetes?split={}", "target"),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_example_code_trains_saves_loads_and_scores(name: str, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    folder, uri, target = CASES[name]
    spec = yaml.safe_load((REPO / folder / "model.yaml").read_text())["spec"]
    module_name, _, function = spec["training"]["entrypoint"].partition(":")
    monkeypatch.syspath_prepend(str(REPO / folder))  # what MLPLAT_CODE_DIR does in the pod
    fit = getattr(importlib.import_module(module_name), function)
    train = uris.load(uri.format("train"), target)
    features = uris.feature_columns(train, target)
    model = fit(TrainingInput(train=train, features=features, target=target,
                              hyperparameters=spec["training"]["hyperparameters"], task=spec["task"], device="cpu",
                              log_metric=lambda *_: None))
    artifact.save(model, tmp_path / "model", framework=spec["framework"], task=spec["task"], features=features)
    loaded = artifact.load(tmp_path / "model")
    evaluation = uris.load(uri.format("eval"), target)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # "X does not have valid feature names" would fail here
        from_frame = loaded.predict(evaluation)
        from_rows = loaded.predict(evaluation[features].to_numpy().tolist())  # as the server hands rows over
    np.testing.assert_array_equal(from_frame, from_rows)
    values = metrics.compute(spec["task"], evaluation[target].to_numpy(), from_frame)
    gates = spec["evaluation"]["gates"]
    assert {g["metric"] for g in gates} <= set(values)
    if name == "chargeback-risk":
        assert values["roc_auc"] > 0.95
    else:
        assert values["r2"] > 0.1  # a stand-in dataset of 442 rows; the point is that the code runs


def test_float64_reaches_a_scikit_learn_model(tmp_path: Path) -> None:
    from sklearn.linear_model import LinearRegression

    frame = uris.load("sklearn://diabetes?split=train", "target")
    features = uris.feature_columns(frame, "target")
    artifact.save(LinearRegression().fit(frame[features], frame["target"]), tmp_path / "m", framework="sklearn",
                  task="regression", features=features)
    loaded = artifact.load(tmp_path / "m")
    row = frame[features].iloc[[0]]
    assert loaded.predict(row)[0] == loaded.model.predict(row)[0]  # bit for bit: no float32 round trip
