"""The Seldon Core (1.x) Python model class: `seldon-core-microservice runtime.serving.MlplatModel`.

    model.py            MlplatModel: loading, answering, counting (seldon-core's hooks)
    request_rows.py     a request's rows checked: shape, feature names and order, finite values
    online_features.py  features read online by entity key from the feature server
    counts.py           the prediction counters, summed between hand-overs to Seldon
    seldon_hooks.py     seldon-core's metrics store patched where it is slow; BadRequest

It loads the model directory that the register step logged (the storage initializer puts it at
`model_uri`, /mnt/models by default), checks its digest, and answers Seldon protocol requests:

    POST /api/v1.0/predictions  {"data": {"names": [...features], "ndarray": [[...], ...]}}

A model trained on a feature service also takes its entity keys instead of its features, when
MLPLAT_FEATURE_SERVER_URL names the environment's Feast feature server (the pod's `features` container)
and MLPLAT_FEATURE_DEFINITIONS the rendered definitions.json (MLPLAT_FEATURE_SERVICE: the service):

    {"data": {"names": ["customer_id"], "ndarray": [[1], [2]]}}

The features are read online for each entity (runtime/serving/online_features.py). A request that
sends the keys and the features too has them checked against the online values. A missing entity, a
stale value, an unreachable server and a sent value that differs are errors (400, or 503 for the two
that are the platform's), counted as mlplat_feature_errors_total{reason=...} beside
mlplat_feature_requests_total; nothing is filled in by default.

Bad requests get HTTP 400 with a message naming what is wrong; the server keeps serving. A fault of the
model itself (an exception in predict, an output that is not a finite number) is the server's: 500,
reason MLPLAT_MODEL_ERROR or MLPLAT_MODEL_NON_FINITE. Every refused request is counted by its reason
as mlplat_request_failures_total{reason=...}, so both sides of a canary can be compared by why they
failed. Each response carries the model name and version as tags, and feeds custom metrics the monitoring rules
read on the metrics port (/prometheus), by output: mlplat_predictions_total always; for probabilities
mlplat_prediction_score_sum_total and cumulative mlplat_prediction_score_bucket_total{le=...} (a score
histogram; Seldon 1.x has no histogram type for custom metrics); for class probabilities
mlplat_predicted_class_total{class=...}; for values mlplat_prediction_sum_total and
mlplat_prediction_square_sum_total (mean and spread). The series carry no model or version label of
their own: the PodMonitor's relabelling adds model, environment, predictor and version from the pod's
labels, and a label of the series with the same name would be renamed exported_<name>. Set
INCLUDE_METRICS_IN_CLIENT_RESPONSE=false (the renderer and `mlplat serve` do) so that clients do not
receive them.

Requests go through `predict_raw`, which skips Seldon's generic payload conversions. Two costs
dominate seldon-core's wrapper for small models (see benchmarks/serving): every request updates the
worker's metrics through a multiprocessing manager (IPC round-trips, even with nothing to record),
and torch's intra-op threads fight the other workers for the cores. So metrics are summed here and
handed to Seldon at most every MLPLAT_METRICS_FLUSH_SECONDS (default 1), requests with nothing to
record skip the IPC, and torch runs MLPLAT_TORCH_THREADS threads (default 1) per worker. A thread per
worker hands over what is left once traffic stops, so no count waits for a next request.
"""

from runtime.serving.model import MlplatModel
from runtime.serving.seldon_hooks import BadRequest

__all__ = ["BadRequest", "MlplatModel"]
