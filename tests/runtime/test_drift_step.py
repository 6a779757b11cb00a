"""`python -m runtime drift` and `mlplat drift` end to end: exit codes, outputs, Evidently's report, the
prediction-log window and what is pushed to a Pushgateway."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from runtime.drift.window import hour_folders
from tests.conftest import copy_inputs
from tests.runtime.conftest import Gateway, mlplat

FEATURES = ["amount", "hour_of_day", "merchant_risk"]


def frame(rows: int, seed: int, shift: float = 0.0) -> pa.Table:
    rng = np.random.default_rng(seed)
    return pa.table({"amount": rng.lognormal(3, 1, rows) * np.exp(shift), "hour_of_day": rng.integers(0, 24, rows),
                     "merchant_risk": rng.normal(0, 1, rows), "label": rng.integers(0, 2, rows)})


@pytest.fixture
def spec(tmp_path: Path) -> Path:
    reference = tmp_path / "reference.parquet"
    pq.write_table(frame(2_000, seed=1), reference)
    path = tmp_path / "model.json"
    path.write_text(json.dumps({
        "name": "fraud-detector", "team": "payments", "environment": "dev",
        "spec": {"training": {"data": {"train": {"uri": str(reference)}, "target": "label"}},
                 "monitoring": {"drift": {"features": FEATURES, "method": "psi", "threshold": 0.2}}}}))
    return path


def drift(spec: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`python -m runtime drift` in this process (Evidently imported once per worker, not once per case);
    the step's process as pods and `mlplat drift` start it runs in the tests below and in
    test_monitoring_loop.py."""
    import contextlib
    import io

    from runtime.cli import main

    argv = ["drift", "--spec", str(spec), "--outputs", str(spec.parent / "out"), *args]
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(argv)
        except SystemExit as exc:  # argparse's usage errors
            code = int(exc.code or 0)
    return subprocess.CompletedProcess([sys.executable, "-m", "runtime", *argv], code, out.getvalue(), err.getvalue())


def csv(path: Path, table: pa.Table) -> str:
    import pyarrow.csv

    pyarrow.csv.write_csv(table, path)
    return str(path)


def outputs(spec: Path) -> tuple[dict, str]:
    out = spec.parent / "out"
    return json.loads((out / "drift.json").read_text()), (out / "drifted").read_text()


def test_no_drift_exits_0_with_table_json_and_report(spec: Path) -> None:
    result = drift(spec, "--current", csv(spec.parent / "current.csv", frame(2_000, seed=2)))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "drift: fraud-detector (dev): psi, threshold 0.2; reference 2,000 rows, current 2,000 rows"
    assert lines[1].split() == ["feature", "kind", "score", "result"]
    assert [line.split()[0] for line in lines[2:5]] == FEATURES and all(line.endswith(" ok") for line in lines[2:5])
    assert lines[5] == "0 of 3 features drifted (share 0.00): no drift"
    body, drifted = outputs(spec)
    assert (body["status"], body["driftedFeatures"], body["currentRows"], drifted) == ("no-drift", [], 2_000, "false")
    report = Path(body["report"]).read_text()
    assert "PSI, all 2,000 / 2,000 rows" in report  # Evidently's table shows the all-rows scores
    for feature in FEATURES:
        assert feature in report


def test_drift_exits_1_and_scores_match_the_report(spec: Path) -> None:
    result = drift(spec, "--current", csv(spec.parent / "current.csv", frame(2_000, seed=2, shift=0.8)))
    assert result.returncode == 1, result.stderr
    assert "  amount " in result.stdout and result.stdout.splitlines()[2].endswith("DRIFT")
    body, drifted = outputs(spec)
    assert (body["status"], body["driftedFeatures"], drifted) == ("drift", ["amount"], "true")
    amount = body["features"][0]
    assert amount["score"] >= 0.2 and amount["kind"] == "numeric"
    assert f"{amount['score']:.3f}"[:4] in Path(body["report"]).read_text()


