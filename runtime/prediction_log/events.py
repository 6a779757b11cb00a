"""CloudEvents from Seldon Core's executor, and the rows a request and its response make.

The executor sends each request and each response of a predictor as its own CloudEvent in binary
mode (seldon-core executor/logger/worker.go): `ce-type` io.seldon.serving.inference.request or
.response, `ce-requestid` the prediction's puid (the same on both), `ce-inferenceservicename` the
SeldonDeployment, `ce-endpoint` the predictor, `ce-time`, and the Seldon protocol JSON as the body.
Structured mode (application/cloudevents+json, the attributes and `data` in one JSON object) is read
too. Anything else is a BadEvent with the reason it is counted under.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

REQUEST = "io.seldon.serving.inference.request"
RESPONSE = "io.seldon.serving.inference.response"
MALFORMED, UNKNOWN_MODEL, BAD_SCHEMA = "malformed", "unknown_model", "bad_schema"


class BadEvent(Exception):
    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class Event:
    kind: str  # "request" or "response"
    request_id: str
    deployment: str
    predictor: str
    time: datetime | None
    body: dict[str, Any]
    size: int = 0  # bytes of the event as received: what waiting for its pair holds in memory, roughly


def parse(headers: dict[str, str], body: bytes, models: frozenset[str]) -> Event:
    """One CloudEvent; `headers` with lower-case names. Raises BadEvent."""
    if headers.get("content-type", "").split(";")[0].strip() == "application/cloudevents+json":
        attributes, data = _structured(body)
    else:
        attributes = {k[3:]: v for k, v in headers.items() if k.startswith("ce-")}
        data = _json(body)
    kind = {REQUEST: "request", RESPONSE: "response"}.get(attributes.get("type", ""))
    if kind is None:
        raise BadEvent(MALFORMED, f"ce-type {attributes.get('type')!r} is neither {REQUEST} nor {RESPONSE}")
    request_id = attributes.get("requestid") or ""
    if not request_id or len(request_id) > 256:
        raise BadEvent(MALFORMED, "no ce-requestid (the prediction's puid), or one longer than 256 characters")
    deployment = attributes.get("inferenceservicename") or ""
    if deployment not in models:
        raise BadEvent(UNKNOWN_MODEL, f"ce-inferenceservicename {deployment!r} is not a model this sink logs "
                                      f"({', '.join(sorted(models))})")
    if not isinstance(data, dict):
        raise BadEvent(MALFORMED, "the event's data is not a JSON object")
    return Event(kind, request_id, deployment, attributes.get("endpoint") or "", _time(attributes.get("time")), data,
                 len(body))


def _structured(body: bytes) -> tuple[dict[str, str], Any]:
    envelope = _json(body)
    if not isinstance(envelope, dict):
        raise BadEvent(MALFORMED, "a structured CloudEvent must be a JSON object")
    attributes = {k: str(v) for k, v in envelope.items() if k != "data" and isinstance(v, str | int | float)}
    return attributes, envelope.get("data")


def _json(body: bytes) -> Any:
    try:
        return json.loads(body)
    except (ValueError, RecursionError) as exc:
        raise BadEvent(MALFORMED, f"the body is not JSON: {str(exc)[:200]}") from None


def _time(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)


def rows(request: Event, response: Event, model: str, received: datetime) -> list[dict[str, Any]]:
    """One row per predicted row: request id, row index, time, model, version, predictor, the named
    features and the prediction (the probability, the value, or for class probabilities the class with
    the highest, beside a score_<class> column each). Raises BadEvent (bad_schema).

    A request by entity keys (runtime/serving) logs the keys and the features the model server read
    online, which its response carries in meta.tags.features, as a request would carry them."""
    names, features = _features(request.body)
    tags = (response.body.get("meta") or {}).get("tags") or {}
    served = tags.get("features") if isinstance(tags, dict) else None
    if isinstance(served, dict):
        served_names, served_rows = _features({"data": served})
        if len(served_rows) != len(features) or set(served_names) & set(names):
            raise BadEvent(BAD_SCHEMA, "the features a response says it served do not fit its request's rows")
        names = [*names, *served_names]
        features = [[*row, *more] for row, more in zip(features, served_rows, strict=True)]
    outputs, values = _outputs(response.body)
    if len(values) != len(features):
        raise BadEvent(BAD_SCHEMA, f"the response has {len(values)} rows for the request's {len(features)}")
    version = str(tags.get("version", "")) if isinstance(tags, dict) else ""
    moment = request.time or response.time or received
    out = []
    for index, (row, answer) in enumerate(zip(features, values, strict=True)):
        record: dict[str, Any] = {"request_id": request.request_id, "row": index, "timestamp": moment,
                                  "model": model, "version": version, "predictor": response.predictor}
        record.update((name, float(value)) for name, value in zip(names, row, strict=True))
        record.update(_prediction(outputs, answer))
        out.append(record)
    return out


def _features(body: dict[str, Any]) -> tuple[list[str], list[list[float]]]:
    data = body.get("data")
    if not isinstance(data, dict):
        raise BadEvent(BAD_SCHEMA, 'the request has no "data" object')
    names = data.get("names")
    if not isinstance(names, list) or not names or not all(isinstance(n, str) and n for n in names):
        raise BadEvent(BAD_SCHEMA, 'the request has no "data.names": the log needs named features')
    if len(set(names)) != len(names) or set(names) & RESERVED or any(n.startswith(SCORE_PREFIX) for n in names):
        raise BadEvent(BAD_SCHEMA, f"feature names repeat or use a reserved name ({', '.join(sorted(RESERVED))}, "
                                   f"{SCORE_PREFIX}*: the prediction's columns)")
    if "ndarray" in data:
        matrix = data["ndarray"]
    elif isinstance(data.get("tensor"), dict):
        tensor = data["tensor"]
        shape, flat = tensor.get("shape"), tensor.get("values")
        if not (isinstance(shape, list) and len(shape) == 2 and isinstance(flat, list)
                and all(isinstance(n, int) for n in shape) and len(flat) == shape[0] * shape[1]):
            raise BadEvent(BAD_SCHEMA, "data.tensor needs a [rows, features] shape and as many values")
        matrix = [flat[i * shape[1]:(i + 1) * shape[1]] for i in range(shape[0])]
    else:
        raise BadEvent(BAD_SCHEMA, 'the request has neither "data.ndarray" nor "data.tensor"')
    if not isinstance(matrix, list) or not matrix:
        raise BadEvent(BAD_SCHEMA, "the request has no rows")
    for row in matrix:
        if not isinstance(row, list) or len(row) != len(names) or not all(_number(v) for v in row):
            raise BadEvent(BAD_SCHEMA, f"a row is not {len(names)} finite numbers, one per name")
    return names, matrix


def _outputs(body: dict[str, Any]) -> tuple[list[str], list[Any]]:
    data = body.get("data")
    if not isinstance(data, dict) or not isinstance(data.get("ndarray"), list):
        raise BadEvent(BAD_SCHEMA, 'the response has no "data.ndarray"')
    names = data.get("names") or ["prediction"]
    return [str(n) for n in names], data["ndarray"]


def _prediction(outputs: list[str], answer: Any) -> dict[str, float]:
    values = answer if isinstance(answer, list) else [answer]
    if not values or not all(_number(v) for v in values):
        raise BadEvent(BAD_SCHEMA, "a prediction is not a finite number or a list of them")
    if len(values) == 1:
        return {"prediction": float(values[0])}
    if len(values) != len(outputs):
        raise BadEvent(BAD_SCHEMA, f"a prediction has {len(values)} values for {len(outputs)} output names")
    scores = {f"{SCORE_PREFIX}{name}": float(v) for name, v in zip(outputs, values, strict=True)}
    return {"prediction": float(max(range(len(values)), key=values.__getitem__)), **scores}


def _number(value: Any) -> bool:
    if not isinstance(value, int | float) or isinstance(value, bool):
        return False
    try:
        return math.isfinite(value)
    except OverflowError:  # an integer beyond float64
        return False


# The log's own columns: a feature may take none of these names, nor begin with SCORE_PREFIX, so that features,
# the prediction and the class scores never share a column (drift and quality read them by name).
RESERVED = frozenset({"request_id", "row", "timestamp", "model", "version", "predictor", "prediction"})
SCORE_PREFIX = "score_"
