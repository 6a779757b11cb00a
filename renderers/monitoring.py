"""Prometheus Operator: a `PrometheusRule` per deployed model and environment.

Every expression selects on the labels the team's PodMonitor gives the scraped series (model,
environment, predictor; renderers/scraping.py) or that the drift and quality jobs push with their
results (model, environment), never on labels only some scrape configs add. Recording rules, per
predictor so that main and canary can be compared: the 5xx ratio of requests over each burn-rate
window (0, not empty, while every request succeeds), and p50/p95/p99 latency; per model, a health
score (0-100, docs/monitoring.md). Alerts: multi-window burn rates on the availability SLO, latency
over each SLO percentile, a shift of the prediction distribution (score, class shares or mean, by
task), the serving target down or absent, drift over threshold, live quality missing a gate, bad
data and silent jobs. Every alert carries the team's routing labels. Rendered only where a version
is pinned: an undeployed model would only raise absence alerts.
"""

from __future__ import annotations

from typing import Any

from compiler.runtime_contract import (
    CANARY_BLIND,
    CLASS_SHIFT,
    DRIFT_SCORE,
    EXECUTOR_REQUESTS,
    FEATURE_ERRORS,
    FEATURE_REQUESTS,
    MEAN_SHIFT,
    PREDICTED_CLASS,
    PREDICTION_SCORE_SUM,
    PREDICTION_SQUARE_SUM,
    PREDICTION_SUM,
    PREDICTIONS,
    QUALITY_METRIC,
    data_error,
    last_run,
)
from compiler.spec.model import BUILTIN_METRICS, Gate
from compiler.spec.resolved import ResolvedModel
from renderers import canary
from renderers.base import Manifest, model_manifest, model_metadata

BY = "model, environment, predictor"
FEATURE_ERROR_RATIO = 0.01  # of requests by entity key whose features could not be served
# (alert, severity, burn rate, long window, short window, for): the SRE workbook's multi-window pairs.
BURN_RATES = (
    ("ErrorBudgetBurnFast", "page", 14.4, "1h", "5m", "2m"),
    ("ErrorBudgetBurnSlow", "ticket", 6, "6h", "30m", "15m"),
)
LATENCY_QUANTILES = (50, 95, 99)
SCORE_SHIFT = 0.1  # absolute change of the mean score, last hour against the last 7 days
# Health score weights (docs/monitoring.md): SLO and liveness, drift, live quality, data errors.
HEALTH_WEIGHTS = {"serving": 0.4, "drift": 0.25, "quality": 0.25, "data": 0.1}


def error_ratio(window: str) -> str:
    return f"mlplat:request_error_ratio:rate{window}"


def latency(quantile: int) -> str:
    return f"mlplat:request_latency_seconds:p{quantile}_5m"


HEALTH = "mlplat:model_health_score"


def own(model: ResolvedModel) -> str:
    """The label matchers of one model's series in one environment."""
    return f'model="{model.name}", environment="{model.environment}"'


def render(model: ResolvedModel) -> list[Manifest]:
    if model.spec.serving is None or model.release is None:
        return []
    rules = [*_recording_rules(model), *_serving_alerts(model), *_shift_alerts(model),
             *_drift_alerts(model), *_quality_alerts(model), *_canary_alerts(model)]
    body = {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PrometheusRule",
        "metadata": model_metadata(model, model.names.rules, labels={"prometheus": "mlplat", "role": "alert-rules"}),
        "spec": {"groups": [{"name": f"mlplat.{model.environment}.{model.name}", "rules": rules}]},
    }
    return [model_manifest(model, body)]


