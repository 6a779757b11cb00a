"""Drift detection over all rows, with the data checks that make a bad window an error, never "no drift"."""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Any

import numpy as np

from runtime.drift import stats
from runtime.drift.source import ColumnSource


class BadData(Exception):
    """The data cannot be compared; `problems` lists every reason found, one line each."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class FeatureDrift:
    feature: str
    kind: str  # numeric | categorical
    score: float
    drifted: bool
    reference_values: int  # valid values compared (rows less NaN, inf and null)
    current_values: int


@dataclass(frozen=True)
class DriftResult:
    method: str
    threshold: float
    reference_rows: int
    current_rows: int
    features: tuple[FeatureDrift, ...]

    @property
    def drifted_features(self) -> list[str]:
        return [f.feature for f in self.features if f.drifted]

    @property
    def share(self) -> float:
        """Share of the monitored features that drifted (Evidently's dataset drift share)."""
        return len(self.drifted_features) / len(self.features)

    @property
    def drifted(self) -> bool:
        """Any monitored feature drifting is drift: each was listed because it matters."""
        return bool(self.drifted_features)

    def scores(self) -> dict[str, float]:
        return {f.feature: f.score for f in self.features}


@dataclass(frozen=True)
class Sample:
    """Rows drawn uniformly (seeded) from both sides, for the report's plots."""

    reference: dict[str, np.ndarray]
    current: dict[str, np.ndarray]


def detect(reference: ColumnSource, current: ColumnSource, features: list[str], method: str, threshold: float,
           sample_rows: int = 20_000, seed: int = 0) -> tuple[DriftResult, Sample]:
    problems = _empty(reference) + _empty(current)
    if problems:
        raise BadData(problems)
    comparable = []
    for feature in features:
        found = _column_problems(feature, reference, current, method)
        problems += found
        if not found:
            comparable.append(feature)
    rng = np.random.default_rng(seed)
    ref_pick, cur_pick = _rows(rng, reference.num_rows, sample_rows), _rows(rng, current.num_rows, sample_rows)
    sample = Sample({}, {})
    results = []
    for feature in comparable:  # read even when others failed, so one run names every problem
        kind = _kind(reference.schema.field(feature).type)
        ref_all, cur_all = _values(reference, feature), _values(current, feature)
        sample.reference[feature], sample.current[feature] = ref_all[ref_pick], cur_all[cur_pick]
        ref, cur = _valid(ref_all), _valid(cur_all)
        del ref_all, cur_all  # one feature in memory at a time
        empty = [s.label for s, v in ((reference, ref), (current, cur)) if len(v) == 0]
        if empty:
            problems += [f"{label}: column {feature!r} has no values (all NaN, inf or null)" for label in empty]
            continue
        value = stats.score(method, ref, cur)
        results.append(FeatureDrift(feature, kind, value, stats.drifted(value, threshold), len(ref), len(cur)))
    if problems:
        raise BadData(problems)
    return DriftResult(method, threshold, reference.num_rows, current.num_rows, tuple(results)), sample


def _empty(source: ColumnSource) -> list[str]:
    return [f"{source.label}: no rows"] if source.num_rows == 0 else []


def _column_problems(feature: str, reference: ColumnSource, current: ColumnSource, method: str) -> list[str]:
    problems = []
    for this, other in ((reference, current), (current, reference)):
        if feature not in this.columns:
            unexpected = [c for c in this.columns if c not in other.columns]
            close = difflib.get_close_matches(feature, unexpected, n=1, cutoff=0.6)
            hint = f" (renamed to {close[0]!r}?)" if close else ""
            problems.append(f"{this.label}: column {feature!r} is missing{hint}")
    if problems:
        return problems
    ref_type, cur_type = reference.schema.field(feature).type, current.schema.field(feature).type
    ref_kind, cur_kind = _kind(ref_type), _kind(cur_type)
    for source, kind, arrow_type in ((reference, ref_kind, ref_type), (current, cur_kind, cur_type)):
        if kind == "unsupported":
            problems.append(f"{source.label}: column {feature!r} has type {arrow_type}, which drift cannot compare "
                            "(numbers, strings and booleans can)")
    if problems:
        return problems
    if ref_kind != cur_kind and "empty" not in (ref_kind, cur_kind):
        return [f"{current.label}: column {feature!r} changed type: {ref_kind} ({ref_type}) in the reference, "
                f"{cur_kind} ({cur_type}) now"]
    if ref_kind == "categorical" and method in stats.NUMERIC_ONLY:
        return [f"column {feature!r} is categorical ({ref_type}); method {method} compares numbers only "
                "(use psi or jensenshannon)"]
    return []


def _kind(arrow_type: Any) -> str:
    import pyarrow as pa

    if pa.types.is_dictionary(arrow_type):
        arrow_type = arrow_type.value_type
    if pa.types.is_integer(arrow_type) or pa.types.is_floating(arrow_type) or pa.types.is_decimal(arrow_type):
        return "numeric"
    if pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type) or pa.types.is_boolean(arrow_type):
        return "categorical"
    if pa.types.is_null(arrow_type):
        return "empty"  # no values at all (as a CSV reader types an empty column): reported as such
    return "unsupported"


def _values(source: ColumnSource, feature: str) -> np.ndarray:
    import pyarrow as pa

    column = source.column(feature)
    if pa.types.is_dictionary(column.type):
        column = column.cast(column.type.value_type)
    if _kind(column.type) == "numeric":
        return column.cast(pa.float64()).to_numpy()  # nulls become NaN
    return column.to_numpy(zero_copy_only=False)


def _valid(values: np.ndarray) -> np.ndarray:
    """Values Evidently compares: it drops NaN, inf and null first."""
    if values.dtype.kind == "f":
        return values[np.isfinite(values)]
    return values[np.array([v is not None for v in values], dtype=bool)] if values.dtype == object else values


def _rows(rng: np.random.Generator, total: int, wanted: int) -> np.ndarray:
    return np.sort(rng.choice(total, size=min(total, wanted), replace=False))
