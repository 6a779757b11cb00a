"""PrometheusRule output: golden files, `promtool check rules` on every rendered group, and `promtool test
rules` showing each alert fire on a synthetic bad series and stay quiet on a healthy one."""

from __future__ import annotations

import dataclasses
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


def alerts(model) -> dict[str, list[dict]]:
    [manifest] = monitoring.render(model)
    found: dict[str, list[dict]] = {}
    for rule in manifest.body["spec"]["groups"][0]["rules"]:
        if "alert" in rule:
            found.setdefault(rule["alert"], []).append(rule)
    return found


def recorded(model) -> list[str]:
    [manifest] = monitoring.render(model)
    return [r["record"] for r in manifest.body["spec"]["groups"][0]["rules"] if "record" in r]


def test_alert_list_and_routing(models) -> None:
    found = alerts(models[("fraud-detector", "prod")])
    assert sorted(found) == ["MlplatCanaryAnalysisBlind", "MlplatCanaryJobNotReporting",
                             "MlplatDataDrift", "MlplatDriftBadData", "MlplatDriftJobNotReporting",
                             "MlplatErrorBudgetBurnFast", "MlplatErrorBudgetBurnSlow", "MlplatLatencyP95High",
                             "MlplatPredictionScoreShift", "MlplatQualityBadData", "MlplatQualityBelowGate",
                             "MlplatQualityJobNotReporting", "MlplatServingMetricsMissing"]
    # roc_auc >= 0.92; not precision_at_1pct_fpr >= 0.6, which only the training code computes
    assert [r["expr"] for r in found["MlplatQualityBelowGate"]] == [
        'mlplat_quality_metric{model="fraud-detector", environment="prod", metric="roc_auc"} < 0.92']
    for rule in (r for rules in found.values() for r in rules):
        assert rule["labels"]["team"] == "payments" and rule["labels"]["receiver"] == "payments-oncall"
        assert rule["annotations"]["slack_channel"] == "#payments-ml-alerts"
        assert "namespace" not in rule["expr"]  # only the PodMonitor's and the jobs' labels
    # 99.95% availability: a 0.05% budget, burnt 14.4x (fast) and 6x (slow).
    assert "> 0.0072 and" in found["MlplatErrorBudgetBurnFast"][0]["expr"]
    assert "> 0.003 and" in found["MlplatErrorBudgetBurnSlow"][0]["expr"]
    assert found["MlplatLatencyP95High"][0]["expr"].endswith("> 0.05")
    assert "> 7200" in found["MlplatDriftJobNotReporting"][0]["expr"]  # hourly drift job, twice its period
    assert found["MlplatDriftJobNotReporting"][0]["for"] == "75m"  # grace after a deploy: a period and 15m
    assert found["MlplatQualityJobNotReporting"][0]["for"] == "1455m"  # daily
    assert "> 120" in found["MlplatCanaryJobNotReporting"][0]["expr"]  # the analysis runs every minute
    assert {case.partition("@")[0] for case in CASES} == set(found)  # every alert has a promtool unit test


def test_every_percentile_with_a_target_gets_an_alert(models) -> None:
    model = models[("fraud-detector", "prod")]
    serving = model.spec.serving
    slo = serving.slo.model_copy(update={"latency_p50_ms": 10, "latency_p99_ms": 100})
    spec = model.spec.model_copy(update={"serving": serving.model_copy(update={"slo": slo})})
    found = alerts(dataclasses.replace(model, spec=spec))
    assert found["MlplatLatencyP50High"][0]["expr"].endswith("> 0.01")
    assert found["MlplatLatencyP99High"][0]["expr"].endswith("> 0.1")
    assert recorded(model) == ["mlplat:request_error_ratio:rate5m", "mlplat:request_error_ratio:rate30m",
                               "mlplat:request_error_ratio:rate1h", "mlplat:request_error_ratio:rate6h",
                               "mlplat:request_latency_seconds:p50_5m", "mlplat:request_latency_seconds:p95_5m",
                               "mlplat:request_latency_seconds:p99_5m", "mlplat:model_health_score"]