def _recording_rules(model: ResolvedModel) -> list[dict[str, Any]]:
    sel = own(model)
    rules: list[dict[str, Any]] = []
    for window in sorted({w for *_, long, short, _ in BURN_RATES for w in (long, short)}, key=_seconds):
        requests = f"sum by ({BY}) (rate({EXECUTOR_REQUESTS}_count{{{sel}}}[{window}]))"
        failed = f'sum by ({BY}) (rate({EXECUTOR_REQUESTS}_count{{{sel}, code=~"5.."}}[{window}]))'
        # No 5xx series exists until a request fails: `or ... * 0` makes the ratio 0 rather than empty.
        rules.append({"record": error_ratio(window), "expr": f"({failed} or {requests} * 0) / {requests}"})
    for quantile in LATENCY_QUANTILES:
        rules.append({"record": latency(quantile),
                      "expr": f"histogram_quantile(0.{quantile}, sum by ({BY}, le) "
                              f"(rate({EXECUTOR_REQUESTS}_bucket{{{sel}}}[5m])))"})
    rules.append({"record": HEALTH, "expr": health_expression(model),
                  "labels": {"model": model.name, "environment": model.environment}})
    return rules


def health_expression(model: ResolvedModel) -> str:
    """100 x the weighted sum of four parts in [0, 1]; a part without data or settings counts as 1."""
    sel = own(model)
    slo = model.serving.slo
    up = f"(max(up{{{sel}}}) or vector(0))"
    serving = up
    if slo:
        budget = round(1 - slo.availability / 100, 6)
        fast = BURN_RATES[0][2]
        # `>= 0` drops the NaN an hour without requests records (0/0), so an idle model counts as healthy.
        serving = (f"{up} * (clamp(1 - max({error_ratio('1h')}{{{sel}}} >= 0) / {round(budget * fast, 6)}, 0, 1) "
                   "or vector(1))")
    parts = {"serving": serving}
    drift = model.spec.monitoring.drift
    parts["drift"] = (f"(clamp(1.5 - max({DRIFT_SCORE}{{{sel}}}) / {drift.threshold}, 0, 1) or vector(1))"
                      if drift else "vector(1)")
    gates = quality_gates(model)
    parts["quality"] = " * ".join(
        f"(min({QUALITY_METRIC}{{{sel}, metric=\"{g.metric}\"}} {_passes(g)}) or vector(1))" for g in gates
    ) if gates else "vector(1)"
    errors = [f"(max({data_error(job)}{{{sel}}}) or vector(0))" for job in ("drift", "quality")
              if getattr(model.spec.monitoring, job)]
    parts["data"] = f"(1 - clamp_max({' + '.join(errors)}, 1))" if errors else "vector(1)"
    return "100 * (" + " + ".join(f"{HEALTH_WEIGHTS[k]} * {v}" for k, v in parts.items()) + ")"


def _passes(gate: Gate) -> str:
    return f">= bool {gate.min}" if gate.min is not None else f"<= bool {gate.max}"


def quality_gates(model: ResolvedModel) -> list[Gate]:
    """The evaluation gates live quality is judged by: those bounding (min or max) a metric the quality job
    computes, the task's built-in ones; a metric only the training code logs has no live value."""
    if model.spec.monitoring.quality is None:
        return []
    builtin = BUILTIN_METRICS[model.spec.task]
    return [g for g in model.spec.evaluation.gates if (g.min is not None or g.max is not None) and g.metric in builtin]


