"""Load a dataset URI into a DataFrame of identifier-named feature columns plus the target column.

Supported: `sklearn://<dataset>?split=train|eval[&holdout=0.25&seed=0]` (data scikit-learn ships:
breast_cancer, wine, diabetes, iris), and CSV or Parquet at `file://` paths or any store pandas reaches
through fsspec (s3://, gs:// with s3fs or gcsfs installed, as in the runtime image).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlparse

_SKLEARN = {"breast_cancer": "load_breast_cancer", "wine": "load_wine", "diabetes": "load_diabetes",
            "iris": "load_iris"}


class DataError(Exception):
    """A dataset that cannot be read; the message says why and what would work."""


def load(uri: str, target: str) -> Any:
    parsed = urlparse(uri)
    if parsed.scheme == "sklearn":
        return _sklearn(parsed.netloc, parse_qs(parsed.query), target)
    if parsed.scheme == "file":
        path = Path(unquote(parsed.path))
        if not path.exists():
            raise DataError(f"no such file: {path}")
        return _frame(str(path), path.suffix, target)
    return _frame(uri, Path(parsed.path).suffix, target)


def feature_columns(frame: Any, target: str, group: str | None = None) -> list[str]:
    """Every column but the target and, for ranking, the query id column."""
    return [c for c in frame.columns if c not in (target, group)]


def _identifier(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")


def _sklearn(dataset: str, query: dict[str, list[str]], target: str) -> Any:
    import sklearn.datasets
    from sklearn.model_selection import train_test_split

    if dataset not in _SKLEARN:
        raise DataError(f"unknown scikit-learn dataset {dataset!r}; known: {', '.join(sorted(_SKLEARN))}")
    split = query.get("split", ["all"])[0]
    if split not in ("train", "eval", "all"):
        raise DataError(f"split must be train, eval or all, not {split!r}")
    holdout = float(query.get("holdout", ["0.25"])[0])
    seed = int(query.get("seed", ["0"])[0])
    bunch = getattr(sklearn.datasets, _SKLEARN[dataset])(as_frame=True)
    frame = bunch.frame.rename(columns={c: _identifier(c) for c in bunch.frame.columns if c != "target"})
    frame = frame.rename(columns={"target": target})
    if split == "all":
        return frame.reset_index(drop=True)
    stratify = frame[target] if dataset != "diabetes" else None
    train, evaluation = train_test_split(frame, test_size=holdout, random_state=seed, stratify=stratify)
    return (train if split == "train" else evaluation).reset_index(drop=True)


def _frame(location: str, suffix: str, target: str) -> Any:
    """CSV or Parquet through pandas; remote stores (s3://, gs://) need their fsspec package (s3fs, gcsfs)."""
    import pandas as pd

    try:
        frame = pd.read_csv(location) if suffix == ".csv" else pd.read_parquet(location)
    except ImportError as exc:
        raise DataError(f"cannot read {location}: {exc} (install the fsspec package for this store)") from exc
    if target not in frame.columns:
        raise DataError(f"{location} has no target column {target!r} (columns: {', '.join(map(str, frame.columns))})")
    return frame