@pytest.mark.parametrize("task,alert,series", [
    ("multiclass-classification", "MlplatPredictedClassShift", "mlplat_predicted_class_total"),
    ("regression", "MlplatPredictionMeanShift", "mlplat_prediction_square_sum_total"),
])
def test_outputs_other_than_scores_get_a_shift_alert(models, task: str, alert: str, series: str) -> None:
    model = models[("fraud-detector", "prod")]
    other = dataclasses.replace(model, spec=model.spec.model_copy(update={"task": task}))
    found = alerts(other)
    assert "MlplatPredictionScoreShift" not in found and series in found[alert][0]["expr"]


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
MODEL, ENV = "fraud-detector", "prod"
OWN = f'model="{MODEL}", environment="{ENV}"'
REQ = f'seldon_api_executor_server_requests_seconds{{SUFFIX}}{{{OWN}, predictor="main"'
MAIN = {"predictor": "main"}


def requests(code: str, per_minute: int) -> dict:
    return {"series": REQ.replace("{SUFFIX}", "_count") + f', code="{code}"}}', "values": f"0+{per_minute}x200"}


def buckets(fast: int) -> list[dict]:
    # fast: requests per minute answered within 50 ms; the other 100 - fast take up to 100 ms.
    series = REQ.replace("{SUFFIX}", "_bucket")
    return [{"series": series + ', le="0.05"}', "values": f"0+{fast}x200"},
            {"series": series + ', le="0.1"}', "values": "0+100x200"},
            {"series": series + ', le="+Inf"}', "values": "0+100x200"}]


def scores(recent_mean: float) -> list[dict]:
    labels = f'{OWN}, predictor="main", version="12"'
    recent = int(recent_mean * 100)
    return [{"series": f"mlplat_predictions_total{{{labels}}}", "values": "0+100x720"},
            {"series": f"mlplat_prediction_score_sum_total{{{labels}}}",
             "values": f"0+50x600 {30000 + recent}+{recent}x119"}]


def up(value: int) -> dict:
    return {"series": f'up{{{OWN}, predictor="main", container="model", endpoint="metrics"}}', "values": f"{value}x30"}


def quality(metric: str, value: float) -> dict:
    return {"series": f'mlplat_quality_metric{{{OWN}, metric="{metric}"}}', "values": f"{value}x30"}


def gauge(name: str, values: str, **labels: str) -> dict:
    extra = "".join(f', {k}="{v}"' for k, v in labels.items())
    return {"series": f"{name}{{{OWN}{extra}}}", "values": values}


