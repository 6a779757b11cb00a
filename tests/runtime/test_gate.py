"""The gate's judgement: thresholds, regression against the champion, and failing closed."""

from __future__ import annotations

import math

import pytest

from runtime.steps.gate import judge

GATES = [{"metric": "roc_auc", "min": 0.9}, {"metric": "log_loss", "max": 0.3},
         {"metric": "roc_auc", "maxRegressionVsChampion": 0.01}]


def reasons(checks) -> list[tuple[bool, str]]:
    return [(c.passed, c.reason) for c in checks]


def test_passes_thresholds_without_a_champion() -> None:
    assert reasons(judge(GATES, {"roc_auc": 0.95, "log_loss": 0.2}, None, None)) == [
        (True, "roc_auc 0.9500 >= 0.9"), (True, "log_loss 0.2000 <= 0.3"),
        (True, "no champion yet; roc_auc 0.9500 sets the bar")]


def test_fails_each_threshold() -> None:
    assert reasons(judge(GATES[:2], {"roc_auc": 0.85, "log_loss": 0.4}, None, None)) == [
        (False, "roc_auc 0.8500 < 0.9"), (False, "log_loss 0.4000 > 0.3")]


def test_regression_against_champion_for_higher_is_better() -> None:
    gates = [{"metric": "roc_auc", "maxRegressionVsChampion": 0.01}]
    assert reasons(judge(gates, {"roc_auc": 0.95}, {"roc_auc": 0.955}, "4")) == [
        (True, "roc_auc 0.9500 vs champion v4 0.9550: regression 0.0050 <= 0.01")]
    assert reasons(judge(gates, {"roc_auc": 0.93}, {"roc_auc": 0.955}, "4")) == [
        (False, "roc_auc 0.9300 vs champion v4 0.9550: regression 0.0250 > 0.01")]


def test_regression_against_champion_for_lower_is_better() -> None:
    gates = [{"metric": "rmse", "maxRegressionVsChampion": 5.0}]
    assert judge(gates, {"rmse": 104.0}, {"rmse": 100.0}, "2")[0].passed
    assert not judge(gates, {"rmse": 106.0}, {"rmse": 100.0}, "2")[0].passed
    assert judge(gates, {"rmse": 90.0}, {"rmse": 100.0}, "2")[0].passed


def test_missing_numbers_fail_closed() -> None:
    assert reasons(judge([{"metric": "f1", "min": 0.5}], {}, None, None)) == [(False, "f1 was not logged by the run")]
    assert reasons(judge([{"metric": "f1", "maxRegressionVsChampion": 0.1}], {"f1": 0.9}, {"auc": 1.0}, "7")) == [
        (False, "champion version 7 has no f1 to compare with")]


@pytest.mark.parametrize("value", [math.inf, -math.inf, math.nan])
def test_a_metric_that_is_not_a_finite_number_fails_every_check(value: float) -> None:
    gates = [{"metric": "roc_auc", "min": 0.9, "max": 1.0, "maxRegressionVsChampion": 0.01},
             {"metric": "log_loss", "max": 0.3, "maxRegressionVsChampion": 0.05}]
    for champion in (None, {"roc_auc": 0.95, "log_loss": 0.2}):
        checks = judge(gates, {"roc_auc": value, "log_loss": -value}, champion, 3 if champion else None)
        assert [c.passed for c in checks] == [False] * 5
        assert all("not a finite number" in c.reason and c.value is None for c in checks)


def test_a_champion_metric_that_is_not_finite_fails_the_regression_check() -> None:
    [check] = judge([{"metric": "roc_auc", "maxRegressionVsChampion": 0.01}], {"roc_auc": 0.95},
                    {"roc_auc": math.nan}, 3)
    assert not check.passed and "champion version 3's roc_auc is nan" in check.reason


def test_the_largest_float_is_infinity_as_mlflows_sql_stores_return_it() -> None:
    import sys

    [check] = judge([{"metric": "roc_auc", "min": 0.9}], {"roc_auc": sys.float_info.max}, None, None)
    assert not check.passed and "not a finite number" in check.reason