def _serving_alerts(model: ResolvedModel) -> list[dict[str, Any]]:
    sel = own(model)
    slo = model.serving.slo
    rules = []
    if slo:
        budget = round(1 - slo.availability / 100, 6)
        for alert, severity, rate, long, short, duration in BURN_RATES:
            threshold = round(rate * budget, 6)
            rules.append(alert_rule(model, alert, severity, duration,
                                f"{error_ratio(long)}{{{sel}}} > {threshold} and "
                                f"{error_ratio(short)}{{{sel}}} > {threshold}",
                                f"{model.name} ({{{{ $labels.predictor }}}}) is spending its {slo.availability}% "
                                f"availability budget {rate}x too fast",
                                f"More than {threshold:.4%} of requests failed over {long} and {short}."))
        targets = {50: slo.latency_p50_ms, 95: slo.latency_p95_ms, 99: slo.latency_p99_ms}
        for quantile, target in targets.items():
            if target is None:
                continue
            rules.append(alert_rule(model, f"LatencyP{quantile}High", "ticket", "10m",
                                f"{latency(quantile)}{{{sel}}} > {target / 1000}",
                                f"{model.name} ({{{{ $labels.predictor }}}}) p{quantile} latency is above {target} ms",
                                f"The {quantile}th percentile of request latency over 5 minutes exceeds the SLO."))
    if model.served_features:
        rules.append(alert_rule(model, "FeatureErrors", "ticket", "10m",
                            f"sum by ({BY}) (rate({FEATURE_ERRORS}_total{{{sel}}}[10m])) / sum by ({BY}) "
                            f"(rate({FEATURE_REQUESTS}_total{{{sel}}}[10m])) > {FEATURE_ERROR_RATIO}",
                            f"{model.name} ({{{{ $labels.predictor }}}}) cannot read the features of more than "
                            f"{FEATURE_ERROR_RATIO:.0%} of its requests by entity key",
                            "Entities missing from the online store, values past their TTL (materialisation is "
                            "behind), the feature server unreachable, or sent features that differ from the "
                            "online ones: the reason label of mlplat_feature_errors_total says which."))
    rules.append(alert_rule(model, "ServingMetricsMissing", "ticket", "10m",
                        f"max by ({BY}) (up{{{sel}}}) == 0 or absent(up{{{sel}}})",
                        f"{model.name} is not scraped",
                        "Every metrics target of this predictor is down, or Prometheus has no target for the "
                        "model at all: the pods are gone, or the PodMonitor no longer selects them."))
    return rules


def _shift_alerts(model: ResolvedModel) -> list[dict[str, Any]]:
    """A shift of what the model predicts, last hour against the last 7 days, by its kind of output."""
    sel = own(model)
    task = model.spec.task

    def rate(series: str, window: str, by: str = "") -> str:
        return f"sum{f' by ({by})' if by else ''} (rate({series}{{{sel}}}[{window}]))"

    if task == "binary-classification":
        mean = {w: f"{rate(f'{PREDICTION_SCORE_SUM}_total', w)} / {rate(f'{PREDICTIONS}_total', w)}"
                for w in ("1h", "7d")}
        return [alert_rule(model, "PredictionScoreShift", "ticket", "30m",
                       f"abs(({mean['1h']}) - ({mean['7d']})) > {SCORE_SHIFT}",
                       f"{model.name}'s mean score moved by more than {SCORE_SHIFT}",
                       "The mean predicted probability of the last hour differs from the last 7 days.")]
    if task == "multiclass-classification":
        share = {w: f"{rate(f'{PREDICTED_CLASS}_total', w, 'class')} / "
                    f"scalar({rate(f'{PREDICTIONS}_total', w)})" for w in ("1h", "7d")}
        return [alert_rule(model, "PredictedClassShift", "ticket", "30m",
                       f"0.5 * sum(abs(({share['1h']}) - ({share['7d']}))) > {CLASS_SHIFT}",
                       f"{model.name}'s predicted class shares moved",
                       f"The total variation distance between the predicted class shares of the last hour and "
                       f"the last 7 days is above {CLASS_SHIFT}.")]
    if task in ("regression", "forecasting"):
        n = {w: rate(f"{PREDICTIONS}_total", w) for w in ("1h", "7d")}
        mean = {w: f"({rate(f'{PREDICTION_SUM}_total', w)} / {n[w]})" for w in ("1h", "7d")}
        squares = rate(f"{PREDICTION_SQUARE_SUM}_total", "7d")
        spread = f"sqrt(clamp_min({squares} / {n['7d']} - {mean['7d']} ^ 2, 0))"
        return [alert_rule(model, "PredictionMeanShift", "ticket", "30m",
                       f"abs({mean['1h']} - {mean['7d']}) > {MEAN_SHIFT} * {spread}",
                       f"{model.name}'s mean prediction moved",
                       f"The mean prediction of the last hour is more than {MEAN_SHIFT} standard deviations of "
                       "the last 7 days away from theirs.")]
    return []


