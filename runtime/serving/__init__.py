"""The Seldon Core (1.x) Python model class: `seldon-core-microservice runtime.serving.MlplatModel`.

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

from __future__ import annotations

import math
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from compiler.contract import (
    FEATURE_ERRORS,
    FEATURE_REQUESTS,
    PREDICTED_CLASS,
    PREDICTION_SCORE_BUCKET,
    PREDICTION_SCORE_SUM,
    PREDICTION_SQUARE_SUM,
    PREDICTION_SUM,
    PREDICTIONS,
    REQUEST_FAILURES,
)
from runtime import artifact
from runtime.serving.online_features import MISMATCH, MISSING, FeatureLookupError, OnlineFeatures, epoch_seconds

MAX_ROWS = 10_000
# Larger bodies get 413 before they are read (MLPLAT_MAX_REQUEST_BYTES); 10,000 rows of 100 features fit.
MAX_REQUEST_BYTES = 16 * 1024 * 1024
FLOAT32_MAX = 3.4028234663852886e38  # a PyTorch program computes in float32: larger values become inf
SCORE_BUCKETS = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)
_seldon_metrics: Any = None  # seldon-core's SeldonMetrics of this process, once made (None outside seldon-core)
_update_lock = threading.Lock()  # the flush thread and request threads hand counts over one at a time
# The HTTP status of each feature error: the client's own (400), or the platform's, worth a retry (503)
FEATURE_ERROR_STATUS = {MISSING: 400, MISMATCH: 400}
# A model fault is the server's error (500), whatever the rows: an exception in predict, or output that is
# not a finite number. Both sides of a canary see the same requests, so the analysis compares every failure.
MODEL_ERROR, MODEL_NON_FINITE = "MLPLAT_MODEL_ERROR", "MLPLAT_MODEL_NON_FINITE"
FEATURE_READY_SECONDS = 120  # how long load() waits for the pod's feature server to answer its first lookup


def _update_if_any(store: Any, custom_metrics: list, method: str) -> None:
    """SeldonMetrics.update, serialised, and skipped for nothing to record (seldon-core 1.18 pays two IPC
    round-trips even for an empty list). Its read-modify-write of the worker's counters spans two locks
    of its own, so two concurrent hand-overs could lose one: ours serialises them."""
    global _seldon_metrics
    _seldon_metrics = store  # the worker's store, for the flush thread (MlplatModel.flush_idle)
    if custom_metrics and _seldon_update is not None:
        with _update_lock:
            _seldon_update(store, custom_metrics, method)


try:  # present in the serving image; the class is also importable (and testable) without it
    from seldon_core.flask_utils import SeldonMicroserviceException as BadRequest
    from seldon_core.metrics import SeldonMetrics

    _seldon_update = SeldonMetrics.update
    SeldonMetrics.update = _update_if_any
    _seldon_init = SeldonMetrics.__init__

    def _remember_store(store: Any, *args: Any, **kwargs: Any) -> None:
        """The store known from its making (before the workers fork), so that a refused request's counts can
        be handed over before any request has succeeded."""
        global _seldon_metrics
        _seldon_init(store, *args, **kwargs)
        _seldon_metrics = store

    SeldonMetrics.__init__ = _remember_store
except ImportError:  # pragma: no cover - exercised only outside the serving environment
    _seldon_update = None

    class BadRequest(Exception):  # type: ignore[no-redef]
        def __init__(self, message: str, status_code: int = 400, reason: str = "MICROSERVICE_BAD_DATA"):
            super().__init__(message)
            self.message, self.status_code, self.reason = message, status_code, reason


class MlplatModel:
    def __init__(self, model_uri: str = "/mnt/models", *, clock: Callable[[], float] = time.monotonic, **_: Any):
        self.model_uri = Path(model_uri)
        self.name = os.environ.get("MLPLAT_MODEL_NAME", "model")
        self.version = os.environ.get("MLPLAT_MODEL_VERSION", "unknown")
        self.expected_sha256 = os.environ.get("MLPLAT_ARTIFACT_SHA256")
        self.flush_seconds = float(os.environ.get("MLPLAT_METRICS_FLUSH_SECONDS", "1"))
        self.model: artifact.LoadedModel | None = None
        self._pending = _Counts()
        self._lock = threading.Lock()
        self._flusher_pid: int | None = None  # the process whose flush thread runs (threads do not survive fork)
        # None until the first flush: monotonic() counts from boot, so a start of 0.0 tied the first
        # flush to the machine's uptime (nothing was handed over on a host up for less than flush_seconds)
        self._flushed_at: float | None = None
        self._clock = clock  # injectable, so that tests decide when a flush is due
        self.online: OnlineFeatures | None = None  # the feature server, for requests by entity key

    def load(self) -> None:
        """Called by Seldon once per worker; refuses an artifact whose digest is not the pinned one, and
        refuses to serve at all without a pinned digest to check it against."""
        if not self.expected_sha256:
            raise RuntimeError("MLPLAT_ARTIFACT_SHA256 is not set: no pinned digest to check the artifact at "
                               f"{self.model_uri} against, so it is not served")
        actual = artifact.digest(self.model_uri)
        if actual != self.expected_sha256:
            raise RuntimeError(f"model artifact at {self.model_uri} has sha256 {actual}, "
                               f"but version {self.version} pins {self.expected_sha256}")
        if self._framework() == "pytorch":
            import torch

            torch.set_num_threads(int(os.environ.get("MLPLAT_TORCH_THREADS", "1")))
        self.model = artifact.load(self.model_uri)
        self.online = _online_features(self.model.features)
        self._tags = {"model": self.name, "version": self.version}  # response tags, not metric labels

    def _framework(self) -> str:
        return artifact.load_meta(self.model_uri)["framework"]

    # -- Seldon hooks --------------------------------------------------------------------------
    def predict_raw(self, request: Any) -> Any:
        if self.model is None:
            self.load()
        if self.flush_seconds > 0 and self._flusher_pid != os.getpid():
            self._start_flusher()  # before anything can fail: a refused request's counts must reach Seldon too
        if hasattr(request, "DESCRIPTOR"):  # gRPC: a SeldonMessage (protobuf)
            from seldon_core.utils import json_to_seldon_message, seldon_message_to_json

            return json_to_seldon_message(self._counted(seldon_message_to_json(request)))
        return self._counted(request)

    def _counted(self, request: Any) -> dict[str, Any]:
        """The answer; a refusal is counted by its reason (mlplat_request_failures_total) before it is raised."""
        try:
            return self._answer(request)
        except BadRequest as refused:
            self._count_failure(getattr(refused, "reason", "MICROSERVICE_BAD_DATA"))
            raise

    def _answer(self, request: Any) -> dict[str, Any]:
        if not isinstance(request, dict):
            raise BadRequest(f"the request is a JSON {_json_kind(request)}; it must be an object such as "
                             '{"data": {"names": [...], "ndarray": [[...]]}}')
        rows, served = self._rows(request)
        try:
            scores = self.model.predict(rows)
        except Exception as exc:  # noqa: BLE001 - the model's fault, not the request's: a 500 that says so
            raise BadRequest(f"the model failed on these rows: {type(exc).__name__}: {str(exc)[:300]}",
                             status_code=500, reason=MODEL_ERROR) from None
        values = scores.tolist()
        flat = scores.reshape(-1) if hasattr(scores, "reshape") else values
        if not all(math.isfinite(v) for v in flat):  # NaN is not JSON, and would poison the score sum
            raise BadRequest("the model's output for these rows is not a finite number; the rows were valid "
                             "(finite, of the model's features), so this is the model's fault",
                             status_code=500, reason=MODEL_NON_FINITE)
        meta: dict[str, Any] = {"tags": dict(self._tags)}
        if served:  # the features read online: the prediction log records them as it records sent ones
            meta["tags"]["features"] = {"names": self.model.features, "ndarray": rows}
        with self._lock:
            self._pending.add(scores, self.model.meta["output"])
            metrics = self._take(self._clock(), force=self._flushed_at is None)
        if metrics:
            meta["metrics"] = metrics
        return {"data": {"names": self._output_names(scores), "ndarray": values}, "meta": meta}

    def _count_failure(self, reason: str) -> None:
        """A refused request counted by reason; handed to Seldon now when a flush is due (no response carries
        it), else by the flush thread."""
        with self._lock:
            self._pending.failures[reason] = self._pending.failures.get(reason, 0) + 1
            metrics = self._take(self._clock(), force=self._flushed_at is None) if _seldon_metrics is not None else []
        if metrics:
            _update_if_any(_seldon_metrics, metrics, "predict")

    def _take(self, now: float, force: bool = False) -> list[dict[str, Any]]:
        """The counts to hand over when a flush is due (or forced), emptied; [] otherwise. Under the lock."""
        if not force and now - (self._flushed_at or 0.0) < self.flush_seconds:
            return []
        metrics = self._pending.metrics()
        self._pending = _Counts()
        self._flushed_at = now
        return metrics

    def flush_idle(self) -> bool:
        """Hand counts over to Seldon that no request has carried for flush_seconds; whether any went."""
        if _seldon_metrics is None:  # no store made yet (outside seldon-core)
            return False
        with self._lock:
            metrics = self._take(self._clock()) if self._pending.any() else []
        if metrics:
            _update_if_any(_seldon_metrics, metrics, "predict")  # the method tag the wrapper gives them
        return bool(metrics)

    def _refuse_features(self, error: FeatureLookupError) -> BadRequest:
        """The request's error, counted as a feature error (and, once raised, as a refused request)."""
        with self._lock:
            self._pending.feature_errors[error.reason] = self._pending.feature_errors.get(error.reason, 0) + 1
        return BadRequest(error.message, status_code=FEATURE_ERROR_STATUS.get(error.reason, 503),
                          reason=f"MLPLAT_FEATURES_{error.reason.upper()}")

    def _start_flusher(self) -> None:
        self._flusher_pid = os.getpid()

        def loop() -> None:
            while True:
                time.sleep(self.flush_seconds)
                self.flush_idle()

        threading.Thread(target=loop, name="mlplat-metrics-flush", daemon=True).start()

    def init_metadata(self) -> dict[str, Any]:
        features = artifact.load_meta(self.model_uri)["features"]
        return {
            "name": self.name,
            "versions": [self.version],
            "platform": "mlplat",
            "inputs": [{"messagetype": "ndarray", "schema": {"names": features, "shape": [len(features)]}}],
            "outputs": [{"messagetype": "ndarray", "schema": {"shape": [1]}}],
        }

    @property
    def model_error_handler(self) -> Any:
        """A Flask blueprint that seldon-core registers on its REST app: a limit on the body's size, and a
        400 rather than Seldon's catch-all 500 for bodies too large or nested too deeply to read."""
        from flask import Blueprint, jsonify

        blueprint = Blueprint("mlplat", __name__)
        limit = int(os.environ.get("MLPLAT_MAX_REQUEST_BYTES", MAX_REQUEST_BYTES))

        def answer(status: int, message: str) -> Any:
            response = jsonify(BadRequest(message, status_code=status).to_dict())
            response.status_code = status
            return response

        @blueprint.record_once
        def _limit_body(state: Any) -> None:
            state.app.config["MAX_CONTENT_LENGTH"] = limit

        @blueprint.app_errorhandler(413)
        def _too_large(_: Exception) -> Any:
            return answer(413, f"the request body is larger than {limit:,} bytes (MLPLAT_MAX_REQUEST_BYTES)")

        @blueprint.app_errorhandler(RecursionError)
        def _too_deep(_: Exception) -> Any:
            return answer(400, "the request nests too deeply to be read")

        return blueprint

    def health_status(self) -> dict[str, Any]:
        if self.model is None:
            raise BadRequest("model not loaded", status_code=503, reason="MICROSERVICE_NOT_READY")
        return {"model": self.name, "version": self.version}

    # -- request checks ------------------------------------------------------------------------
    def _rows(self, request: dict[str, Any]) -> tuple[list[list[float]], bool]:
        """The model's rows, and whether their features were read online (the request named entity keys)."""
        data = request.get("data")
        if not isinstance(data, dict):
            raise BadRequest('request needs "data" with "ndarray" or "tensor", e.g. '
                             '{"data": {"names": [...], "ndarray": [[...]]}}')
        features = self.model.features
        if "ndarray" in data:
            rows = data["ndarray"]
        elif "tensor" in data:
            rows = _tensor_rows(data["tensor"])
        else:
            raise BadRequest('"data" has neither "ndarray" nor "tensor"')
        if not isinstance(rows, list) or not rows:
            raise BadRequest("no rows to predict: data.ndarray must be a non-empty list of rows")
        if len(rows) > MAX_ROWS:
            raise BadRequest(f"{len(rows)} rows in one request; at most {MAX_ROWS}")
        names = data.get("names")
        if self.online is not None and isinstance(names, list) and any(k in names for k in self.online.keys):
            return self._served_rows(names, rows)
        order = None
        if names:
            if not isinstance(names, list) or sorted(map(str, names)) != sorted(features) or len(names) != len(
                    features):
                missing = [f for f in features if f not in (names or [])]
                unknown = [n for n in (names or []) if n not in features]
                raise BadRequest(f"feature names do not match the model's {len(features)} features"
                                 + (f"; missing: {', '.join(missing)}" if missing else "")
                                 + (f"; unknown: {', '.join(map(str, unknown))}" if unknown else ""))
            if names != features:
                order = [names.index(f) for f in features]
        width = len(features)
        for index, row in enumerate(rows):
            if not isinstance(row, list) or len(row) != width:
                got = len(row) if isinstance(row, list) else type(row).__name__
                raise BadRequest(f"row {index} has {got} values; the model takes {width} features "
                                 f"({', '.join(features[:3])}, ...)")
        self._check_finite(rows)
        if order is not None:
            rows = [[row[i] for i in order] for row in rows]
        return rows, False

    def _check_finite(self, rows: list[list[Any]]) -> None:
        limit = FLOAT32_MAX if self.model.meta["framework"] == "pytorch" else math.inf
        for index, row in enumerate(rows):
            for value in row:
                if not _finite_within(value, limit):
                    shown = repr(value) if not isinstance(value, int) or abs(value) < 10**30 else "a huge integer"
                    raise BadRequest(f"row {index} holds {shown}; every feature must be a finite number"
                                     + (" within float32's range" if limit < math.inf else ""))

    def _served_rows(self, names: list[Any], rows: list[Any]) -> tuple[list[list[Any]], bool]:
        """The model's rows for a request naming entity keys: the features read online, or (where the
        request sends them too) the sent ones, once they are checked against the online values; and
        whether they are the online ones (the request did not send them)."""
        online, features = self.online, self.model.features
        keys = list(online.keys)
        if not all(isinstance(n, str) for n in names):
            raise BadRequest("data.names must be strings: entity keys and feature names")
        sent = [n for n in names if n not in keys]
        absent = [k for k in keys if k not in names]
        if absent or len(set(names)) != len(names) or (sent and sorted(map(str, sent)) != sorted(features)):
            unknown = [str(n) for n in sent if n not in features]
            raise BadRequest(f"name the entity keys ({', '.join(keys)}), alone or with all {len(features)} features"
                             + (f"; missing keys: {', '.join(absent)}" if absent else "")
                             + (f"; unknown: {', '.join(unknown)}" if unknown else "")
                             + (f"; missing features: {', '.join(f for f in features if f not in sent)}"
                                if sent and not unknown else ""))
        for index, row in enumerate(rows):
            if not isinstance(row, list) or len(row) != len(names):
                got = len(row) if isinstance(row, list) else type(row).__name__
                raise BadRequest(f"row {index} has {got} values; the request names {len(names)}")
        entities = {k: [row[names.index(k)] for row in rows] for k in keys}
        try:
            online.check_keys(entities)
        except ValueError as exc:
            raise BadRequest(str(exc)) from None
        with self._lock:
            self._pending.feature_requests += 1
        order = [online.features.index(f) for f in features]  # the service's order -> the model's
        try:
            served = [[row[i] for i in order] for row in online.lookup(entities)]
            if sent:
                online.compare(entities, features, [[row[names.index(f)] for f in features] for row in rows], served)
        except FeatureLookupError as exc:
            raise self._refuse_features(exc) from None
        self._check_finite(served)
        return served, not sent

    def _output_names(self, scores: Any) -> list[str]:
        output = self.model.meta["output"]
        if output == "probability":
            return ["probability"]
        if output == "class-probabilities":
            return [f"class_{i}" for i in range(scores.shape[1])]
        return ["prediction"]



