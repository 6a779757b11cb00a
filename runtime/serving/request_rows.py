"""A request's rows checked before the model sees them: their shape, the feature names and order, and
every value a finite number (within float32's range for a PyTorch model). Every refusal is a
BadRequest (400) whose message names what is wrong."""

from __future__ import annotations

import math
from typing import Any

from runtime.serving.seldon_hooks import BadRequest

MAX_ROWS = 10_000
FLOAT32_MAX = 3.4028234663852886e38  # a PyTorch program computes in float32: larger values become inf


def request_rows(data: Any) -> list[Any]:
    """The rows of a request's "data" (ndarray, or a tensor with its shape), at most MAX_ROWS."""
    if not isinstance(data, dict):
        raise BadRequest('request needs "data" with "ndarray" or "tensor", e.g. '
                         '{"data": {"names": [...], "ndarray": [[...]]}}')
    if "ndarray" in data:
        rows = data["ndarray"]
    elif "tensor" in data:
        rows = tensor_rows(data["tensor"])
    else:
        raise BadRequest('"data" has neither "ndarray" nor "tensor"')
    if not isinstance(rows, list) or not rows:
        raise BadRequest("no rows to predict: data.ndarray must be a non-empty list of rows")
    if len(rows) > MAX_ROWS:
        raise BadRequest(f"{len(rows)} rows in one request; at most {MAX_ROWS}")
    return rows


def feature_rows(names: Any, rows: list[Any], features: list[str], limit: float) -> list[list[Any]]:
    """`rows` as the model's features in its order: `names` (if sent) are exactly its features, every row
    has one value per feature, each finite and within `limit`."""
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
    check_finite(rows, limit)
    if order is not None:
        rows = [[row[i] for i in order] for row in rows]
    return rows


def check_finite(rows: list[list[Any]], limit: float) -> None:
    for index, row in enumerate(rows):
        for value in row:
            if not _finite_within(value, limit):
                shown = repr(value) if not isinstance(value, int) or abs(value) < 10**30 else "a huge integer"
                raise BadRequest(f"row {index} holds {shown}; every feature must be a finite number"
                                 + (" within float32's range" if limit < math.inf else ""))


def value_limit(framework: str) -> float:
    return FLOAT32_MAX if framework == "pytorch" else math.inf


def _finite_within(value: Any, limit: float) -> bool:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    try:
        return math.isfinite(value) and abs(float(value)) <= limit
    except OverflowError:  # an integer beyond float64
        return False


def json_kind(value: Any) -> str:
    return {list: "array", str: "string", bool: "boolean", type(None): "null"}.get(type(value), "number")


def tensor_rows(tensor: Any) -> list[list[float]]:
    shape = tensor.get("shape") if isinstance(tensor, dict) else None
    if (not isinstance(shape, list) or len(shape) != 2
            or not all(isinstance(n, int) and not isinstance(n, bool) and 0 <= n <= MAX_ROWS * 1000 for n in shape)):
        raise BadRequest('data.tensor needs "shape": [rows, features] (two whole numbers) and "values"')
    n, width = shape
    values = tensor.get("values")
    if not isinstance(values, list) or len(values) != n * width:
        raise BadRequest(f"data.tensor.values must hold {n} x {width} numbers")
    return [values[i * width:(i + 1) * width] for i in range(n)]
