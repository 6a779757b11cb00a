"""MlplatModel, the class seldon-core-microservice serves (runtime/serving/__init__.py says what it answers).

It loads the version's artifact once its digest is the pinned one, checks each request's rows
(request_rows.py) or reads their features online by entity key (online_features.py), answers 500 for the
model's own faults, counts refusals by reason, and hands its counts (counts.py) to Seldon's metrics store
(seldon_hooks.py) at most every MLPLAT_METRICS_FLUSH_SECONDS.
"""

from __future__ import annotations

import math
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from runtime import artifact
from runtime.serving import seldon_hooks
from runtime.serving.counts import Counts
from runtime.serving.online_features import MISMATCH, MISSING, FeatureLookupError, OnlineFeatures, epoch_seconds
from runtime.serving.request_rows import check_finite, feature_rows, json_kind, request_rows, value_limit
from runtime.serving.seldon_hooks import BadRequest

# Larger bodies get 413 before they are read (MLPLAT_MAX_REQUEST_BYTES); 10,000 rows of 100 features fit.
MAX_REQUEST_BYTES = 16 * 1024 * 1024
# The HTTP status of each feature error: the client's own (400), or the platform's, worth a retry (503)
FEATURE_ERROR_STATUS = {MISSING: 400, MISMATCH: 400}
# A model fault is the server's error (500), whatever the rows: an exception in predict, or output that is
# not a finite number. Both sides of a canary see the same requests, so the analysis compares every failure.
MODEL_ERROR, MODEL_NON_FINITE = "MLPLAT_MODEL_ERROR", "MLPLAT_MODEL_NON_FINITE"
FEATURE_READY_SECONDS = 120  # how long load() waits for the pod's feature server to answer its first lookup


class MlplatModel:
    def __init__(self, model_uri: str = "/mnt/models", *, clock: Callable[[], float] = time.monotonic, **_: Any):
        self.model_uri = Path(model_uri)
        self.name = os.environ.get("MLPLAT_MODEL_NAME", "model")
        self.version = os.environ.get("MLPLAT_MODEL_VERSION", "unknown")
        self.expected_sha256 = os.environ.get("MLPLAT_ARTIFACT_SHA256")
        self.flush_seconds = float(os.environ.get("MLPLAT_METRICS_FLUSH_SECONDS", "1"))
        self.model: artifact.LoadedModel | None = None
        self._pending = Counts()
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

    @property
    def loaded(self) -> artifact.LoadedModel:
        """The model, once load() ran (Seldon calls it before any request)."""
        if self.model is None:
            raise BadRequest("model not loaded", status_code=503, reason="MICROSERVICE_NOT_READY")
        return self.model

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
            raise BadRequest(f"the request is a JSON {json_kind(request)}; it must be an object such as "
                             '{"data": {"names": [...], "ndarray": [[...]]}}')
        rows, served = self._rows(request)
        try:
            scores = self.loaded.predict(rows)
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
            meta["tags"]["features"] = {"names": self.loaded.features, "ndarray": rows}
        with self._lock:
            self._pending.add(scores, self.loaded.meta["output"])
            metrics = self._take(self._clock(), force=self._flushed_at is None)
        if metrics:
            meta["metrics"] = metrics
        return {"data": {"names": self._output_names(scores), "ndarray": values}, "meta": meta}

    def _count_failure(self, reason: str) -> None:
        """A refused request counted by reason; handed to Seldon now when a flush is due (no response carries
        it), else by the flush thread."""
        with self._lock:
            self._pending.failures[reason] = self._pending.failures.get(reason, 0) + 1
            handed = seldon_hooks.store() is not None
            metrics = self._take(self._clock(), force=self._flushed_at is None) if handed else []
        if metrics:
            seldon_hooks.update_if_any(seldon_hooks.store(), metrics, "predict")

    def _take(self, now: float, force: bool = False) -> list[dict[str, Any]]:
        """The counts to hand over when a flush is due (or forced), emptied; [] otherwise. Under the lock."""
        if not force and now - (self._flushed_at or 0.0) < self.flush_seconds:
            return []
        metrics = self._pending.metrics()
        self._pending = Counts()
        self._flushed_at = now
        return metrics

    def flush_idle(self) -> bool:
        """Hand counts over to Seldon that no request has carried for flush_seconds; whether any went."""
        if seldon_hooks.store() is None:  # no store made yet (outside seldon-core)
            return False
        with self._lock:
            metrics = self._take(self._clock()) if self._pending.any() else []
        if metrics:
            # "predict": the method tag the wrapper gives them
            seldon_hooks.update_if_any(seldon_hooks.store(), metrics, "predict")
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
    def _rows(self, request: dict[str, Any]) -> tuple[list[list[Any]], bool]:
        """The model's rows, and whether their features were read online (the request named entity keys)."""
        data: Any = request.get("data")
        rows = request_rows(data)
        names = data.get("names")
        online = self.online
        if online is not None and isinstance(names, list) and any(k in names for k in online.keys):
            return self._served_rows(online, names, rows)
        return feature_rows(names, rows, self.loaded.features, value_limit(self.loaded.meta["framework"])), False

    def _served_rows(self, online: OnlineFeatures, names: list[Any], rows: list[Any]
                     ) -> tuple[list[list[Any]], bool]:
        """The model's rows for a request naming entity keys: the features read online, or (where the
        request sends them too) the sent ones, once they are checked against the online values; and
        whether they are the online ones (the request did not send them)."""
        features = self.loaded.features
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
        check_finite(served, value_limit(self.loaded.meta["framework"]))
        return served, not sent

    def _output_names(self, scores: Any) -> list[str]:
        output = self.loaded.meta["output"]
        if output == "probability":
            return ["probability"]
        if output == "class-probabilities":
            return [f"class_{i}" for i in range(scores.shape[1])]
        return ["prediction"]


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
