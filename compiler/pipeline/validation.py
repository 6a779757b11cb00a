"""Pydantic validation of loaded documents, with errors translated into located `SpecError`s."""

from __future__ import annotations

import datetime
import difflib
from collections.abc import Callable
from pathlib import Path
from types import UnionType
from typing import Annotated, Any, TypeVar, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError

from compiler.pipeline.errors import SpecError
from compiler.pipeline.loader import Document, Path_, dotted

M = TypeVar("M", bound=BaseModel)

_EXPECTED = {
    "string_type": "text",
    "int_type": "an integer",
    "float_type": "a number",
    "bool_type": "a boolean (true or false)",
    "dict_type": "a mapping",
    "model_type": "a mapping",
    "model_attributes_type": "a mapping",
    "list_type": "a list",
}


def validate(doc: Document, model: type[M], data: Any = None) -> tuple[M | None, list[SpecError]]:
    """Validate `doc.data` (or `data`, located through `doc`) against `model`."""
    try:
        return model.model_validate(doc.data if data is None else data), []
    except ValidationError as exc:
        return None, translate(doc, model, exc, doc.data if data is None else data)


def load_valid(load_file: Callable[[Path, str], tuple[Document | None, list[SpecError]]], path: Path, display: str,
               model: type[M]) -> tuple[Document | None, M | None, list[SpecError]]:
    """Load one file and validate it against `model`: the document, the value, and every problem."""
    doc, errors = load_file(path, display)
    if doc is None:
        return None, None, errors
    value, found = validate(doc, model)
    return doc, value, errors + found


def translate(doc: Document, model: type[BaseModel], exc: ValidationError, data: Any,
              locate: Any = None) -> list[SpecError]:
    """Turn Pydantic's errors into SpecError values; errors of one value (union members) are merged.

    `locate(path, key)` maps a data path to a SpecError factory (resolve.py uses it for overlays).
    """
    by_path: dict[tuple[Path_, str], list[Any]] = {}
    for err in exc.errors(include_url=False):
        path = _data_path(data, err["loc"], err["type"])
        family = "union" if err["type"] in _EXPECTED else err["type"]
        by_path.setdefault((path, family), []).append(err)
    errors = []
    for (path, _), group in by_path.items():
        message, hint = _describe(doc, model, path, group)
        key = group[0]["type"] == "extra_forbidden"
        if locate is not None:
            errors.append(locate(path, message, hint, key))
        else:
            errors.append(doc.error(path, message, hint, key=key))
    return errors


def _data_path(data: Any, loc: tuple, error_type: str) -> Path_:
    """The part of Pydantic's `loc` that names real keys and indexes (drops union member tags)."""
    path: list[str | int] = []
    node = data
    for i, part in enumerate(loc):
        last = i == len(loc) - 1
        if isinstance(node, dict) and part in node:
            node = node[part]
            path.append(part)
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            node = node[part]
            path.append(part)
        elif last and error_type in ("missing", "extra_forbidden") and isinstance(part, str):
            path.append(part)
    return tuple(path)


def _describe(doc: Document, model: type[BaseModel], path: Path_, group: list[dict]) -> tuple[str, str]:
    err = group[0]
    kind = err["type"]
    value: Any = err.get("input")
    if kind == "missing":
        return f"required field {path[-1]!r} is missing", ""
    if kind == "extra_forbidden":
        allowed = sorted(_fields_at(model, path[:-1]))
        close = difflib.get_close_matches(str(path[-1]), allowed, n=1)
        hint = f"did you mean {close[0]!r}?" if close else (f"allowed fields: {', '.join(allowed)}" if allowed else "")
        return f"unknown field {path[-1]!r}", hint
    if kind in _EXPECTED:
        expected = sorted({_EXPECTED[e["type"]] for e in group if e["type"] in _EXPECTED})
        want = expected[0] if len(expected) == 1 else ", ".join(expected[:-1]) + " or " + expected[-1]
        return f"expected {want}, got {_kind(value)}", _coercion_hint(doc, path, value, expected)
    if kind == "literal_error":
        options = err.get("ctx", {}).get("expected", "")
        close = difflib.get_close_matches(str(value), [o.strip(" '") for o in options.replace(" or ", ",").split(",")],
                                          n=1)
        return f"{value!r} is not allowed; expected {options}", (f"did you mean {close[0]!r}?" if close else "")
    ctx = err.get("ctx", {})
    bounds = {
        "greater_than": lambda: f"must be greater than {ctx['gt']}, got {_short(value)}",
        "greater_than_equal": lambda: f"must be at least {ctx['ge']}, got {_short(value)}",
        "less_than": lambda: f"must be less than {ctx['lt']}, got {_short(value)}",
        "less_than_equal": lambda: f"must be at most {ctx['le']}, got {_short(value)}",
        "too_short": lambda: f"needs at least {ctx['min_length']} item(s), got {len(value)}",
        "too_long": lambda: f"allows at most {ctx['max_length']} item(s), got {len(value)}",
        "string_too_short": lambda: "must not be empty" if ctx["min_length"] == 1 else
        f"needs at least {ctx['min_length']} characters, got {len(value)}",
        "string_too_long": lambda: f"is {len(value)} characters; at most {ctx['max_length']} are allowed",
        "string_pattern_mismatch": lambda: f"{_short(value)} does not match the pattern {ctx['pattern']}",
    }
    if kind in bounds:
        return bounds[kind](), ""
    return err["msg"].removeprefix("Value error, "), ""


def _coercion_hint(doc: Document, path: Path_, value: Any, expected: list[str]) -> str:
    raw = doc.coercion(path)
    if raw and "text" in expected:
        return f"YAML read the unquoted {raw[0]} as {raw[1]}; quote it to keep it as text: \"{raw[0]}\""
    if isinstance(value, datetime.date) and "text" in expected:
        return f"YAML read the unquoted value as a date; quote it: \"{value.isoformat()}\""
    if isinstance(value, str) and expected and "text" not in expected and value.strip():
        return f"remove the quotes around {value!r}" if _looks_numeric(value) else ""
    return ""


def _looks_numeric(value: str) -> bool:
    try:
        float(value)
    except ValueError:
        return value.lower() in ("true", "false")
    return True


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, int | float):
        return f"the number {value!r}"
    if isinstance(value, str):
        return f"the text {_short(value)}"
    if isinstance(value, datetime.date):
        return f"the date {value.isoformat()}"
    if value is None:
        return "nothing (null)"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return type(value).__name__


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _fields_at(model: type[BaseModel], path: Path_) -> set[str]:
    """Field names (as written in YAML) of the section at `path`, for did-you-mean hints."""
    current: Any = model
    for part in path:
        current = _unwrap(current)
        if isinstance(current, type) and issubclass(current, BaseModel):
            match = [f for n, f in current.model_fields.items() if (f.alias or n) == part]
            if not match:
                return set()
            current = match[0].annotation
        elif get_origin(current) in (dict, list):
            current = get_args(current)[-1]
        else:
            return set()
    current = _unwrap(current)
    if isinstance(current, type) and issubclass(current, BaseModel):
        return {f.alias or n for n, f in current.model_fields.items()}
    return set()


def _unwrap(annotation: Any) -> Any:
    while True:
        origin = get_origin(annotation)
        if origin is Annotated:
            annotation = get_args(annotation)[0]
        elif origin in (Union, UnionType):
            members = [a for a in get_args(annotation) if a is not type(None)]
            if len(members) != 1:
                return annotation
            annotation = members[0]
        else:
            return annotation


__all__ = ["validate", "translate", "dotted"]
