"""Prometheus Operator: a `PodMonitor` per team namespace, scraping the pods that serve its models.

It selects the Seldon pods (and the team's prediction-log sink) by mlplat's component label and
scrapes every container port named `metrics` at /prometheus: the executor's (8000: requests, codes,
latency) and the model server's (6000: mlplat's prediction counters). Its relabelling copies the
pods' mlplat labels onto every series as `model`, `environment`, `team`, `predictor` (main, canary,
shadow) and `version`, the labels every rule and panel selects on (renderers/monitoring.py,
renderers/dashboards.py); the series themselves carry none of these names, so nothing is renamed
to exported_*. The Operator adds `namespace`, `pod`, `container` and `endpoint` as it always does.

Two endpoints share the port: canary predictors are scraped every CANARY_SCRAPE_INTERVAL, everything
else every SCRAPE_INTERVAL. The canary analysis judges the canary on what Prometheus has seen of it,
so a bad canary's first failures reach the analysis within seconds, and a short interval there costs
little (a canary is one small predictor, and only while it rolls out).
"""

from __future__ import annotations

from typing import Any

from compiler.spec.resolved import ResolvedEnvironment
from renderers.base import TEAM_APPS_DIR, Manifest, served_by_team
from renderers.seldon import COMPONENT_LABEL, METRICS_PATH, PREDICTOR_LABEL, VERSION_LABEL

NAME = "mlplat-serving"
SCRAPE_INTERVAL = "30s"
CANARY_SCRAPE_INTERVAL = "10s"
CANARY = "canary"
# target label <- pod label
TARGET_LABELS = {
    "model": "mlplat.io/model",
    "environment": "mlplat.io/environment",
    "team": "mlplat.io/team",
    "predictor": PREDICTOR_LABEL,
    "version": VERSION_LABEL,
}


def meta_label(pod_label: str) -> str:
    """The discovery label Prometheus gives a pod label (every character outside [a-zA-Z0-9_] becomes _)."""
    return "__meta_kubernetes_pod_label_" + "".join(c if c.isalnum() or c == "_" else "_" for c in pod_label)


def render(environment: ResolvedEnvironment) -> list[Manifest]:
    manifests = []
    for team, models in served_by_team(environment).items():
        first = models[0]
        body = {
            "apiVersion": "monitoring.coreos.com/v1",
            "kind": "PodMonitor",
            "metadata": {"name": NAME, "namespace": first.namespace,
                         "labels": {"app.kubernetes.io/part-of": "mlplat", "app.kubernetes.io/managed-by": "mlplat",
                                    "mlplat.io/team": team, "mlplat.io/environment": first.environment,
                                    "prometheus": "mlplat"}},
            "spec": {
                "selector": {"matchExpressions": [{"key": COMPONENT_LABEL, "operator": "In",
                                                   "values": ["prediction-log", "serving"]}]},
                "podMetricsEndpoints": [_endpoint(SCRAPE_INTERVAL, "drop"), _endpoint(CANARY_SCRAPE_INTERVAL, "keep")],
            },
        }
        sources = ", ".join(sorted({m.source for m in models}))
        manifests.append(Manifest(f"{TEAM_APPS_DIR}/{team}/podmonitor-{NAME}.yaml", body, sources))
    return manifests


def _endpoint(interval: str, canaries: str) -> dict[str, Any]:
    """The `metrics` port every `interval`, of the canary predictors' pods (`canaries` keep) or of all others
    (drop), with the labels every rule selects on."""
    select = {"action": canaries, "sourceLabels": [meta_label(PREDICTOR_LABEL)], "regex": CANARY}
    return {
        "port": "metrics",
        "path": METRICS_PATH,
        "interval": interval,
        "relabelings": [select, *({"action": "replace", "sourceLabels": [meta_label(pod_label)], "targetLabel": target}
                                  for target, pod_label in TARGET_LABELS.items())],
    }
