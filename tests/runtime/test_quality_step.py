"""`python -m runtime quality`: labels joined to logged predictions, the task's metrics judged by the
gates, and bad data (exit 2) never reported as healthy."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from runtime.steps import quality
from tests.conftest import REPO, checked_model
from tests.runtime.conftest import Gateway

ROWS = 400


@pytest.fixture(scope="module")
def spec_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    spec = json.loads(checked_model(REPO, "fraud-detector", "prod").summary_json())
    spec["spec"]["monitoring"]["quality"]["minRows"] = 100  # the spec's 1,000 would need a larger fixture
    path = tmp_path_factory.mktemp("quality") / "model.json"
    path.write_text(json.dumps(spec))
    return path


@pytest.fixture
def logged(tmp_path: Path) -> tuple[Path, pd.DataFrame]:
    """Predictions as the sink logs them, and labels agreeing with them (ROC AUC near 1)."""
    rng = np.random.default_rng(0)
    truth = rng.integers(0, 2, ROWS)
    scores = np.clip(truth * 0.7 + rng.normal(0.15, 0.1, ROWS), 0, 1)
    frame = pd.DataFrame({"request_id": [f"r{i}" for i in range(ROWS)], "row": 0, "prediction": scores,
                          "amount": rng.normal(50, 10, ROWS)})
    folder = tmp_path / "log" / "date=2026-12-01" / "hour=03"
    folder.mkdir(parents=True)
    frame.to_parquet(folder / "part-1.parquet")
    return tmp_path / "log", pd.DataFrame({"request_id": frame["request_id"], "is_fraud": truth})


def run(spec: Path, tmp_path: Path, predictions: Path, labels: pd.DataFrame | None, *extra: str) -> tuple[int, dict]:
    args = ["--spec", str(spec), "--outputs", str(tmp_path / "out"), "--predictions", str(predictions)]
    if labels is not None:
        labels.to_csv(tmp_path / "labels.csv", index=False)
        args += ["--labels", str(tmp_path / "labels.csv")]
    else:
        args += ["--labels", str(tmp_path / "absent.csv")]
    code = quality.main([*args, *extra])
    return code, json.loads((tmp_path / "out" / "quality.json").read_text())


def test_correct_labels_are_healthy_and_shuffled_ones_miss_the_gate(spec_file, tmp_path, logged) -> None:
    log, labels = logged
    code, result = run(spec_file, tmp_path, log, labels)
    assert code == quality.HEALTHY and result["status"] == "healthy" and result["rows"] == ROWS
    assert result["metrics"]["roc_auc"] > 0.95
    checks = {c["gate"]: c["passed"] for c in result["checks"]}
    assert checks == {"roc_auc >= 0.92": True, "precision_at_1pct_fpr >= 0.6": None}  # logged by training only
    shuffled = labels.assign(is_fraud=labels["is_fraud"].sample(frac=1, random_state=1).to_numpy())
    code, result = run(spec_file, tmp_path, log, shuffled)
    assert code == quality.DEGRADED and (tmp_path / "out" / "degraded").read_text() == "true"
    code, _ = run(spec_file, tmp_path, log, shuffled, "--exit-zero-on-degradation")
    assert code == quality.HEALTHY


def test_wrong_predictions_are_counted_per_predictor_for_the_canary_analysis(spec_file, tmp_path, logged,
                                                                            gateway: str) -> None:
    log, labels = logged
    [part] = log.rglob("*.parquet")
    frame = pd.read_parquet(part)
    canary = np.arange(len(frame)) % 4 == 0  # a quarter of the traffic, whose scores are inverted
    frame["predictor"], frame["version"] = np.where(canary, "canary", "main"), np.where(canary, "13", "12")
    frame.loc[canary, "prediction"] = 1 - frame.loc[canary, "prediction"]
    frame.to_parquet(part)
    code, _ = run(spec_file, tmp_path, log, labels, "--pushgateway", gateway, "--exit-zero-on-degradation")
    assert code == quality.HEALTHY
    [(_, _, body)] = Gateway.received
    rows = {name: float(value) for name, value in re.findall(
        r'mlplat_quality_side_(rows|wrong)\{predictor="canary",version="13"\} (\S+)', body)}
    assert rows == {"rows": ROWS / 4, "wrong": pytest.approx(ROWS / 4, abs=ROWS / 20)}  # nearly all wrong
    main = dict(re.findall(r'mlplat_quality_side_(rows|wrong)\{predictor="main",version="12"\} (\S+)', body))
    assert float(main["rows"]) == ROWS * 3 / 4 and float(main["wrong"]) < ROWS / 20


@pytest.mark.parametrize("damage,problem", [
    (lambda labels: None, "labels: no such file"),
    (lambda labels: labels.iloc[:0], "no labels"),
    (lambda labels: labels.rename(columns={"is_fraud": "fraud"}), "the labels have no column 'is_fraud'"),
    (lambda labels: pd.concat([labels, labels.iloc[:3]]), "3 duplicate ids in the labels"),
    (lambda labels: labels.assign(request_id="other-" + labels["request_id"]), "none of 400 labels matches"),
    (lambda labels: labels.iloc[:50], "50 labelled predictions; the spec's minRows is 100"),
    (lambda labels: labels.assign(is_fraud="yes"), "labels that are not finite numbers"),
])
def test_bad_data_exits_2_and_names_the_problem(spec_file, tmp_path, logged, capsys, damage, problem) -> None:
    log, labels = logged
    code, result = run(spec_file, tmp_path, log, damage(labels))
    assert code == quality.BAD_DATA and result["status"] == "bad-data"
    assert any(problem in p for p in result["problems"]), result["problems"]
    assert problem in capsys.readouterr().err


def test_an_empty_window_is_bad_data_not_healthy(spec_file, tmp_path, logged) -> None:
    log, labels = logged
    labels.to_csv(tmp_path / "labels.csv", index=False)
    # The window whose labels are due ends 72 h before --now: the logged hour is not in it.
    code = quality.main(["--spec", str(spec_file), "--outputs", str(tmp_path / "out"), "--prediction-log", str(log),
                         "--labels", str(tmp_path / "labels.csv"), "--now", "2026-12-02T04:00:00+00:00",
                         "--delay-seconds", str(72 * 3600)])
    assert code == quality.BAD_DATA
    assert "no logged predictions in the judged window" in (tmp_path / "out" / "quality.json").read_text()
    # ... and the window that holds it is judged
    code = quality.main(["--spec", str(spec_file), "--outputs", str(tmp_path / "out"), "--prediction-log", str(log),
                         "--labels", str(tmp_path / "labels.csv"), "--now", "2026-12-01T05:00:00+00:00",
                         "--delay-seconds", "3600", "--window-seconds", "3600"])
    assert code == quality.HEALTHY


def test_mlplat_quality_uses_the_models_settings_and_refuses_models_without(tmp_path, logged) -> None:
    import subprocess
    import sys

    from tests.conftest import copy_inputs

    log, labels = logged
    labels.rename(columns={"is_fraud": "benign"}).to_csv(tmp_path / "labels.csv", index=False)
    root = copy_inputs(tmp_path / "repo")

    def mlplat(model: str, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "compiler", "--root", str(root), "quality", model,
                               "--predictions", str(log), *args], capture_output=True, text=True, cwd=tmp_path)

    result = mlplat("tumor-classifier", "--labels", str(tmp_path / "labels.csv"))  # its minRows is 50
    assert result.returncode == quality.HEALTHY, result.stderr
    assert result.stdout.startswith("quality: tumor-classifier (dev): 400 labelled predictions\n")
    result = mlplat("ltv-forecaster")
    assert result.returncode == 2
    assert result.stderr == ("mlplat quality: ltv-forecaster has no monitoring.quality settings in dev "
                             "(specs/growth/ltv-forecaster/model.yaml)\n")


def test_the_rendered_quality_cronworkflow_runs_as_argo_would(tmp_path: Path, gateway: str) -> None:
    """fraud-detector's prod CronWorkflow, its pods given only what the manifest gives them (the spec
    ConfigMap, env, args), the prediction log and the Pushgateway standing in for the cluster's; with
    shuffled labels the judge succeeds, says degraded, and the retrain step creates a training Workflow."""
    import subprocess
    import sys
    from datetime import UTC, datetime, timedelta

    import yaml

    from tests.conftest import allow_local_data, copy_inputs
    from tests.runtime.argo_emulator import ArgoEmulator

    root = copy_inputs(tmp_path / "repo")
    allow_local_data(root, tmp_path)
    labels_file = tmp_path / "labels.csv"
    spec = root / "specs/payments/fraud-detector/model.yaml"
    spec.write_text(spec.read_text().replace('uri: "s3://acme-payments-lake/fraud/chargebacks/"',
                                             f'uri: "{labels_file.as_uri()}"').replace("onDegradation: alert",
                                                                               "onDegradation: retrain"))
    compiled = subprocess.run([sys.executable, "-m", "compiler", "--root", str(root), "compile"],
                              capture_output=True, text=True)
    assert compiled.returncode == 0, compiled.stdout + compiled.stderr
    folder = root / "environments/prod/apps/payments/fraud-detector"
    cron = yaml.safe_load((folder / "cronworkflow-fraud-detector-quality.yaml").read_text())
    config_map = yaml.safe_load((folder / "configmap-fraud-detector-spec.yaml").read_text())
    # Every hour of the last six days is logged, so the judged window (24 h ending 72 h before the pod's
    # clock) holds 24 of them whatever that clock says: 1,200 rows, fraud-detector's minRows is 1,000.
    log = tmp_path / "log"
    rng = np.random.default_rng(0)
    hour = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    ids = []
    for back in range(144):
        start = hour - timedelta(hours=back)
        part = log / f"date={start:%Y-%m-%d}" / f"hour={start:%H}"
        part.mkdir(parents=True)
        names = [f"r{back}-{i}" for i in range(50)]
        pd.DataFrame({"request_id": names, "row": 0, "prediction": rng.random(50)}).to_parquet(part / "p.parquet")
        ids += names
    pd.DataFrame({"request_id": ids, "is_fraud": rng.integers(0, 2, len(ids))}).to_csv(labels_file, index=False)
    emulator = ArgoEmulator(cron, {config_map["metadata"]["name"]: config_map["data"]}, tmp_path / "pods",
                            overrides={"MLPLAT_PREDICTION_LOG": str(log), "MLPLAT_PUSHGATEWAY": gateway})
    pods = emulator.run()
    assert pods["judge"].phase == "Succeeded", pods["judge"].log
    assert pods["judge"].outputs["degraded"] == "true" and "1,200 labelled predictions" in pods["judge"].log
    [(method, path, body)] = Gateway.received
    assert (method, path) == ("PUT", "/metrics/job/mlplat-quality/environment/prod/model/fraud-detector")
    assert 'mlplat_quality_metric{metric="roc_auc"}' in body
    assert pods["retrain"].phase == "Succeeded"
    [workflow] = emulator.created
    assert workflow["spec"]["workflowTemplateRef"]["name"] == "fraud-detector-train"
    assert workflow["metadata"]["labels"]["mlplat.io/trigger"] == "quality"
