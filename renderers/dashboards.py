"""Grafana: one dashboard per team and environment, as a ConfigMap Grafana's sidecar loads.

A row per deployed model with its health score, traffic, latency against the SLO, error ratio against
the error budget (each per predictor: main, canary, shadow), the prediction distribution (score
buckets for binary classifiers, predicted classes for multiclass, mean for values), the drift score
per feature against its threshold, live quality against the gates, and what the model's pods cost.
The queries read the same series and recording rules the PrometheusRule alerts on, with the same labels,
so what pages someone is what they see. The cost panel reads kube-state-metrics: the resources its pods
request, joined by the labels every mlplat pod carries (mlplat.io/model, mlplat.io/component; kube-state-
metrics must export them: --metric-labels-allowlist=pods=[mlplat.io/model,mlplat.io/component]), priced
with platform.yaml's prices of the pool each component runs on, as a monthly rate.
"""

from __future__ import annotations

import json
from typing import Any

from compiler.runtime_contract import (
    DRIFT_SCORE,
    EXECUTOR_REQUESTS,
    PREDICTED_CLASS,
    PREDICTION_SCORE_BUCKET,
    PREDICTION_SUM,
    PREDICTIONS,
    QUALITY_METRIC,
)
from compiler.spec.platform import Prices
from compiler.spec.resolved import ResolvedEnvironment, ResolvedModel
from compiler.spec.schedules import HOURS_PER_MONTH
from renderers.base import TEAM_APPS_DIR, Manifest, served_by_team
from renderers.monitoring import HEALTH, LATENCY_QUANTILES, error_ratio, latency, own, quality_gates

# The Grafana Helm chart's sidecar loads ConfigMaps with this label, and files them into the folder
# the annotation names when `sidecar.dashboards.folderAnnotation` is set to it.
SIDECAR_LABEL = ("grafana_dashboard", "1")
FOLDER_ANNOTATION = "grafana_folder"
DATASOURCE = {"type": "prometheus", "uid": "${datasource}"}
SCHEMA_VERSION = 39
REQUESTS_SERIES = "kube_pod_container_resource_requests"  # kube-state-metrics, one series per container
POD_LABELS_SERIES = "kube_pod_labels"


def render(environment: ResolvedEnvironment) -> list[Manifest]:
    return [_config_map(environment, team, models) for team, models in served_by_team(environment).items()]


def _config_map(environment: ResolvedEnvironment, team: str, models: list[ResolvedModel]) -> Manifest:
    env = environment.env.name
    name = f"mlplat-dashboard-{team}"
    body = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": name,
            "namespace": models[0].namespace,
            "labels": {"app.kubernetes.io/part-of": "mlplat", "app.kubernetes.io/managed-by": "mlplat",
                       "mlplat.io/team": team, "mlplat.io/environment": env, SIDECAR_LABEL[0]: SIDECAR_LABEL[1]},
            "annotations": {FOLDER_ANNOTATION: f"mlplat {env}"},
        },
        "data": {f"{name}.json": json.dumps(dashboard(env, team, models, environment.platform.spec.currency),
                                            indent=2, sort_keys=True) + "\n"},
    }
    sources = ", ".join(sorted({m.source for m in models}))
    return Manifest(f"{TEAM_APPS_DIR}/{team}/configmap-{name}.yaml", body, sources)


def dashboard(env: str, team: str, models: list[ResolvedModel], currency: str) -> dict[str, Any]:
    panels: list[dict[str, Any]] = []
    for model in models:
        panels += _model_panels(model, currency, first_id=len(panels) + 1, top=_row_top(panels))
    return {
        "uid": f"mlplat-{env}-{team}"[:40],  # Grafana allows at most 40 characters
        "title": f"mlplat: {team} models ({env})",
        "tags": ["mlplat", team, env],
        "timezone": "utc",
        "editable": False,
        "schemaVersion": SCHEMA_VERSION,
        "time": {"from": "now-24h", "to": "now"},
        "refresh": "1m",
        "templating": {"list": [{"name": "datasource", "label": "Prometheus", "type": "datasource",
                                 "query": "prometheus"}]},
        "panels": panels,
    }


