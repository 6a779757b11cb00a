"""Drift results to a Prometheus Pushgateway, where the PrometheusRule's drift alerts read them.

Grouped by job `mlplat-drift`, model and environment, so the pushed series carry those labels. A
result replaces the group (PUT); a bad-data run only sets `mlplat_drift_data_error` (POST), so the
last good scores and timestamp stay and the job-not-reporting alert still measures real results.
"""

from __future__ import annotations

import time

from compiler.runtime_contract import DRIFT_SCORE, data_error, last_run
from runtime.drift.detect import DriftResult

JOB = "mlplat-drift"


def push_result(gateway: str, model: str, environment: str, result: DriftResult, now: float | None = None) -> None:
    from prometheus_client import CollectorRegistry, Gauge, push_to_gateway

    registry = CollectorRegistry()
    score = Gauge(DRIFT_SCORE, f"Per-feature drift score ({result.method})", ["feature"],
                  registry=registry)
    for feature in result.features:
        score.labels(feature=feature.feature).set(feature.score)
    Gauge("mlplat_drift_threshold", "Score at which a feature counts as drifted", registry=registry).set(
        result.threshold)
    Gauge("mlplat_drift_share", "Share of monitored features that drifted", registry=registry).set(result.share)
    Gauge("mlplat_drift_detected", "1 when any monitored feature drifted", registry=registry).set(
        int(result.drifted))
    Gauge("mlplat_drift_current_rows", "Rows in the compared window", registry=registry).set(result.current_rows)
    Gauge(data_error("drift"), "1 when the last run found bad data", registry=registry).set(0)
    Gauge(last_run("drift"), "When the last drift result was computed",
          registry=registry).set(time.time() if now is None else now)
    push_to_gateway(gateway, job=JOB, registry=registry, grouping_key=_group(model, environment), timeout=10)


def push_bad_data(gateway: str, model: str, environment: str) -> None:
    from prometheus_client import CollectorRegistry, Gauge, pushadd_to_gateway

    registry = CollectorRegistry()
    Gauge(data_error("drift"), "1 when the last run found bad data", registry=registry).set(1)
    pushadd_to_gateway(gateway, job=JOB, registry=registry, grouping_key=_group(model, environment), timeout=10)


def _group(model: str, environment: str) -> dict[str, str]:
    return {"model": model, "environment": environment}
