"""The PodMonitor per team namespace: golden output, what it selects, and that its relabelling gives
the series exactly the labels the rules and panels select on."""

from __future__ import annotations

import json
import re

from compiler.spec.emit import to_yaml
from renderers import dashboards, monitoring, scraping, seldon
from tests.conftest import REPO, check_golden

GOLDEN = REPO / "tests" / "golden" / "scraping"


def test_golden(environments) -> None:
    manifests = scraping.render(environments["prod"])
    assert [m.path for m in manifests] == ["apps/growth/podmonitor-mlplat-serving.yaml",
                                           "apps/payments/podmonitor-mlplat-serving.yaml"]
    check_golden(GOLDEN / "payments-prod.yaml", to_yaml(manifests[1].body, manifests[1].source))
    assert scraping.render(environments["dev"]) == []  # nothing served in dev


def test_it_selects_the_serving_pods_and_scrapes_both_metrics_ports(environments, models) -> None:
    [_, payments] = scraping.render(environments["prod"])
    spec = payments.body["spec"]
    [selector] = spec["selector"]["matchExpressions"]
    # by port name: the executor's 8000 and the model server's 6000 are both named `metrics`; canaries every
    # 10 s (the analysis sees a bad one's failures within seconds), everything else every 30 s
    endpoints = spec["podMetricsEndpoints"]
    assert [(e["port"], e["path"], e["interval"]) for e in endpoints] == [
        ("metrics", seldon.METRICS_PATH, "30s"), ("metrics", seldon.METRICS_PATH, "10s")]
    [deployment] = seldon.render(models[("fraud-detector", "prod")])
    predictors = deployment.body["spec"]["predictors"]
    assert {p["name"] for p in predictors} == {"main", "canary"}
    for predictor in predictors:
        labels = predictor["componentSpecs"][0]["metadata"]["labels"]
        assert labels[selector["key"]] in selector["values"]
        scraped_by = [e["interval"] for e in endpoints if _selects(e["relabelings"][0], labels)]
        assert scraped_by == (["10s"] if predictor["name"] == "canary" else ["30s"])  # exactly once
        relabelled = {r["targetLabel"]: labels[_pod_label(r["sourceLabels"][0], labels)]
                      for r in endpoints[0]["relabelings"][1:]}
        assert relabelled == {"model": "fraud-detector", "environment": "prod", "team": "payments",
                              "predictor": predictor["name"], "version": labels["mlplat.io/version"]}
    sink = {"mlplat.io/component": "prediction-log", "mlplat.io/team": "payments"}
    assert [e["interval"] for e in endpoints if _selects(e["relabelings"][0], sink)] == ["30s"]


def _selects(rule: dict, labels: dict[str, str]) -> bool:
    """Prometheus' keep or drop on one source label (its regex anchored), on a pod's labels."""
    [meta] = rule["sourceLabels"]
    value = next((v for k, v in labels.items() if scraping.meta_label(k) == meta), "")
    matches = re.fullmatch(rule["regex"], value) is not None
    return matches if rule["action"] == "keep" else not matches


def _pod_label(meta: str, labels: dict[str, str]) -> str:
    [name] = [k for k in labels if scraping.meta_label(k) == meta]
    return name


def test_rules_and_panels_select_only_labels_the_scrape_gives(environments, models) -> None:
    given = set(scraping.TARGET_LABELS) | {"namespace", "pod", "container", "endpoint", "job", "instance"}
    # labels of the series themselves: Seldon's (code, le, ...), mlplat's counters' and the jobs' pushes
    own = {"code", "le", "feature", "metric", "class", "method", "service"}
    # kube-state-metrics' (the cost panel): the requested resource, and the pod labels it exports
    own |= {"resource", "label_mlplat_io_model", "label_mlplat_io_component"}
    exprs = [r["expr"] for m in models.values() for manifest in monitoring.render(m)
             for r in manifest.body["spec"]["groups"][0]["rules"]]
    exprs += [t["expr"] for env in ("staging", "prod") for manifest in dashboards.render(environments[env])
              for panel in json.loads(next(iter(manifest.body["data"].values())))["panels"]
              for t in panel.get("targets", [])]
    assert len(exprs) > 50
    for expr in exprs:
        for label in re.findall(r'([a-z_]+)=~?"', expr):
            assert label in given | own, (label, expr)