def _row_top(panels: list[dict[str, Any]]) -> int:
    return max((p["gridPos"]["y"] + p["gridPos"]["h"] for p in panels), default=0)


def _model_panels(model: ResolvedModel, currency: str, first_id: int, top: int) -> list[dict[str, Any]]:
    assert model.spec.serving is not None
    slo = model.serving.slo
    sel = own(model)
    drift = model.spec.monitoring.drift
    gates = quality_gates(model)
    panels = [
        _panel("timeseries", "Health", "health score 0-100 (docs/monitoring.md)", [("health", f"{HEALTH}{{{sel}}}")],
               extra={"fieldConfig": {"defaults": {"min": 0, "max": 100}, "overrides": []}}),
        _panel("timeseries", "Traffic", "requests per second by predictor and HTTP status",
               [("{{predictor}} {{code}}", f"sum by (predictor, code) (rate({EXECUTOR_REQUESTS}_count{{{sel}}}[5m]))")],
               unit="reqps"),
        _panel("timeseries", "Latency", f"SLO p95: {slo.latency_p95_ms} ms" if slo else "no latency SLO",
               [(f"{{{{predictor}}}} p{q}", f"{latency(q)}{{{sel}}}") for q in LATENCY_QUANTILES], unit="s",
               threshold=slo.latency_p95_ms / 1000 if slo else None),
        _panel("timeseries", "Error ratio", f"5xx share; budget {100 - slo.availability:.3g}%" if slo else "5xx share",
               [("{{predictor}} 5m", f"{error_ratio('5m')}{{{sel}}}"),
                ("{{predictor}} 1h", f"{error_ratio('1h')}{{{sel}}}")],
               unit="percentunit", threshold=round(1 - slo.availability / 100, 6) if slo else None),
        _predictions_panel(model),
        _panel("timeseries", "Drift", f"{drift.method} per feature; drifted at {drift.threshold}" if drift
               else "no drift job for this model",
               [("{{feature}}", f"max by (feature) ({DRIFT_SCORE}{{{sel}}})")] if drift else [],
               threshold=drift.threshold if drift else None),
        _panel("timeseries", "Live quality", ", ".join(f"{g.metric} gate {g.min if g.min is not None else g.max}"
                                                      for g in gates) if gates else "no quality job for this model",
               [("{{metric}}", f"{QUALITY_METRIC}{{{sel}}}")] if gates else []),
        _cost_panel(model, currency),
    ]
    layout = [(0, 1, 6), (6, 1, 6), (12, 1, 6), (18, 1, 6), (0, 9, 6), (6, 9, 6), (12, 9, 6), (18, 9, 6)]  # x, y, w
    row = {"type": "row", "title": f"{model.name} ({_versions(model)})", "collapsed": False,
           "gridPos": {"x": 0, "y": top, "w": 24, "h": 1}, "id": first_id, "panels": []}
    out = [row]
    for index, (panel, (x, y, width)) in enumerate(zip(panels, layout, strict=True), start=1):
        out.append({**panel, "id": first_id + index, "gridPos": {"x": x, "y": top + y, "w": width, "h": 8}})
    return out


def _predictions_panel(model: ResolvedModel) -> dict[str, Any]:
    sel = own(model)
    if model.spec.task == "binary-classification":
        return _panel("heatmap", "Score distribution", "share of predictions per score bucket",
                      [("{{le}}", f"sum by (le) (increase({PREDICTION_SCORE_BUCKET}_total{{{sel}}}"
                                  "[$__rate_interval]))")],
                      extra={"options": {"calculate": False, "yAxis": {"unit": "percentunit"}}}, heatmap=True)
    if model.spec.task == "multiclass-classification":
        return _panel("timeseries", "Predicted classes", "share of predictions per class",
                      [("class {{class}}", f"sum by (class) (rate({PREDICTED_CLASS}_total{{{sel}}}[5m])) / "
                                           f"scalar(sum(rate({PREDICTIONS}_total{{{sel}}}[5m])))")],
                      unit="percentunit")
    if model.spec.task in ("regression", "forecasting"):
        return _panel("timeseries", "Mean prediction", "mean predicted value by predictor",
                      [("{{predictor}}", f"sum by (predictor) (rate({PREDICTION_SUM}_total{{{sel}}}[5m])) / "
                                         f"sum by (predictor) (rate({PREDICTIONS}_total{{{sel}}}[5m]))")])
    return _panel("timeseries", "Predictions", "predictions per second by predictor",
                  [("{{predictor}}", f"sum by (predictor) (rate({PREDICTIONS}_total{{{sel}}}[5m]))")],
                  unit="ops")