def test_workflow_mode_exits_0_on_drift_and_says_so_in_drifted(spec: Path) -> None:
    result = drift(spec, "--exit-zero-on-drift", "--current",
                   csv(spec.parent / "current.csv", frame(2_000, seed=2, shift=0.8)))
    assert result.returncode == 0 and outputs(spec)[1] == "true"


def test_bad_data_exits_2_lists_every_problem_and_writes_no_report(spec: Path) -> None:
    bad = frame(500, seed=3).rename_columns(["amount_eur", "hour_of_day", "merchant_risk", "label"])
    bad = bad.set_column(1, "hour_of_day", pa.array(["night"] * 500))
    bad = bad.set_column(2, "merchant_risk", pa.array([float("nan")] * 500))
    result = drift(spec, "--current", csv(spec.parent / "current.csv", bad))
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        "drift: fraud-detector (dev): bad data, nothing compared:",
        "  - current window: column 'amount' is missing (renamed to 'amount_eur'?)",
        "  - current window: column 'hour_of_day' changed type: numeric (int64) in the reference, categorical "
        "(string) now",
        "  - current window: column 'merchant_risk' has no values (all NaN, inf or null)",
    ]
    body, drifted = outputs(spec)
    assert body["status"] == "bad-data" and len(body["problems"]) == 3 and drifted == "false"
    assert not (spec.parent / "out" / "drift-report.html").exists()


def test_unreadable_current_file_is_bad_data(spec: Path) -> None:
    result = drift(spec, "--current", str(spec.parent / "nope.parquet"))
    assert result.returncode == 2 and "current window: no such file or folder" in result.stderr


# -- the prediction log window ------------------------------------------------------------------
NOW = datetime(2026, 11, 22, 15, 40, tzinfo=UTC)


def test_hour_folders_are_the_complete_hours_before_now() -> None:
    assert hour_folders("s3://logs/payments/fraud-detector", 3 * 3600, NOW) == [
        "s3://logs/payments/fraud-detector/date=2026-11-22/hour=12",
        "s3://logs/payments/fraud-detector/date=2026-11-22/hour=13",
        "s3://logs/payments/fraud-detector/date=2026-11-22/hour=14",
    ]
    assert hour_folders("/l", 2 * 3600, datetime(2026, 11, 23, 1, 5, tzinfo=UTC)) == [
        "/l/date=2026-11-22/hour=23", "/l/date=2026-11-23/hour=00"]


def test_window_reads_only_its_hours(spec: Path) -> None:
    log = spec.parent / "log"
    for hour, rows in (("11", 7), ("12", 100), ("13", 200), ("14", 300), ("15", 11)):  # 11: too old; 15: open
        folder = log / "date=2026-11-22" / f"hour={hour}"
        folder.mkdir(parents=True)
        pq.write_table(frame(rows, seed=int(hour)), folder / "part-0.parquet")
    result = drift(spec, "--prediction-log", log.as_uri(), "--window-seconds", str(3 * 3600),
                   "--now", NOW.isoformat())
    assert result.returncode == 0, result.stderr
    assert outputs(spec)[0]["currentRows"] == 600


def test_an_empty_window_is_bad_data_not_no_drift(spec: Path) -> None:
    (spec.parent / "log").mkdir()
    result = drift(spec, "--prediction-log", str(spec.parent / "log"), "--now", NOW.isoformat())
    assert result.returncode == 2 and "current window: no rows" in result.stderr


# -- Pushgateway (tests/runtime/conftest.py's stand-in) ------------------------------------------
def metric_lines(body: str) -> dict[str, float]:
    return {line.rsplit(" ", 1)[0]: float(line.rsplit(" ", 1)[1]) for line in body.splitlines()
            if line and not line.startswith("#")}


