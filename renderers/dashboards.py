"""Grafana: one dashboard per team and environment, as a ConfigMap Grafana's sidecar loads.

A row per deployed model with traffic, latency against the SLO, error ratio against the error
budget, the score distribution (binary classifiers; others show predictions per second) and the
drift score per feature against its threshold. The queries read the same series the PrometheusRule
alerts on, so what pages someone is what they see.
"""

from __future__ import annotations

import json
from typing import Any

from compiler.spec.resolved import ResolvedEnvironment, ResolvedModel
from renderers.base import TEAM_APPS_DIR, Manifest
from renderers.monitoring import REQUESTS

# The Grafana Helm chart's sidecar loads ConfigMaps with this label, and files them into the folder
# the annotation names when `sidecar.dashboards.folderAnnotation` is set to it.
SIDECAR_LABEL = ("grafana_dashboard", "1")
FOLDER_ANNOTATION = "grafana_folder"
DATASOURCE = {"type": "prometheus", "uid": "${datasource}"}
SCHEMA_VERSION = 39


def render(environment: ResolvedEnvironment) -> list[Manifest]:
    manifests = []
    for team in environment.teams:
        models = [m for m in environment.models if m.team == team and m.spec.serving and m.release]
        if models:
            manifests.append(_config_map(environment, team, sorted(models, key=lambda m: m.name)))
    return manifests


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
    selector = f'namespace="{model.namespace}", deployment_name="{model.names["deployment"]}"'
    own = f'model="{model.name}", environment="{model.environment}"'
    scores = f'namespace="{model.namespace}", model="{model.name}"'
    latency = [(f"p{q}", f"histogram_quantile(0.{q}, sum by (le) (rate({REQUESTS}_bucket{{{selector}}}[5m])))")
               for q in (50, 95, 99)]
    if model.spec.task == "binary-classification":
        fifth = _panel("heatmap", "Score distribution", "share of predictions per score bucket",
                       [("{{le}}", f"sum by (le) (increase(mlplat_prediction_score_bucket_total{{{scores}}}"
                                   "[$__rate_interval]))")],
                       extra={"options": {"calculate": False, "yAxis": {"unit": "percentunit"}}}, heatmap=True)
    else:
        fifth = _panel("timeseries", "Predictions", "predictions per second by version",
                       [("version {{version}}", f"sum by (version) (rate(mlplat_predictions_total{{{scores}}}[5m]))")],
                       unit="ops")
    drift = model.spec.monitoring.drift
    panels = [
        _panel("timeseries", "Traffic", "requests per second by HTTP status",
               [("{{code}}", f"sum by (code) (rate({REQUESTS}_count{{{selector}}}[5m]))")], unit="reqps"),
        _panel("timeseries", "Latency", f"SLO p95: {slo.latency_p95_ms} ms" if slo else "no latency SLO",
               latency, unit="s", threshold=slo.latency_p95_ms / 1000 if slo else None),
        _panel("timeseries", "Error ratio", f"5xx share; budget {100 - slo.availability:.3g}%" if slo else "5xx share",
               [("5m", f"mlplat:request_error_ratio:rate5m{{{own}}}"),
                ("1h", f"mlplat:request_error_ratio:rate1h{{{own}}}")],
               unit="percentunit", threshold=round(1 - slo.availability / 100, 6) if slo else None),
        fifth,
        _panel("timeseries", "Drift", f"{drift.method} per feature; drifted at {drift.threshold}" if drift
               else "no drift job for this model",
               [("{{feature}}", f"max by (feature) (mlplat_drift_score{{{own}}})")] if drift else [],
               threshold=drift.threshold if drift else None),
    ]
    layout = [(0, 1, 8), (8, 1, 8), (16, 1, 8), (0, 9, 12), (12, 9, 12)]  # (x, y below the row, width)
    row = {"type": "row", "title": f"{model.name} ({_versions(model)})", "collapsed": False,
           "gridPos": {"x": 0, "y": top, "w": 24, "h": 1}, "id": first_id, "panels": []}
    out = [row]
    for index, (panel, (x, y, width)) in enumerate(zip(panels, layout, strict=True), start=1):
        out.append({**panel, "id": first_id + index, "gridPos": {"x": x, "y": top + y, "w": width, "h": 8}})
    return out


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