def _cost_panel(model: ResolvedModel, currency: str) -> dict[str, Any]:
    spec = model.spec
    components = {"serving": spec.serving.resources.gpu_type if spec.serving else None,
                  "training": spec.training.resources.gpu_type}
    if spec.scoring is not None:
        components["scoring"] = None
    priced = {c: model.cluster.prices_for(gpu_type) for c, gpu_type in components.items()}
    queries = [(component, cost_query(model, component, prices, gpu_resource(model, component)))
               for component, prices in priced.items() if prices is not None]
    unpriced = [c for c, prices in priced.items() if prices is None]
    return _panel("timeseries", "Cost", f"monthly rate of the pods' requests now ({currency}, platform.yaml's prices)"
                  + (f"; unpriced: {', '.join(unpriced)}" if unpriced else ""), queries, unit=f"currency{currency}")


def gpu_resource(model: ResolvedModel, component: str) -> str:
    """kube-state-metrics' name of the GPU resource a component requests (nvidia.com/gpu: nvidia_com_gpu)."""
    resources = model.serving.resources if component == "serving" and model.spec.serving else \
        model.spec.training.resources
    pool = model.cluster.gpu_pools.get(resources.gpu_type or "")
    return (pool.resource_name if pool else "nvidia.com/gpu").replace(".", "_").replace("/", "_")


def cost_query(model: ResolvedModel, component: str, prices: Prices, gpu: str) -> str:
    """PromQL: the component's pods' requested resources now, times their hourly prices, times hours a month."""
    pods = (f'max by (namespace, pod) ({POD_LABELS_SERIES}{{namespace="{model.namespace}", '
            f'label_mlplat_io_model="{model.name}", label_mlplat_io_component="{component}"}})')

    def requested(resource: str) -> str:
        # `or vector(0)`: a resource no pod requests (GPUs of a CPU model, or no pod running) adds nothing
        return (f'(sum({REQUESTS_SERIES}{{namespace="{model.namespace}", resource="{resource}"}} '
                f"* on (namespace, pod) group_left () {pods}) or vector(0))")

    terms = [f"{requested('cpu')} * {prices.cpu_core_hour:g}",
             f"{requested('memory')} / {2**30} * {prices.memory_gib_hour:g}"]
    if prices.gpu_hour:
        terms.append(f"{requested(gpu)} * {prices.gpu_hour:g}")
    return f"{HOURS_PER_MONTH:g} * ({' + '.join(terms)})"


def _versions(model: ResolvedModel) -> str:
    release = model.release
    assert release is not None
    return f"version {release.version}" + (f", candidate {release.candidate.version}" if release.candidate else "")


def _panel(kind: str, title: str, description: str, queries: list[tuple[str, str]], unit: str | None = None,
           threshold: float | None = None, extra: dict[str, Any] | None = None,
           heatmap: bool = False) -> dict[str, Any]:
    defaults: dict[str, Any] = {}
    if unit:
        defaults["unit"] = unit
    if threshold is not None:
        defaults["thresholds"] = {"mode": "absolute", "steps": [{"color": "green", "value": None},
                                                                {"color": "red", "value": threshold}]}
        defaults["custom"] = {"thresholdsStyle": {"mode": "line"}}
    targets = [{"refId": chr(ord("A") + i), "datasource": DATASOURCE, "expr": expr, "legendFormat": legend,
                **({"format": "heatmap"} if heatmap else {})}
               for i, (legend, expr) in enumerate(queries)]
    return {"type": kind, "title": title, "description": description, "datasource": DATASOURCE,
            "fieldConfig": {"defaults": defaults, "overrides": []}, "targets": targets, **(extra or {})}