def _drift_alerts(model: ResolvedModel) -> list[dict[str, Any]]:
    drift = model.spec.monitoring.drift
    if drift is None:
        return []
    sel = own(model)
    return [
        alert_rule(model, "DataDrift", "ticket", "0m",
               f"max by (feature) ({DRIFT_SCORE}{{{sel}}}) >= {drift.threshold}",
               f"{model.name}: feature {{{{ $labels.feature }}}} drifted",
               f"{drift.method} score at or above {drift.threshold} on the last {drift.window}"
               + (" ; retraining was submitted" if drift.on_drift == "retrain" else "")),
        alert_rule(model, "DriftBadData", "ticket", "0m", f"max({data_error('drift')}{{{sel}}}) > 0",
               f"the drift job of {model.name} cannot compare its data",
               "The last drift run found bad data (empty window, missing, renamed, all-NaN or retyped columns); "
               "the drift pod's log lists every problem."),
        _silent_job(model, "drift", drift.schedule),
    ]


def _quality_alerts(model: ResolvedModel) -> list[dict[str, Any]]:
    quality = model.spec.monitoring.quality
    if quality is None:
        return []
    sel = own(model)
    rules = []
    for gate in quality_gates(model):
        bound, word = (f"< {gate.min}", f"below {gate.min}") if gate.min is not None else (f"> {gate.max}",
                                                                                           f"above {gate.max}")
        rules.append(alert_rule(model, "QualityBelowGate", "ticket", "0m",
                            f'{QUALITY_METRIC}{{{sel}, metric="{gate.metric}"}} {bound}',
                            f"{model.name}: live {gate.metric} is {word}",
                            f"On labelled traffic of the last {quality.window} "
                            f"(labels due after {quality.labels.delay}) "
                            f"{gate.metric} misses the evaluation gate"
                            + (" ; retraining was submitted" if quality.on_degradation == "retrain" else "")))
    rules.append(alert_rule(model, "QualityBadData", "ticket", "0m", f"max({data_error('quality')}{{{sel}}}) > 0",
                        f"the quality job of {model.name} cannot judge its data",
                        "The last quality run found no labels, no match between labels and logged predictions, "
                        "duplicate ids or too few rows; the quality pod's log lists every problem."))
    rules.append(_silent_job(model, "quality", quality.schedule))
    return rules


def _canary_alerts(model: ResolvedModel) -> list[dict[str, Any]]:
    """While a canary rolls out: its analysis holds blind (no answer from Prometheus, or no canary in it),
    or has stopped reporting. Either way nothing steps the canary up, and nothing rolls it back."""
    release, rollout = model.release, model.serving.rollout
    if release is None or release.candidate is None or rollout.strategy != "canary":
        return []
    cron, _, every = canary.schedule(rollout.analysis.interval)
    return [
        alert_rule(model, "CanaryAnalysisBlind", "ticket", f"{max(2 * every // 60, 1)}m",
               f"max({CANARY_BLIND}{{{own(model)}}}) == 1",
               f"the canary analysis of {model.name} is blind",
               "Prometheus did not answer the analysis, or has no canary target: the canary holds its share, and "
               "is neither stepped up nor rolled back until the analysis sees again (its pod's log says why)."),
        _silent_job(model, "canary", cron),
    ]


def _silent_job(model: ResolvedModel, job: str, schedule: str) -> dict[str, Any]:
    """No result for twice the schedule's period; after a deploy (no result yet) it waits one period and a
    margin, so that the job's first run can report before anyone is told it has not."""
    sel = own(model)
    period = cron_period_seconds(schedule)
    stale = 2 * period
    grace = f"{(period + 900) // 60}m"
    series = f"{last_run(job)}{{{sel}}}"
    return alert_rule(model, f"{job.capitalize()}JobNotReporting", "ticket", grace,
                  f"(time() - max({series}) > {stale}) or absent({series})",
                  f"the {job} job of {model.name} has not reported",
                  f"No {job} result for {_hours_or_minutes(stale)} (twice its schedule {schedule}), "
                  "or none since the deploy.")


def _hours_or_minutes(seconds: int) -> str:
    return f"{seconds // 3600}h" if seconds >= 3600 else f"{seconds // 60}m"


def alert_rule(model: ResolvedModel, alert: str, severity: str, duration: str, expr: str, summary: str,
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
