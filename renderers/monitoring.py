"""Prometheus Operator: a `PrometheusRule` per deployed model and environment.

From the spec's SLOs and drift settings: multi-window burn-rate alerts on the availability SLO and
a p95 latency alert (Seldon executor metrics), a prediction-score shift alert (the serving class's
counters), drift over threshold and an absent drift job (metrics the drift job pushes), and absent
serving metrics. Every alert carries the team's routing labels. Rendered only where a version is
pinned: an undeployed model would only raise absence alerts.
"""

from __future__ import annotations

from typing import Any

from compiler.spec.resolved import ResolvedModel
from renderers.base import Manifest, model_manifest, model_metadata

REQUESTS = "seldon_api_executor_server_requests_seconds"
# (alert, severity, burn rate, long window, short window, for): the SRE workbook's multi-window pairs.
BURN_RATES = (
    ("ErrorBudgetBurnFast", "page", 14.4, "1h", "5m", "2m"),
    ("ErrorBudgetBurnSlow", "ticket", 6, "6h", "30m", "15m"),
)
SCORE_SHIFT = 0.1  # absolute change of the mean score, last hour against the last 7 days


def render(model: ResolvedModel) -> list[Manifest]:
    serving = model.spec.serving
    if serving is None or model.release is None:
        return []
    name = model.names["rules"]
    selector = f'namespace="{model.namespace}", deployment_name="{model.names["deployment"]}"'
    scores = f'namespace="{model.namespace}", model="{model.name}"'
    rules: list[dict[str, Any]] = []
    windows = sorted({w for *_, long, short, _ in BURN_RATES for w in (long, short)}, key=_seconds)
    for window in windows:
        rules.append({
            "record": f"mlplat:request_error_ratio:rate{window}",
            "expr": f'sum(rate({REQUESTS}_count{{{selector}, code=~"5.."}}[{window}])) / '
                    f"sum(rate({REQUESTS}_count{{{selector}}}[{window}]))",
            "labels": {"model": model.name, "environment": model.environment},
        })
    own = f'model="{model.name}", environment="{model.environment}"'
    if serving.slo:
        budget = round(1 - serving.slo.availability / 100, 6)
        for alert, severity, rate, long, short, duration in BURN_RATES:
            threshold = round(rate * budget, 6)
            rules.append(_alert(model, alert, severity, duration,
                                f"mlplat:request_error_ratio:rate{long}{{{own}}} > {threshold} and "
                                f"mlplat:request_error_ratio:rate{short}{{{own}}} > {threshold}",
                                f"{model.name} is spending its {serving.slo.availability}% availability budget "
                                f"{rate}x too fast",
                                f"More than {threshold:.4%} of requests failed over {long} and {short}."))
        seconds = serving.slo.latency_p95_ms / 1000
        rules.append(_alert(model, "LatencyP95High", "ticket", "10m",
                            f"histogram_quantile(0.95, sum by (le) (rate({REQUESTS}_bucket{{{selector}}}[5m]))) "
                            f"> {seconds}",
                            f"{model.name} p95 latency is above {serving.slo.latency_p95_ms} ms",
                            "The 95th percentile of request latency over 5 minutes exceeds the SLO."))
    if model.spec.task == "binary-classification":
        mean = ("sum(rate(mlplat_prediction_score_sum_total{{{s}}}[{w}])) / "
                "sum(rate(mlplat_predictions_total{{{s}}}[{w}]))")
        rules.append(_alert(model, "PredictionScoreShift", "ticket", "30m",
                            f"abs(({mean.format(s=scores, w='1h')}) - ({mean.format(s=scores, w='7d')})) "
                            f"> {SCORE_SHIFT}",
                            f"{model.name}'s mean score moved by more than {SCORE_SHIFT}",
                            "The mean predicted probability of the last hour differs from the last 7 days."))
    rules.append(_alert(model, "ServingMetricsMissing", "ticket", "15m",
                        f"absent({REQUESTS}_count{{{selector}}})",
                        f"no request metrics from {model.name}",
                        "Prometheus receives no Seldon request metrics for this deployment."))
    drift = model.spec.monitoring.drift
    if drift:
        rules.append(_alert(model, "DataDrift", "ticket", "0m",
                            f"max by (feature) (mlplat_drift_score{{{own}}}) >= {drift.threshold}",
                            f"{model.name}: feature {{{{ $labels.feature }}}} drifted",
                            f"{drift.method} score at or above {drift.threshold} on the last {drift.window}"
                            + (" ; retraining was submitted" if drift.on_drift == "retrain" else "")))
        rules.append(_alert(model, "DriftBadData", "ticket", "0m",
                            f"max(mlplat_drift_data_error{{{own}}}) > 0",
                            f"the drift job of {model.name} cannot compare its data",
                            "The last drift run found bad data (empty window, missing, renamed, all-NaN or "
                            "retyped columns); the drift pod's log lists every problem."))
        stale = 2 * cron_period_seconds(drift.schedule)
        rules.append(_alert(model, "DriftJobNotReporting", "ticket", "0m",
                            f"(time() - max(mlplat_drift_last_run_timestamp_seconds{{{own}}}) > {stale}) or "
                            f"absent(mlplat_drift_last_run_timestamp_seconds{{{own}}})",
                            f"the drift job of {model.name} has not reported",
                            f"No drift result for {stale // 3600}h (twice its schedule {drift.schedule})."))
    body = {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PrometheusRule",
        "metadata": model_metadata(model, name, labels={"prometheus": "mlplat", "role": "alert-rules"}),
        "spec": {"groups": [{"name": f"mlplat.{model.environment}.{model.name}", "rules": rules}]},
    }
    return [model_manifest(model, body)]


def _alert(model: ResolvedModel, alert: str, severity: str, duration: str, expr: str, summary: str,
           description: str) -> dict[str, Any]:
    routing = model.team_config.alerts
    annotations = {"summary": summary, "description": description}
    if routing.slack_channel:
        annotations["slack_channel"] = routing.slack_channel
    return {
        "alert": f"Mlplat{alert}",
        "expr": expr,
        "for": duration,
        "labels": {"severity": severity, "team": model.team, "receiver": routing.receiver, "model": model.name,
                   "environment": model.environment},
        "annotations": annotations,
    }


def _seconds(window: str) -> int:
    return int(window[:-1]) * {"m": 60, "h": 3600, "d": 86400}[window[-1]]


def cron_period_seconds(schedule: str) -> int:
    """A safe upper bound on the time between two runs of a cron schedule."""
    macros = {"@hourly": 3600, "@daily": 86400, "@midnight": 86400, "@weekly": 604800, "@monthly": 2678400,
              "@yearly": 31622400, "@annually": 31622400}
    if schedule in macros:
        return macros[schedule]
    minute, hour, day, month, weekday = schedule.split()
    if day != "*" or month != "*":
        return 31 * 86400
    if weekday != "*":
        return 7 * 86400
    if hour == "*":
        return 3600 if not minute.startswith("*") else 60 * int(minute.partition("/")[2] or 1)
    if hour.startswith("*/"):
        return int(hour[2:]) * 3600
    return 86400