def test_results_replace_the_group_on_the_gateway(spec: Path, gateway: str) -> None:
    result = drift(spec, "--pushgateway", gateway, "--current",
                   csv(spec.parent / "current.csv", frame(2_000, seed=2, shift=0.8)))
    assert result.returncode == 1, result.stderr
    [(method, path, body)] = Gateway.received
    assert (method, path) == ("PUT", "/metrics/job/mlplat-drift/environment/dev/model/fraud-detector")
    pushed = metric_lines(body)
    scores = {f["feature"]: f["score"] for f in outputs(spec)[0]["features"]}
    for feature in FEATURES:
        assert pushed[f'mlplat_drift_score{{feature="{feature}"}}'] == pytest.approx(scores[feature])
    assert (pushed["mlplat_drift_detected"], pushed["mlplat_drift_data_error"], pushed["mlplat_drift_threshold"],
            pushed["mlplat_drift_current_rows"]) == (1.0, 0.0, 0.2, 2000.0)
    assert pushed["mlplat_drift_share"] == pytest.approx(1 / 3)
    assert abs(pushed["mlplat_drift_last_run_timestamp_seconds"] - datetime.now(UTC).timestamp()) < 300


def test_bad_data_only_raises_the_error_gauge(spec: Path, gateway: str) -> None:
    result = drift(spec, "--pushgateway", gateway, "--current", csv(spec.parent / "c.csv", frame(10, 1).slice(0, 0)))
    assert result.returncode == 2
    [(method, path, body)] = Gateway.received
    # POST keeps the last good scores and timestamp: the not-reporting alert measures real results.
    assert (method, path) == ("POST", "/metrics/job/mlplat-drift/environment/dev/model/fraud-detector")
    assert metric_lines(body) == {"mlplat_drift_data_error": 1.0}


# -- mlplat drift -----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return copy_inputs(tmp_path_factory.mktemp("drift"))


REFERENCE = "sklearn://breast_cancer?split=train&holdout=0.25&seed=0"
# `mlplat drift` with the model's settings on served traffic, unshifted and shifted, with its table and
# report: tests/runtime/test_monitoring_loop.py::test_drift_and_quality_judge_what_was_served.


def test_mlplat_drift_on_bad_data_and_unknown_models(project: Path, tmp_path: Path) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_text("mean_radius,mean_texture\n")
    result = mlplat(project, "drift", "tumor-classifier", "--reference", REFERENCE, "--current", str(empty))
    assert result.returncode == 2 and "current window: no rows" in result.stderr
    result = mlplat(project, "drift", "ltv-forecaster", "--reference", REFERENCE, "--current", str(empty))
    assert result.returncode == 2
    assert result.stderr == ("mlplat drift: ltv-forecaster has no monitoring.drift settings in dev "
                             "(specs/growth/ltv-forecaster/model.yaml)\n")


def test_a_feature_service_models_reference_is_its_point_in_time_training_frame(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """churn-predictor's drift reference is the frame it trained on (labels joined with payments' view as
    of each label's time), not its label table, which has none of the monitored features."""
    import yaml

    from runtime.data import example
    from tests.conftest import REPO

    configmap = REPO / "environments/dev/apps/growth/churn-predictor/configmap-churn-predictor-spec.yaml"
    spec = tmp_path / "model.json"
    spec.write_text(yaml.safe_load(configmap.read_text())["data"]["model.json"])
    monkeypatch.setenv("MLPLAT_CODE_DIR", str(REPO / "specs/growth/churn-predictor"))
    later = example.table("customer-transactions")
    current = later[later["event_timestamp"] >= later["event_timestamp"].max() - np.timedelta64(7, "D")]
    result = drift(spec, "--current", csv(tmp_path / "current.csv", pa.Table.from_pandas(current)))
    assert result.returncode in (0, 1), result.stderr
    first = result.stdout.splitlines()[0]
    rows = len(example.table("churn-labels", "train"))
    assert first.startswith(f"drift: churn-predictor (dev): ks, threshold 0.1; reference {rows:,} rows"), first
    assert [line.split()[0] for line in result.stdout.splitlines()[2:4]] == ["txn_count_7d", "days_active_30d"]
