"""The compiler-runtime contract: what the compiler renders and the runtime reads, defined once.

The rendered rules and dashboards name the series the runtime's servers and jobs export; the canary
analysis judges with the thresholds the rendered alerts use; the runtime reads the resolved spec the
compiler writes into each model's ConfigMap. Both sides import these names from here, so a renamed
series or key is renamed on both. This module imports nothing of mlplat (tests/test_architecture.py),
and every room, the runtime included, may import it.
"""

from __future__ import annotations

import re
from typing import Any, TypedDict

# Series the model server exports on its metrics port (counters: Prometheus exposes each as <name>_total).
PREDICTIONS = "mlplat_predictions"  # predictions made
PREDICTED_CLASS = "mlplat_predicted_class"  # by class: classification
PREDICTION_SCORE_SUM = "mlplat_prediction_score_sum"  # the positive class' score: binary classification
PREDICTION_SCORE_BUCKET = "mlplat_prediction_score_bucket"  # cumulative, by le
PREDICTION_SUM = "mlplat_prediction_sum"  # regression: the mean
PREDICTION_SQUARE_SUM = "mlplat_prediction_square_sum"  # regression: the spread
FEATURE_REQUESTS = "mlplat_feature_requests"  # online feature look-ups
FEATURE_ERRORS = "mlplat_feature_errors"  # failed ones, by reason
REQUEST_FAILURES = "mlplat_request_failures"  # refused requests, by reason
EXECUTOR_REQUESTS = "seldon_api_executor_server_requests_seconds"  # Seldon's executor (and the local one), by code

# Gauges the jobs push to the Pushgateway.
DRIFT_SCORE = "mlplat_drift_score"  # by feature
QUALITY_METRIC = "mlplat_quality_metric"  # by metric
QUALITY_SIDE_ROWS = "mlplat_quality_side_rows"  # labelled predictions, by predictor and version
QUALITY_SIDE_WRONG = "mlplat_quality_side_wrong"  # wrong ones among them
CANARY_BLIND = "mlplat_canary_blind"  # 1 when the last analysis could not decide
TRAINING_FAILED = "mlplat_training_failed"  # 1 when the last training workflow did not succeed


def data_error(job: str) -> str:
    """The gauge a monitoring job (drift, quality) sets to 1 when its last run found bad data."""
    return f"mlplat_{job}_data_error"


def last_run(job: str) -> str:
    """The gauge a scheduled job (drift, quality, canary, training) sets to when it last ran."""
    return f"mlplat_{job}_last_run_timestamp_seconds"


# Shifts past which a change of the prediction distribution counts, in the drift alerts and the canary.
CLASS_SHIFT = 0.1  # total variation distance between two class-share vectors
MEAN_SHIFT = 0.5  # change of the mean prediction, in standard deviations of the reference


_DURATION_PARTS = re.compile(r"([0-9]+)([dhms])")


def duration_seconds(value: str) -> int:
    """Seconds in a spec Duration such as 1h30m (the spec language checks its form)."""
    factor = {"d": 86400, "h": 3600, "m": 60, "s": 1}
    return sum(int(n) * factor[unit] for n, unit in _DURATION_PARTS.findall(value))


# Each step's resolved spec: the JSON of the `<model>-spec` ConfigMap, written by ResolvedModel.summary()
# and read by runtime/resolved.py.
class ResolvedSummary(TypedDict):
    apiVersion: str
    kind: str
    name: str
    team: str
    environment: str
    source: str
    description: str
    owners: list[str]
    riskTier: str | None
    specHash: str
    namespace: str
    mlflowTrackingUri: str
    artifactStore: str
    trainingImage: str
    servingImage: str | None
    spec: dict[str, Any]
