"""PrometheusRule output: golden files, `promtool check rules` on every rendered group, and `promtool test
rules` showing each alert fire on a synthetic bad series and stay quiet on a healthy one."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from compiler.spec.emit import to_yaml
from renderers import monitoring
from tests.conftest import REPO, check_golden

GOLDEN = REPO / "tests" / "golden" / "monitoring"
PROMTOOL = shutil.which("promtool")
needs_promtool = pytest.mark.skipif(PROMTOOL is None, reason="promtool is absent (Debian's prometheus package; "
                                    ".ci/run installs it)")


@pytest.mark.parametrize("name", ["fraud-detector", "chargeback-risk"])
def test_golden(models, name: str) -> None:
    [manifest] = monitoring.render(models[(name, "prod")])
    check_golden(GOLDEN / f"{name}-prod.yaml", to_yaml(manifest.body, manifest.source))


def test_nothing_for_an_undeployed_model(models) -> None:
    assert monitoring.render(models[("fraud-detector", "dev")]) == []


def alerts(model) -> dict[str, dict]:
    [manifest] = monitoring.render(model)
    return {r["alert"]: r for r in manifest.body["spec"]["groups"][0]["rules"] if "alert" in r}


def test_alert_list_and_routing(models) -> None:
    found = alerts(models[("fraud-detector", "prod")])
    assert sorted(found) == ["MlplatDataDrift", "MlplatDriftBadData", "MlplatDriftJobNotReporting",
                             "MlplatErrorBudgetBurnFast",
                             "MlplatErrorBudgetBurnSlow", "MlplatLatencyP95High", "MlplatPredictionScoreShift",
                             "MlplatServingMetricsMissing"]
    for rule in found.values():
        assert rule["labels"]["team"] == "payments" and rule["labels"]["receiver"] == "payments-oncall"
        assert rule["annotations"]["slack_channel"] == "#payments-ml-alerts"
    # 99.95% availability: a 0.05% budget, burnt 14.4x (fast) and 6x (slow).
    assert "> 0.0072 and" in found["MlplatErrorBudgetBurnFast"]["expr"]
    assert "> 0.003 and" in found["MlplatErrorBudgetBurnSlow"]["expr"]
    assert found["MlplatLatencyP95High"]["expr"].endswith("> 0.05")
    assert "> 7200" in found["MlplatDriftJobNotReporting"]["expr"]  # hourly drift job, twice its period
    assert {case.partition("@")[0] for case in CASES} == set(found)  # every alert has a promtool unit test


@pytest.mark.parametrize("schedule,seconds", [("0 * * * *", 3600), ("*/10 * * * *", 600), ("0 */6 * * *", 21600),
                                              ("30 2 * * MON", 604800), ("0 4 1 * *", 2678400), ("@daily", 86400)])
def test_cron_period(schedule: str, seconds: int) -> None:
    assert monitoring.cron_period_seconds(schedule) == seconds


def rendered_groups(root: Path) -> list[Path]:
    return sorted(root.glob("environments/*/apps/*/*/prometheusrule-*.yaml"))


@needs_promtool
def test_promtool_checks_every_rendered_group(tmp_path: Path) -> None:
    files = rendered_groups(REPO)
    assert len(files) >= 4
    for index, path in enumerate(files):
        plain = tmp_path / f"rules-{index}.yaml"
        plain.write_text(yaml.safe_dump(yaml.safe_load(path.read_text())["spec"]))
        result = subprocess.run([PROMTOOL, "check", "rules", str(plain)], capture_output=True, text=True)
        assert result.returncode == 0, f"{path}: {result.stdout}{result.stderr}"


# -- promtool unit tests ---------------------------------------------------------------------------
NS, DEPLOYMENT, MODEL, ENV = "ml-payments-prod", "fraud-detector", "fraud-detector", "prod"
REQ = f'seldon_api_executor_server_requests_seconds{{SUFFIX}}{{namespace="{NS}", deployment_name="{DEPLOYMENT}"'
OWN = f'model="{MODEL}", environment="{ENV}"'


def requests(code: str, per_minute: int) -> dict:
    return {"series": REQ.replace("{SUFFIX}", "_count") + f', code="{code}"}}', "values": f"0+{per_minute}x200"}


def buckets(fast: int) -> list[dict]:
    # fast: requests per minute answered within 50 ms; the other 100 - fast take up to 100 ms.
    series = REQ.replace("{SUFFIX}", "_bucket")
    return [{"series": series + ', le="0.05"}', "values": f"0+{fast}x200"},
            {"series": series + ', le="0.1"}', "values": "0+100x200"},
            {"series": series + ', le="+Inf"}', "values": "0+100x200"}]


def scores(recent_mean: float) -> list[dict]:
    labels = f'namespace="{NS}", model="{MODEL}", version="12"'
    recent = int(recent_mean * 100)
    return [{"series": f"mlplat_predictions_total{{{labels}}}", "values": "0+100x720"},
            {"series": f"mlplat_prediction_score_sum_total{{{labels}}}",
             "values": f"0+50x600 {30000 + recent}+{recent}x119"}]


CASES = {
    # alert: (eval time, firing series, healthy series, labels the expression adds)
    "MlplatErrorBudgetBurnFast": ("80m", [requests("200", 600), requests("500", 60)],
                                  [requests("200", 600), requests("500", 0)], {}),
    "MlplatErrorBudgetBurnSlow": ("80m", [requests("200", 600), requests("500", 60)],
                                  [requests("200", 600), requests("500", 0)], {}),
    "MlplatLatencyP95High": ("30m", [requests("200", 100), *buckets(0)], [requests("200", 100), *buckets(100)], {}),
    "MlplatPredictionScoreShift": ("12h", [requests("200", 1), *scores(0.9)], [requests("200", 1), *scores(0.5)], {}),
    "MlplatServingMetricsMissing": ("20m", [], [requests("200", 10)],
                                    {"namespace": NS, "deployment_name": DEPLOYMENT}),
    "MlplatDataDrift": ("5m", [{"series": f'mlplat_drift_score{{{OWN}, feature="amount"}}', "values": "0.35x10"}],
                        [{"series": f'mlplat_drift_score{{{OWN}, feature="amount"}}', "values": "0.1x10"}],
                        {"feature": "amount"}),
    # At the threshold counts as drift, as in the drift step (runtime/drift/stats.py).
    "MlplatDataDrift@threshold": ("5m", [{"series": f'mlplat_drift_score{{{OWN}, feature="amount"}}',
                                          "values": "0.2x10"}],
                                  [{"series": f'mlplat_drift_score{{{OWN}, feature="amount"}}', "values": "0.19x10"}],
                                  {"feature": "amount"}),
    "MlplatDriftBadData": ("5m", [{"series": f"mlplat_drift_data_error{{{OWN}}}", "values": "1x10"}],
                           [{"series": f"mlplat_drift_data_error{{{OWN}}}", "values": "0x10"}], {}),
    "MlplatDriftJobNotReporting": ("3h", [{"series": f"mlplat_drift_last_run_timestamp_seconds{{{OWN}}}",
                                           "values": "0x200"}],
                                   [{"series": f"mlplat_drift_last_run_timestamp_seconds{{{OWN}}}",
                                     "values": "0+60x200"}], {}),
}


@needs_promtool
@pytest.mark.parametrize("case", sorted(CASES))
def test_alert_fires_on_bad_series_and_stays_quiet_on_healthy_ones(models, tmp_path: Path, case: str) -> None:
    [manifest] = monitoring.render(models[(MODEL, ENV)])
    (tmp_path / "rules.yaml").write_text(yaml.safe_dump(manifest.body["spec"]))
    alert = case.partition("@")[0]
    rule = alerts(models[(MODEL, ENV)])[alert]
    eval_time, bad, good, extra_labels = CASES[case]
    annotations = {k: v.replace("{{ $labels.feature }}", extra_labels.get("feature", "")) for k, v in
                   rule["annotations"].items()}
    expected = [{"exp_labels": {**rule["labels"], **extra_labels}, "exp_annotations": annotations}]
    tests = [{"interval": "1m", "input_series": series or [{"series": "unrelated", "values": "1x10"}],
              "alert_rule_test": [{"eval_time": eval_time, "alertname": alert, "exp_alerts": want}]}
             for series, want in ((bad, expected), (good, []))]
    (tmp_path / "test.yaml").write_text(yaml.safe_dump({"rule_files": ["rules.yaml"], "evaluation_interval": "1m",
                                                        "tests": tests}))
    result = subprocess.run([PROMTOOL, "test", "rules", "test.yaml"], cwd=tmp_path, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
