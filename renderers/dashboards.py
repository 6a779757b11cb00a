"""Grafana: one dashboard per team and environment, as a ConfigMap Grafana's sidecar loads.

A row per deployed model with its health score, traffic, latency against the SLO, error ratio against
the error budget (each per predictor: main, canary, shadow), the prediction distribution (score
buckets for binary classifiers, predicted classes for multiclass, mean for values), the drift score
per feature against its threshold and live quality against the gates. The queries read the same
series and recording rules the PrometheusRule alerts on, with the same labels, so what pages someone
is what they see.
"""

from __future__ import annotations

import json
from typing import Any

from compiler.spec.resolved import ResolvedEnvironment, ResolvedModel
from renderers.base import TEAM_APPS_DIR, Manifest, served_by_team
from renderers.monitoring import HEALTH, LATENCY_QUANTILES, REQUESTS, error_ratio, latency, own, quality_gates

# The Grafana Helm chart's sidecar loads ConfigMaps with this label, and files them into the folder
# the annotation names when `sidecar.dashboards.folderAnnotation` is set to it.
SIDECAR_LABEL = ("grafana_dashboard", "1")
FOLDER_ANNOTATION = "grafana_folder"
DATASOURCE = {"type": "prometheus", "uid": "${datasource}"}
SCHEMA_VERSION = 39


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
        "data": {f"{name}.json": json.dumps(dashboard(env, team, models), indent=2, sort_keys=True) + "\n"},
    }
    sources = ", ".join(sorted({m.source for m in models}))
    return Manifest(f"{TEAM_APPS_DIR}/{team}/configmap-{name}.yaml", body, sources)


def dashboard(env: str, team: str, models: list[ResolvedModel]) -> dict[str, Any]:
    panels: list[dict[str, Any]] = []
    for model in models:
        panels += _model_panels(model, first_id=len(panels) + 1, top=_row_top(panels))
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


def _model_panels(model: ResolvedModel, first_id: int, top: int) -> list[dict[str, Any]]:
    assert model.spec.serving is not None
    slo = model.spec.serving.slo
    sel = own(model)
    drift = model.spec.monitoring.drift
    gates = quality_gates(model)
    panels = [
        _panel("timeseries", "Health", "health score 0-100 (docs/monitoring.md)", [("health", f"{HEALTH}{{{sel}}}")],
               extra={"fieldConfig": {"defaults": {"min": 0, "max": 100}, "overrides": []}}),
        _panel("timeseries", "Traffic", "requests per second by predictor and HTTP status",
               [("{{predictor}} {{code}}", f"sum by (predictor, code) (rate({REQUESTS}_count{{{sel}}}[5m]))")],
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
               [("{{feature}}", f"max by (feature) (mlplat_drift_score{{{sel}}})")] if drift else [],
               threshold=drift.threshold if drift else None),
        _panel("timeseries", "Live quality", ", ".join(f"{g.metric} gate {g.min if g.min is not None else g.max}"
                                                      for g in gates) if gates else "no quality job for this model",
               [("{{metric}}", f"mlplat_quality_metric{{{sel}}}")] if gates else []),
    ]
    layout = [(0, 1, 6), (6, 1, 6), (12, 1, 6), (18, 1, 6), (0, 9, 8), (8, 9, 8), (16, 9, 8)]  # (x, y, width)
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
                      [("{{le}}", f"sum by (le) (increase(mlplat_prediction_score_bucket_total{{{sel}}}"
                                  "[$__rate_interval]))")],
                      extra={"options": {"calculate": False, "yAxis": {"unit": "percentunit"}}}, heatmap=True)
    if model.spec.task == "multiclass-classification":
        return _panel("timeseries", "Predicted classes", "share of predictions per class",
                      [("class {{class}}", f"sum by (class) (rate(mlplat_predicted_class_total{{{sel}}}[5m])) / "
                                           f"scalar(sum(rate(mlplat_predictions_total{{{sel}}}[5m])))")],
                      unit="percentunit")
    if model.spec.task in ("regression", "forecasting"):
        return _panel("timeseries", "Mean prediction", "mean predicted value by predictor",
                      [("{{predictor}}", f"sum by (predictor) (rate(mlplat_prediction_sum_total{{{sel}}}[5m])) / "
                                         f"sum by (predictor) (rate(mlplat_predictions_total{{{sel}}}[5m]))")])
    return _panel("timeseries", "Predictions", "predictions per second by predictor",
                  [("{{predictor}}", f"sum by (predictor) (rate(mlplat_predictions_total{{{sel}}}[5m]))")],
                  unit="ops")


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
