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
    [endpoint] = spec["podMetricsEndpoints"]
    # one endpoint by port name: the executor's 8000 and the model server's 6000 are both named `metrics`
    assert endpoint["port"] == "metrics" and endpoint["path"] == seldon.METRICS_PATH
    [deployment] = seldon.render(models[("fraud-detector", "prod")])
    for predictor in deployment.body["spec"]["predictors"]:
        labels = predictor["componentSpecs"][0]["metadata"]["labels"]
        assert labels[selector["key"]] in selector["values"]
        relabelled = {r["targetLabel"]: labels[_pod_label(r["sourceLabels"][0], labels)]
                      for r in endpoint["relabelings"]}
        assert relabelled == {"model": "fraud-detector", "environment": "prod", "team": "payments",
                              "predictor": predictor["name"], "version": labels["mlplat.io/version"]}


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