CASES = {
    # alert: (eval time, firing series, healthy series, labels the expression adds, a text picking its rule)
    # Healthy traffic has no 5xx series at all, as the executor creates none until a request fails.
    "MlplatErrorBudgetBurnFast": ("80m", [requests("200", 600), requests("500", 60)], [requests("200", 600)],
                                  MAIN, None),
    "MlplatErrorBudgetBurnSlow": ("80m", [requests("200", 600), requests("500", 60)], [requests("200", 600)],
                                  MAIN, None),
    "MlplatLatencyP95High": ("30m", [requests("200", 100), *buckets(0)], [requests("200", 100), *buckets(100)],
                             MAIN, None),
    "MlplatPredictionScoreShift": ("12h", [requests("200", 1), *scores(0.9)], [requests("200", 1), *scores(0.5)],
                                   {}, None),
    # No target at all for the model, then its only target down; an idle server that is up is healthy.
    "MlplatServingMetricsMissing": ("20m", [], [up(1)], {}, None),
    "MlplatServingMetricsMissing@down": ("20m", [up(0)], [up(1)], MAIN, None),
    "MlplatDataDrift": ("5m", [gauge("mlplat_drift_score", "0.35x10", feature="amount")],
                        [gauge("mlplat_drift_score", "0.1x10", feature="amount")], {"feature": "amount"}, None),
    # At the threshold counts as drift, as in the drift step (runtime/drift/stats.py).
    "MlplatDataDrift@threshold": ("5m", [gauge("mlplat_drift_score", "0.2x10", feature="amount")],
                                  [gauge("mlplat_drift_score", "0.19x10", feature="amount")],
                                  {"feature": "amount"}, None),
    "MlplatDriftBadData": ("5m", [gauge("mlplat_drift_data_error", "1x10")], [gauge("mlplat_drift_data_error", "0x10")],
                           {}, None),
    "MlplatDriftJobNotReporting": ("4h", [gauge("mlplat_drift_last_run_timestamp_seconds", "0x300")],
                                   [gauge("mlplat_drift_last_run_timestamp_seconds", "0+60x300")], {}, None),
    # Fresh after a deploy: no result yet; the alert waits a period and 15 minutes (the test below), then fires.
    "MlplatDriftJobNotReporting@deploy": ("80m", [], [gauge("mlplat_drift_last_run_timestamp_seconds", "0+60x300")],
                                          {}, None),
    "MlplatQualityBelowGate": ("5m", [quality("roc_auc", 0.85), quality("precision_at_1pct_fpr", 0.7)],
                               [quality("roc_auc", 0.95), quality("precision_at_1pct_fpr", 0.7)],
                               {"metric": "roc_auc"}, 'metric="roc_auc"'),
    "MlplatQualityBadData": ("5m", [gauge("mlplat_quality_data_error", "1x10")],
                             [gauge("mlplat_quality_data_error", "0x10")], {}, None),
    "MlplatQualityJobNotReporting": ("73h", [gauge("mlplat_quality_last_run_timestamp_seconds", "0x440")],
                                     [gauge("mlplat_quality_last_run_timestamp_seconds", "0+600x440")], {}, None),
    "MlplatCanaryAnalysisBlind": ("5m", [gauge("mlplat_canary_blind", "1x10")], [gauge("mlplat_canary_blind", "0x10")],
                                  {}, None),
    "MlplatCanaryJobNotReporting": ("30m", [gauge("mlplat_canary_last_run_timestamp_seconds", "0x40")],
                                    [gauge("mlplat_canary_last_run_timestamp_seconds", "0+60x40")], {}, None),
}
# A daily job's alert waits days: its case steps 10 minutes at a time, not 1 (4,400 rule evaluations cost 50 s).
INTERVALS = {"MlplatQualityJobNotReporting": "10m"}