class _Counts:
    """Prediction counters summed between two hand-overs to Seldon."""

    def __init__(self) -> None:
        self.predictions = 0
        self.score_sum = 0.0
        self.buckets = [0] * len(SCORE_BUCKETS)
        self.classes: dict[int, int] = {}
        self.value_sum = 0.0
        self.square_sum = 0.0
        self.output = ""
        self.feature_requests = 0  # requests whose features were read online
        self.feature_errors: dict[str, int] = {}  # of them, refused, by reason
        self.failures: dict[str, int] = {}  # refused requests, by reason

    def any(self) -> bool:
        return bool(self.predictions or self.feature_requests or self.feature_errors or self.failures)

    def add(self, scores: Any, output: str) -> None:
        import numpy as np

        values = np.asarray(scores, dtype=np.float64)
        self.output = output
        if output == "class-probabilities":
            predicted = values.reshape(len(values), -1).argmax(axis=1)
            self.predictions += len(predicted)
            for label, count in zip(*np.unique(predicted, return_counts=True), strict=True):
                self.classes[int(label)] = self.classes.get(int(label), 0) + int(count)
            return
        flat = values.reshape(-1)
        self.predictions += len(flat)
        if output == "probability":
            self.score_sum += float(flat.sum())
            for index, bound in enumerate(SCORE_BUCKETS):
                self.buckets[index] += int((flat <= bound).sum())
        else:
            self.value_sum += float(flat.sum())
            self.square_sum += float(np.square(flat).sum())

    def metrics(self) -> list[dict[str, Any]]:
        # Fresh tag dicts each time: Seldon adds a "method" tag to the dicts it is given.
        out = [_counter(FEATURE_REQUESTS, self.feature_requests)] if self.feature_requests else []
        out += [_counter(FEATURE_ERRORS, count, reason=reason)
                for reason, count in sorted(self.feature_errors.items())]
        out += [_counter(REQUEST_FAILURES, count, reason=reason) for reason, count in sorted(self.failures.items())]
        if not self.predictions:
            return out
        out.append(_counter(PREDICTIONS, self.predictions))
        if self.output == "probability":
            out.append(_counter(PREDICTION_SCORE_SUM, self.score_sum))
            out += [_counter(PREDICTION_SCORE_BUCKET, count, le=str(bound))
                    for bound, count in zip(SCORE_BUCKETS, self.buckets, strict=True)]
        elif self.output == "class-probabilities":
            out += [_counter(PREDICTED_CLASS, count, **{"class": str(label)})
                    for label, count in sorted(self.classes.items())]
        else:
            out += [_counter(PREDICTION_SUM, self.value_sum),
                    _counter(PREDICTION_SQUARE_SUM, self.square_sum)]
        return out


