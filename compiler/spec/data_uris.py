"""The data URIs a model's training and evaluation data may use: what the runtime's loader reads
(runtime/data/uris.py; tests/runtime/test_artifact_data.py holds the two lists together). The README's
"Add your first model" lists them from here (`mlplat schema` writes it)."""

from __future__ import annotations

import difflib
from pathlib import PurePosixPath
from urllib.parse import unquote, urlparse

from pydantic_core import PydanticCustomError

SKLEARN_DATASETS = ("breast_cancer", "diabetes", "iris", "wine")
EXAMPLE_TABLES = ("chargeback-labels", "churn-labels", "customer-transactions")
# scheme -> what it reads, with an example
DATA_URI_SCHEMES = {
    "sklearn": "data scikit-learn ships, split reproducibly: sklearn://diabetes?split=train&holdout=0.25&seed=0 "
               f"(datasets: {', '.join(SKLEARN_DATASETS)})",
    "example": "the example specs' generated event and label tables: example://churn-labels?split=train "
               f"(tables: {', '.join(EXAMPLE_TABLES)})",
    "file": "CSV or Parquet on the machine or a mounted volume, under a local data root of platform.yaml "
            "(defaults.localDataRoots, default /data): file:///data/train.parquet",
    "s3": "CSV or Parquet in S3: s3://bucket/path/train.parquet",
    "gs": "CSV or Parquet in Google Cloud Storage: gs://bucket/path/train.parquet",
}
_NAMED = {"sklearn": ("dataset", SKLEARN_DATASETS), "example": ("table", EXAMPLE_TABLES)}


def check_data_uri(uri: str) -> str:
    """The URI, or a PydanticCustomError naming what would work (an after-validator of DataUri fields)."""
    check_local_path(uri)
    parsed = urlparse(uri)
    if parsed.scheme not in DATA_URI_SCHEMES:
        raise PydanticCustomError("uri", "{value}: the runtime reads no {scheme}:// data; schemes: {known}{hint}",
                                  {"value": repr(uri), "scheme": parsed.scheme, "known": ", ".join(DATA_URI_SCHEMES),
                                   "hint": _hint(parsed.scheme, DATA_URI_SCHEMES)})
    kind, names = _NAMED.get(parsed.scheme, ("", ()))
    if kind and parsed.netloc not in names:
        raise PydanticCustomError("uri", "{value}: no {scheme} {kind} {name}; {kind}s: {known}{hint}",
                                  {"value": repr(uri), "scheme": parsed.scheme, "kind": kind,
                                   "name": repr(parsed.netloc), "known": ", ".join(names),
                                   "hint": _hint(parsed.netloc, names)})
    return uri


def check_local_path(uri: str) -> str:
    """A file:// URI as an absolute, normalised path (file:///data/train.parquet): never a host, a relative
    path, or `.`, `..` and empty parts (file://../../etc/shadow reads wherever the reader runs from)."""
    parsed = urlparse(uri)
    if parsed.scheme == "file" and local_path_problem(parsed):
        raise PydanticCustomError("uri", "{value}: {problem}; e.g. file:///data/train.parquet",
                                  {"value": repr(uri), "problem": local_path_problem(parsed)})
    return uri


def local_path_problem(parsed) -> str | None:  # noqa: ANN001 - urllib's ParseResult
    path = unquote(parsed.path)
    if parsed.netloc:
        return f"a file:// URI names a path on this machine, not the host {parsed.netloc!r} (three slashes: file:///)"
    if not path.startswith("/") or any(part in ("", ".", "..") for part in path[1:].split("/")) or "\x00" in path:
        return "a file:// URI names an absolute path without '.', '..' or empty parts"
    return None


def outside_roots(uri: str, roots: list[str]) -> bool:
    """Whether a file:// URI's path lies outside every one of `roots` (absolute folders)."""
    parsed = urlparse(uri)
    if parsed.scheme != "file":
        return False
    path = PurePosixPath(unquote(parsed.path))
    return not any(path.is_relative_to(root) for root in roots)


def _hint(name: str, known: object) -> str:
    close = difflib.get_close_matches(name, list(known), n=1)  # type: ignore[call-overload]
    return f" (did you mean {close[0]!r}?)" if close else ""
