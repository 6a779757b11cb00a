"""Grafana dashboards: golden ConfigMap, a row of eight panels per deployed model without overlaps, every
query a valid PromQL expression over the series the rules, the serving class and kube-state-metrics produce,
and the cost panel's query evaluated by Prometheus' engine on kube-state-metrics series."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from compiler.spec.emit import to_yaml
from renderers import dashboards
from tests.conftest import REPO, check_golden

GOLDEN = REPO / "tests" / "golden" / "dashboards"
PROMTOOL = shutil.which("promtool")


def rendered(environments, env: str) -> dict[str, dict]:
    return {m.body["metadata"]["name"]: m for m in dashboards.render(environments[env])}


def board(manifest) -> dict:
    [text] = manifest.body["data"].values()
    return json.loads(text)


def test_golden(environments) -> None:
    manifest = rendered(environments, "prod")["mlplat-dashboard-payments"]
    assert manifest.path == "apps/payments/configmap-mlplat-dashboard-payments.yaml"
    check_golden(GOLDEN / "payments-prod.yaml", to_yaml(manifest.body, manifest.source))


def test_one_dashboard_per_team_with_deployed_models(environments) -> None:
    assert sorted(rendered(environments, "prod")) == ["mlplat-dashboard-growth", "mlplat-dashboard-payments"]
    assert sorted(rendered(environments, "staging")) == ["mlplat-dashboard-payments"]
    assert rendered(environments, "dev") == {}  # nothing deployed in dev
    metadata = rendered(environments, "prod")["mlplat-dashboard-growth"].body["metadata"]
    assert metadata["namespace"] == "ml-growth-prod" and metadata["labels"]["grafana_dashboard"] == "1"


def test_a_row_of_eight_panels_per_model_without_overlaps(environments) -> None:
    dashboard = board(rendered(environments, "prod")["mlplat-dashboard-payments"])
    panels = dashboard["panels"]
    rows = [p["title"] for p in panels if p["type"] == "row"]
    assert rows == ["chargeback-risk (version 4, candidate 5)", "fraud-detector (version 12, candidate 13)"]
    assert [p["title"] for p in panels if p["type"] != "row"] == [
        "Health", "Traffic", "Latency", "Error ratio", "Score distribution", "Drift", "Live quality", "Cost"] * 2
    assert [p["id"] for p in panels] == list(range(1, len(panels) + 1))
    cells = set()
    for panel in panels:
        grid = panel["gridPos"]
        assert grid["x"] + grid["w"] <= 24
        area = {(x, y) for x in range(grid["x"], grid["x"] + grid["w"])
                for y in range(grid["y"], grid["y"] + grid["h"])}
        assert not cells & area, panel["title"]
        cells |= area


def test_panels_follow_the_spec(environments) -> None:
    panels = board(rendered(environments, "prod")["mlplat-dashboard-payments"])["panels"]
    fraud = {p["title"]: p for p in panels[9:]}
    assert fraud["Latency"]["fieldConfig"]["defaults"]["thresholds"]["steps"][1]["value"] == 0.05
    assert fraud["Error ratio"]["fieldConfig"]["defaults"]["thresholds"]["steps"][1]["value"] == 0.0005
    assert fraud["Drift"]["fieldConfig"]["defaults"]["thresholds"]["steps"][1]["value"] == 0.2
    assert fraud["Drift"]["targets"][0]["expr"] == (
        'max by (feature) (mlplat_drift_score{model="fraud-detector", environment="prod"})')
    assert fraud["Live quality"]["description"] == "roc_auc gate 0.92"
    assert fraud["Traffic"]["targets"][0]["legendFormat"] == "{{predictor}} {{code}}"  # main and canary apart
    chargeback = {p["title"]: p for p in panels[1:8]}
    assert chargeback["Drift"]["targets"] == []  # no drift job: the panel says so in its description
    assert chargeback["Live quality"]["targets"] == []
    growth = board(rendered(environments, "prod")["mlplat-dashboard-growth"])["panels"]
    assert growth[5]["title"] == "Score distribution" and growth[5]["type"] == "heatmap"


def all_queries(environments) -> list[str]:
    return [t["expr"] for env in ("staging", "prod") for manifest in dashboards.render(environments[env])
            for panel in board(manifest)["panels"] for t in panel.get("targets", [])]


@pytest.mark.skipif(PROMTOOL is None, reason="promtool is absent (Debian's prometheus package; .ci/run installs it)")
def test_every_query_is_valid_promql(environments, tmp_path: Path) -> None:
    queries = all_queries(environments)
    assert len(queries) >= 20
    # promtool parses expressions in rule files; Grafana's $__rate_interval becomes a plain range.
    rules = [{"record": f"dashboard:query{i}", "expr": q.replace("$__rate_interval", "5m")}
             for i, q in enumerate(queries)]
    path = tmp_path / "queries.yaml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}))
    result = subprocess.run([PROMTOOL, "check", "rules", str(path)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_queries_read_series_that_exist(environments) -> None:
    # Recorded by the PrometheusRule, exported by Seldon or the serving class, or pushed by the jobs.
    known = ("seldon_api_executor_server_requests_seconds_", "mlplat:request_error_ratio:rate",
             "mlplat:request_latency_seconds:", "mlplat:model_health_score", "mlplat_prediction_score_bucket_total",
             "mlplat_predictions_total", "mlplat_drift_score", "mlplat_quality_metric",
             "kube_pod_container_resource_requests")
    for query in all_queries(environments):
        assert any(series in query for series in known), query


@pytest.mark.skipif(PROMTOOL is None, reason="promtool is absent (Debian's prometheus package; .ci/run installs it)")
def test_the_cost_panel_prices_the_model_pods_requests_by_their_labels(environments, tmp_path: Path) -> None:
    """Two serving pods and a training pod of fraud-detector, and a pod of another model in the same namespace:
    Prometheus' engine (promtool) evaluates each component's query to the formula over its own pods."""
    panels = board(rendered(environments, "prod")["mlplat-dashboard-payments"])["panels"]
    fraud = {p["title"]: p for p in panels[9:]}
    queries = {t["legendFormat"]: t["expr"] for t in fraud["Cost"]["targets"]}
    assert sorted(queries) == ["serving", "training"]
    assert fraud["Cost"]["fieldConfig"]["defaults"]["unit"] == "currencyUSD"
    namespace = "ml-payments-prod"
    series = []

    def pod(name: str, model: str, component: str, requests: dict[str, float]) -> None:
        series.append({"series": f'kube_pod_labels{{namespace="{namespace}", pod="{name}", '
                                 f'label_mlplat_io_model="{model}", label_mlplat_io_component="{component}"}}',
                       "values": "1x10"})
        for resource, amount in requests.items():
            series.append({"series": f'kube_pod_container_resource_requests{{namespace="{namespace}", pod="{name}", '
                                     f'container="main", resource="{resource}"}}', "values": f"{amount}x10"})

    pod("fraud-main-0", "fraud-detector", "serving", {"cpu": 2, "memory": 4 * 2**30})
    pod("fraud-main-1", "fraud-detector", "serving", {"cpu": 2, "memory": 4 * 2**30})
    pod("fraud-train", "fraud-detector", "training", {"cpu": 16, "memory": 128 * 2**30, "nvidia_com_gpu": 2})
    pod("chargeback-0", "chargeback-risk", "serving", {"cpu": 8, "memory": 64 * 2**30})
    expected = {"serving": 730 * (4 * 0.042 + 8 * 0.0053),  # the cluster's CPU prices
                "training": 730 * (16 * 0.042 + 128 * 0.0053 + 2 * 9.80)}  # the h100 pool's
    # 1 where the query is within a millionth of the formula's value: promtool compares samples exactly
    tests = [{"interval": "1m", "input_series": series, "promql_expr_test": [
        {"expr": f"abs(({queries[c]}) - {v!r}) < bool 1e-6", "eval_time": "5m",
         "exp_samples": [{"labels": "{}", "value": 1}]} for c, v in expected.items()]}]
    path = tmp_path / "cost_test.yaml"
    path.write_text(yaml.safe_dump({"rule_files": [], "evaluation_interval": "1m", "tests": tests}))
    result = subprocess.run([PROMTOOL, "test", "rules", str(path)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