def _online_features(features: list[str]) -> OnlineFeatures | None:
    """The feature server's client where MLPLAT_FEATURE_SERVER_URL is set; it must serve every feature the
    version was trained on (a version is not served on features its service no longer has)."""
    url = os.environ.get("MLPLAT_FEATURE_SERVER_URL")
    if not url:
        return None
    import json

    service, path = os.environ.get("MLPLAT_FEATURE_SERVICE"), os.environ.get("MLPLAT_FEATURE_DEFINITIONS")
    if not service or not path:
        raise RuntimeError("MLPLAT_FEATURE_SERVER_URL is set without MLPLAT_FEATURE_SERVICE and "
                           "MLPLAT_FEATURE_DEFINITIONS (the rendered definitions.json)")
    timeout = float(os.environ.get("MLPLAT_FEATURE_TIMEOUT_SECONDS", "2"))
    clock = time.time
    if as_of := os.environ.get("MLPLAT_FEATURES_AS_OF"):  # `mlplat serve --features-as-of`: "now" for TTL checks
        moment = epoch_seconds(as_of)
        clock = lambda: moment  # noqa: E731
    online = OnlineFeatures.from_definitions(url, json.loads(Path(path).read_text("utf-8")), service,
                                             timeout_seconds=timeout, clock=clock)
    lost = [f for f in features if f not in online.features]
    if lost:
        raise RuntimeError(f"feature service {service} in {path} no longer serves {', '.join(lost)}, which "
                           "this version was trained on")
    # Ready only once the feature server answers: the first request by entity key must not meet a cold one.
    online.warm_up(float(os.environ.get("MLPLAT_FEATURE_READY_SECONDS", FEATURE_READY_SECONDS)))
    return online


def _counter(key: str, value: float, **tags: str) -> dict[str, Any]:
    return {"type": "COUNTER", "key": key, "value": value, "tags": tags}


def _finite_within(value: Any, limit: float) -> bool:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    try:
        return math.isfinite(value) and abs(float(value)) <= limit
    except OverflowError:  # an integer beyond float64
        return False


def _json_kind(value: Any) -> str:
    return {list: "array", str: "string", bool: "boolean", type(None): "null"}.get(type(value), "number")


def _tensor_rows(tensor: Any) -> list[list[float]]:
    shape = tensor.get("shape") if isinstance(tensor, dict) else None
    if (not isinstance(shape, list) or len(shape) != 2
            or not all(isinstance(n, int) and not isinstance(n, bool) and 0 <= n <= MAX_ROWS * 1000 for n in shape)):
        raise BadRequest('data.tensor needs "shape": [rows, features] (two whole numbers) and "values"')
    n, width = shape
    values = tensor.get("values")
    if not isinstance(values, list) or len(values) != n * width:
        raise BadRequest(f"data.tensor.values must hold {n} x {width} numbers")
    return [values[i * width:(i + 1) * width] for i in range(n)]