def promtool_test(tmp_path: Path, rules: dict, tests: list[dict], interval: str = "1m") -> None:
    (tmp_path / "rules.yaml").write_text(yaml.safe_dump(rules))
    (tmp_path / "test.yaml").write_text(yaml.safe_dump({"rule_files": ["rules.yaml"], "evaluation_interval": interval,
                                                        "tests": tests}))
    result = subprocess.run([PROMTOOL, "test", "rules", "test.yaml"], cwd=tmp_path, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


@needs_promtool
@pytest.mark.parametrize("case", sorted(CASES))
def test_alert_fires_on_bad_series_and_stays_quiet_on_healthy_ones(models, tmp_path: Path, case: str) -> None:
    [manifest] = monitoring.render(models[(MODEL, ENV)])
    alert = case.partition("@")[0]
    eval_time, bad, good, extra_labels, pick = CASES[case]
    [rule] = [r for r in alerts(models[(MODEL, ENV)])[alert] if pick is None or pick in r["expr"]]
    annotations = {k: v.replace("{{ $labels.feature }}", extra_labels.get("feature", "")).replace(
        "{{ $labels.predictor }}", extra_labels.get("predictor", "")) for k, v in rule["annotations"].items()}
    expected = [{"exp_labels": {**rule["labels"], **extra_labels}, "exp_annotations": annotations}]
    interval = INTERVALS.get(case, "1m")
    tests = [{"interval": interval, "input_series": series or [{"series": "unrelated", "values": "1x10"}],
              "alert_rule_test": [{"eval_time": eval_time, "alertname": alert, "exp_alerts": want}]}
             for series, want in ((bad, expected), (good, []))]
    promtool_test(tmp_path, manifest.body["spec"], tests, interval)


@needs_promtool
def test_the_drift_job_alert_waits_its_grace_after_a_deploy(models, tmp_path: Path) -> None:
    [manifest] = monitoring.render(models[(MODEL, ENV)])
    tests = [{"interval": "1m", "input_series": [{"series": "unrelated", "values": "1x100"}],
              "alert_rule_test": [{"eval_time": "70m", "alertname": "MlplatDriftJobNotReporting", "exp_alerts": []}]}]
    promtool_test(tmp_path, manifest.body["spec"], tests)


def _sample(labels: dict, value: float) -> dict:
    return {"labels": "{" + ", ".join(f'{k}="{v}"' for k, v in sorted(labels.items())) + "}", "value": value}


@needs_promtool
def test_recorded_error_ratio_is_zero_while_every_request_succeeds(models, tmp_path: Path) -> None:
    [manifest] = monitoring.render(models[(MODEL, ENV)])
    labels = {"model": MODEL, "environment": ENV, "predictor": "main"}
    tests = [{"interval": "1m", "input_series": [requests("200", 600)], "promql_expr_test": [
        {"expr": f"mlplat:request_error_ratio:rate{w}", "eval_time": "80m",
         "exp_samples": [_sample({"__name__": f"mlplat:request_error_ratio:rate{w}", **labels}, 0)]}
        for w in ("5m", "30m", "1h", "6h")]}]
    promtool_test(tmp_path, manifest.body["spec"], tests)


@needs_promtool
@pytest.mark.parametrize("series,score", [
    ([up(1), requests("200", 600)], 100),  # no drift or quality result yet: those parts count as healthy
    ([up(1), requests("200", 600), gauge("mlplat_drift_score", "0.2x30", feature="amount")], 87.5),  # at threshold
    ([up(1), requests("200", 600), quality("roc_auc", 0.85), quality("precision_at_1pct_fpr", 0.7)], 75),
    ([up(1), requests("200", 600), gauge("mlplat_drift_data_error", "1x30")], 90),
    ([up(0), requests("200", 600)], 60),  # the target is down
    # 1% of requests failing burns a 0.05% budget 20x, beyond the fast burn rate: the serving part is 0
    ([up(1), requests("200", 600), requests("500", 6)], 60),
], ids=["healthy", "drift", "quality", "bad-data", "down", "burning"])
def test_health_score_follows_its_formula(models, tmp_path: Path, series: list[dict], score: float) -> None:
    [manifest] = monitoring.render(models[(MODEL, ENV)])
    tests = [{"interval": "1m", "input_series": series, "promql_expr_test": [
        {"expr": "mlplat:model_health_score", "eval_time": "20m",
         "exp_samples": [_sample({"__name__": "mlplat:model_health_score", "model": MODEL, "environment": ENV},
                                 score)]}]}]
    promtool_test(tmp_path, manifest.body["spec"], tests)


@needs_promtool
def test_a_model_on_a_feature_service_alerts_on_feature_errors(models, tmp_path: Path) -> None:
    """chargeback-risk (prod, on chargeback_features): 2% of its requests by entity key refused fires; 0.5% does
    not; a model on no service has no such rule."""
    model = models[("chargeback-risk", "prod")]
    [manifest] = monitoring.render(model)
    [rule] = alerts(model)["MlplatFeatureErrors"]
    assert "MlplatFeatureErrors" not in alerts(models[("fraud-detector", "prod")])
    labels = 'model="chargeback-risk", environment="prod", predictor="main", version="7"'

    def series(errors_per_minute: int) -> list[dict]:
        return [{"series": f"mlplat_feature_requests_total{{{labels}}}", "values": "0+1000x40"},
                {"series": f'mlplat_feature_errors_total{{{labels}, reason="stale"}}',
                 "values": f"0+{errors_per_minute}x40"}]

    annotations = {k: v.replace("{{ $labels.predictor }}", "main") for k, v in rule["annotations"].items()}
    firing = [{"exp_labels": {**rule["labels"], "predictor": "main"}, "exp_annotations": annotations}]
    tests = [{"interval": "1m", "input_series": series(per_minute),
              "alert_rule_test": [{"eval_time": "30m", "alertname": "MlplatFeatureErrors", "exp_alerts": want}]}
             for per_minute, want in ((20, firing), (5, []))]
    promtool_test(tmp_path, manifest.body["spec"], tests)
