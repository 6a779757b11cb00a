"""Drift statistics and detection: Evidently's definitions over all rows, power on a 0.5-sigma shift, no
false alarm on same-distribution data, and every bad-data case an error naming its column."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from runtime.drift import stats
from runtime.drift.detect import BadData, detect
from runtime.drift.source import table_source

# The thresholds the example specs configure (psi: fraud-detector, tumor-classifier; ks: churn-predictor;
# jensenshannon: query-ranker) and Evidently's default for wasserstein.
THRESHOLDS = {"psi": 0.2, "ks": 0.1, "jensenshannon": 0.15, "wasserstein": 0.1}
FEATURES = [f"x{i:02d}" for i in range(20)]


def normal_table(rows: int, seed: int, shifted: tuple[int, ...] = ()) -> pa.Table:
    block = np.random.default_rng(seed).normal(size=(rows, len(FEATURES)))
    block[:, list(shifted)] += 0.5  # half a standard deviation
    return pa.table({name: block[:, i] for i, name in enumerate(FEATURES)})


def run(reference: pa.Table, current: pa.Table, method: str = "psi", features: list[str] | None = None):
    result, _ = detect(table_source("reference", reference), table_source("current window", current),
                       features or FEATURES, method, THRESHOLDS[method])
    return result


# -- the statistics are Evidently's -------------------------------------------------------------
def evidently_score(method: str, reference: np.ndarray, current: np.ndarray, categorical: bool) -> float:
    from evidently.legacy.calculations.stattests.jensenshannon import _jensenshannon
    from evidently.legacy.calculations.stattests.psi import _psi
    from evidently.legacy.calculations.stattests.wasserstein_distance_norm import _wasserstein_distance_norm
    from evidently.legacy.core import ColumnType

    function = {"psi": _psi, "jensenshannon": _jensenshannon, "wasserstein": _wasserstein_distance_norm}[method]
    kind = ColumnType.Categorical if categorical else ColumnType.Numerical
    return function(pd.Series(reference), pd.Series(current), kind, 0.1)[0]


rng = np.random.default_rng(11)
SAMPLES = {
    "continuous": (rng.normal(size=5000), rng.normal(0.3, 1.2, size=3000), False),
    "few values": (rng.integers(0, 5, 4000).astype(float), rng.integers(0, 7, 3000).astype(float), False),
    "categorical": (rng.choice(["a", "b", "c"], 4000).astype(object),
                    rng.choice(["a", "b", "d"], 3000, p=[0.5, 0.3, 0.2]).astype(object), True),
}


@pytest.mark.parametrize("method,sample", [(method, sample) for method in ("psi", "jensenshannon", "wasserstein")
                                           for sample in sorted(SAMPLES)
                                           if not (method == "wasserstein" and SAMPLES[sample][2])])
def test_scores_equal_evidentlys_stat_tests(method: str, sample: str) -> None:
    reference, current, categorical = SAMPLES[sample]
    assert stats.score(method, reference, current) == pytest.approx(
        evidently_score(method, reference, current, categorical), rel=1e-12, abs=1e-15)


def test_ks_is_the_two_sample_statistic() -> None:
    from scipy.stats import ks_2samp

    reference, current, _ = SAMPLES["continuous"]
    assert stats.score("ks", reference, current) == pytest.approx(ks_2samp(reference, current).statistic)


# -- detection -----------------------------------------------------------------------------------
@pytest.mark.parametrize("method", sorted(THRESHOLDS))
def test_detects_a_half_sigma_shift_in_two_of_twenty_features(method: str) -> None:
    result = run(normal_table(20_000, seed=1), normal_table(20_000, seed=2, shifted=(4, 13)), method)
    assert result.drifted_features == ["x04", "x13"]
    assert result.drifted and result.share == pytest.approx(0.1)
    assert [f.current_values for f in result.features] == [20_000] * 20


@pytest.mark.parametrize("method", sorted(THRESHOLDS))
@pytest.mark.parametrize("seed", [2, 3, 4])
def test_no_false_alarm_on_the_same_distribution(method: str, seed: int) -> None:
    result = run(normal_table(20_000, seed=1), normal_table(20_000, seed=seed), method)
    assert result.drifted_features == [] and not result.drifted
    assert max(result.scores().values()) < THRESHOLDS[method] / 2  # far from the line, not just under it


def test_nan_and_inf_are_dropped_as_evidently_does() -> None:
    reference = normal_table(5_000, seed=1)
    values = reference.column("x00").to_numpy().copy()
    values[:1000] = np.nan
    values[1000:1010] = np.inf
    current = reference.set_column(0, "x00", pa.array(values))
    result = run(reference, current, features=["x00"])
    assert result.features[0].current_values == 3_990 and result.features[0].reference_values == 5_000


def test_categorical_features_are_compared_by_value() -> None:
    reference = pa.table({"country": ["de", "fr", "es", "de"] * 500})
    current = pa.table({"country": ["de", "de", "de", "it"] * 500})
    result, _ = detect(table_source("reference", reference), table_source("current window", current),
                       ["country"], "psi", 0.2)
    assert result.features[0].kind == "categorical" and result.drifted_features == ["country"]


# -- bad data: an error naming each problem, never "no drift" -----------------------------------
def problems(reference: pa.Table, current: pa.Table, features: list[str], method: str = "psi") -> list[str]:
    with pytest.raises(BadData) as caught:
        detect(table_source("reference", reference), table_source("current window", current), features, method, 0.2)
    return caught.value.problems


GOOD = pa.table({"amount": [1.0, 2.0, 3.5] * 10, "merchant": ["a", "b", "c"] * 10})


def test_empty_window() -> None:
    assert problems(GOOD, GOOD.slice(0, 0), ["amount"]) == ["current window: no rows"]


def test_missing_column() -> None:
    assert problems(GOOD, GOOD.drop_columns(["amount"]), ["amount"]) == [
        "current window: column 'amount' is missing"]


def test_renamed_column_is_named() -> None:
    renamed = GOOD.rename_columns(["amount_eur", "merchant"])
    assert problems(GOOD, renamed, ["amount"]) == [
        "current window: column 'amount' is missing (renamed to 'amount_eur'?)"]


def test_all_nan_column() -> None:
    current = GOOD.set_column(0, "amount", pa.array([float("nan")] * 30))
    assert problems(GOOD, current, ["amount"]) == [
        "current window: column 'amount' has no values (all NaN, inf or null)"]


def test_all_null_column_read_from_csv_is_all_missing_too() -> None:
    current = GOOD.set_column(0, "amount", pa.nulls(30))  # what a CSV reader infers for an empty column
    assert problems(GOOD, current, ["amount"]) == [
        "current window: column 'amount' has no values (all NaN, inf or null)"]


def test_type_change() -> None:
    current = GOOD.set_column(0, "amount", pa.array(["1.0", "2.0", "n/a"] * 10))
    assert problems(GOOD, current, ["amount"]) == [
        "current window: column 'amount' changed type: numeric (double) in the reference, categorical (string) now"]


def test_numeric_only_method_on_a_categorical_feature() -> None:
    assert problems(GOOD, GOOD, ["merchant"], method="ks") == [
        "column 'merchant' is categorical (string); method ks compares numbers only (use psi or jensenshannon)"]


def test_every_problem_in_one_run() -> None:
    current = pa.table({"amount_eur": [1.0] * 30, "merchant": [None] * 30, "hour": ["x"] * 30})
    reference = GOOD.append_column("hour", pa.array([1] * 30))
    assert problems(reference, current, ["amount", "merchant", "hour"]) == [
        "current window: column 'amount' is missing (renamed to 'amount_eur'?)",
        "current window: column 'hour' changed type: numeric (int64) in the reference, categorical (string) now",
        "current window: column 'merchant' has no values (all NaN, inf or null)",
    ]
