"""The canary decision rule (runtime/canary/decide.py) on synthetic counts."""

from __future__ import annotations

import numpy as np
import pytest

from runtime.canary.decide import Arm, CanaryState, Measurements, decide, fisher_worse, look_alpha, pool_sparse
from runtime.canary.measurements import _bins, _over

STEPS = ((5, 600), (25, 1800), (50, 1800), (100, 1800))


def plan(traffic: int = 5, elapsed: int = 900, **changes) -> CanaryState:
    fields = {"steps": STEPS, "traffic": traffic, "elapsed": elapsed, "interval": 60, "confidence": 0.99,
              "min_requests": 500} | changes
    return CanaryState(**fields)


def judge(main: tuple[int, int], canary: tuple[int, int], the_plan: CanaryState | None = None, **extra) -> str:
    return decide(Measurements(Arm(*main), Arm(*canary), **extra), the_plan or plan()).action


def test_too_little_traffic_holds_even_when_the_canary_looks_worse() -> None:
    assert judge((200, 0), (20, 2)) == "hold"  # 10% against 0%, but 2 errors in 20 requests prove nothing
    decision = decide(Measurements(Arm(100_000, 100), Arm(400, 0)), plan())
    assert decision.action == "hold" and "too little traffic" in decision.reason  # not a pass: it never steps up


def test_twice_the_error_rate_at_adequate_volume_rolls_back() -> None:
    decision = decide(Measurements(Arm(20_000, 200), Arm(5_000, 100)), plan())  # 1% against 2%
    assert decision.action == "rollback" and "errors" in decision.reason
    [errors] = decision.checks
    assert errors.worse and errors.p_value < errors.alpha == pytest.approx(look_alpha(0.99, 16, 1))
    assert errors.test.startswith("Fisher exact on failed requests (any status but 2xx), one-sided")


def test_equal_rates_step_up_once_the_step_has_baked() -> None:
    equal = ((20_000, 200), (1_000, 10))
    assert judge(*equal, plan(elapsed=599)) == "hold"  # baking: 599 s of 600 s
    decision = decide(Measurements(Arm(*equal[0]), Arm(*equal[1])), plan(elapsed=600))
    assert (decision.action, decision.traffic_from, decision.traffic_to) == ("step", 5, 25)
    assert judge(*equal, plan(traffic=100, elapsed=1800)) == "promote"  # after the last step: main


def test_a_page_alert_for_the_canary_rolls_back_whatever_the_counts() -> None:
    decision = decide(Measurements(Arm(20_000, 0), Arm(1_000, 0), page_alerts=("MlplatErrorBudgetBurnFast",)), plan())
    assert decision.action == "rollback" and "MlplatErrorBudgetBurnFast" in decision.reason


def test_blind_holds_and_says_so() -> None:
    decision = decide(Measurements(Arm(0, 0), Arm(0, 0), blind="connection refused"), plan())
    assert (decision.action, decision.blind) == ("hold", True)


def test_an_untimed_step_never_steps_up_but_can_still_roll_back() -> None:
    assert judge((20_000, 200), (1_000, 10), plan(timed=False)) == "hold"
    assert judge((20_000, 200), (5_000, 100), plan(timed=False)) == "rollback"


def test_a_slower_canary_rolls_back_on_its_share_over_the_slo() -> None:
    main, canary = Arm(20_000, 0, slow=400), Arm(2_000, 0, slow=120)  # 2% against 6% over the p95 target
    decision = decide(Measurements(main, canary), plan())
    assert decision.action == "rollback" and "latency" in decision.reason


def test_a_distribution_shift_counts_only_past_the_margin() -> None:
    main = {"class 0": 10_000, "class 1": 10_000}
    shifted = Arm(2_000, 0, distribution={"class 0": 1_400, "class 1": 600})  # TVD 0.2
    assert judge((20_000, 0), (0, 0)) == "hold"  # no canary traffic at all
    assert decide(Measurements(Arm(20_000, 0, distribution=main), shifted), plan()).action == "rollback"
    slight = Arm(20_000, 0, distribution={"class 0": 10_600, "class 1": 9_400})  # significant, but TVD 0.03
    decision = decide(Measurements(Arm(20_000, 0, distribution=main), slight), plan())
    [_, distribution] = decision.checks
    assert distribution.p_value < 1e-6 and not distribution.worse and decision.action == "step"


# The first look at the 5% step of a canary as good as main, from a run of tests/runtime/canary_stack.py (its
# decision.json): unpooled, chi-square said p = 0.0058 against alpha 0.002 with a TVD of 0.16, one draw
# from a rollback. The canary expected 0.6 of the fourth bin and got 2.
CAPTURED_MAIN = {"score <= 0.1": 867, "score <= 0.2": 57, "score <= 0.4": 57, "score <= 0.5": 37, "score <= 0.6": 56,
                 "score <= 0.8": 20, "score <= 0.9": 95, "score <= 1": 1559}
CAPTURED_CANARY = {"score <= 0.1": 13, "score <= 0.2": 0, "score <= 0.4": 0, "score <= 0.5": 2, "score <= 0.6": 4,
                   "score <= 0.8": 0, "score <= 0.9": 4, "score <= 1": 21}


def test_sparse_score_bins_are_pooled_with_their_neighbours() -> None:
    canary = {**dict(reversed(CAPTURED_CANARY.items())), "score <= 0.05": 0}  # order does not matter
    decision = decide(Measurements(Arm(2_748, 0, distribution=CAPTURED_MAIN), Arm(44, 0, distribution=canary)),
                      plan(elapsed=11, min_requests=30, steps=((5, 0), (25, 0))))
    [_, distribution] = decision.checks
    middle = "0.1 < score <= 0.9"
    assert distribution.main == {"score <= 0.1": 867, middle: 322, "score <= 1": 1559}
    assert distribution.canary == {"score <= 0.1": 13, middle: 10, "score <= 1": 21}
    assert distribution.p_value > 0.05 and decision.action == "step"
    low = pool_sparse(["score <= 0.5", "score <= 1", "score <= 0.1"], [20, 300, 50], [5, 25, 3])
    assert low == (["score <= 0.5", "score <= 1"], [[70, 300], [8, 25]])  # the first two bins: score <= 0.5


def test_a_canary_failing_on_one_region_of_its_input_is_worse_in_distribution() -> None:
    """A canary that fails on the high scores (the requests main answers with a score above 0.9) predicts the
    rest as main does: its failed requests are an outcome of their own, so the shift shows."""
    main = {"score <= 0.1": 6_000, "score <= 0.9": 2_000, "score <= 1": 2_000, "failed": 0}
    canary = {"score <= 0.1": 600, "score <= 0.9": 200, "score <= 1": 0, "failed": 200}
    decision = decide(Measurements(Arm(10_000, 0, distribution=main), Arm(1_000, 0, distribution=canary)), plan())
    [_, distribution] = decision.checks
    assert distribution.canary["score <= 1"] == 0 and distribution.canary["failed"] == 200
    assert distribution.worse and decision.action == "rollback"
    sparse = pool_sparse(["score <= 0.5", "failed", "score <= 1"], [500, 0, 500], [40, 2, 38])
    assert sparse == (["score <= 0.5", "score <= 1 + failed"], [[500, 500], [40, 40]])  # pooled with the top bin


def test_failures_by_reason_are_shown_on_both_sides() -> None:
    decision = decide(Measurements(Arm(20_000, 10, failures={"MICROSERVICE_BAD_DATA": 10}),
                                   Arm(2_000, 900, failures={"MLPLAT_MODEL_ERROR": 899, "MICROSERVICE_BAD_DATA": 1})),
                      plan())
    assert decision.action == "rollback"
    assert decision.checks[0].reasons["canary"] == {"MLPLAT_MODEL_ERROR": 899, "MICROSERVICE_BAD_DATA": 1}


def test_counts_the_tests_cannot_judge_are_blind_never_a_pass() -> None:
    nan_moments = Arm(2_000, 0, moments=(2_000, float("nan"), 1.0))
    decision = decide(Measurements(Arm(20_000, 0, moments=(20_000, 1.0, 1.0)), nan_moments), plan())
    assert (decision.action, decision.blind) == ("hold", True) and "no p-value for mean" in decision.reason


def test_the_smallest_classes_are_pooled_together() -> None:
    labels, table = pool_sparse(["class 2", "class 0", "class 1", "class 3"], [60, 5_000, 4_900, 40], [3, 50, 45, 2])
    assert labels == ["class 0", "class 1 + class 2 + class 3"] and table == [[5_000, 5_000], [50, 50]]
    assert pool_sparse(["class 0", "class 1"], [900, 100], [2, 1])[0] == ["class 0 + class 1"]  # nothing to compare
    few = decide(Measurements(Arm(1_000, 0, distribution={"class 0": 900, "class 1": 100}),
                              Arm(3, 0, distribution={"class 0": 0, "class 1": 3})), plan())
    assert few.checks[1].p_value == 1.0 and few.action == "hold"


def test_false_distribution_rollbacks_stay_within_the_stated_level() -> None:
    """2,000 first looks at canaries of 40 requests drawn from main's own score distribution (the captured
    one): at most the first look's share of 1 - confidence roll back. Unpooled, 35 did (1.75%)."""
    rng = np.random.default_rng(20261202)
    probs = np.array(list(CAPTURED_MAIN.values()), dtype=float) / sum(CAPTURED_MAIN.values())
    first_look, runs = plan(elapsed=0, min_requests=30, steps=((5, 0), (25, 0))), 2_000
    rollbacks = 0
    for _ in range(runs):
        main = dict(zip(CAPTURED_MAIN, map(int, rng.multinomial(2_700, probs)), strict=True))
        canary = dict(zip(CAPTURED_MAIN, map(int, rng.multinomial(40, probs)), strict=True))
        rollbacks += decide(Measurements(Arm(2_700, 0, distribution=main), Arm(40, 0, distribution=canary)),
                            first_look).action == "rollback"
    assert rollbacks <= runs * look_alpha(0.99, 1, 1)


def test_a_regression_mean_shift_counts_past_half_a_standard_deviation() -> None:
    def moments(mean: float, sd: float, n: int) -> tuple[int, float, float]:
        return n, mean * n, (sd ** 2 + mean ** 2) * n

    main = Arm(20_000, 0, moments=moments(10.0, 2.0, 20_000))
    assert decide(Measurements(main, Arm(2_000, 0, moments=moments(11.5, 2.0, 2_000))), plan()).action == "rollback"
    assert decide(Measurements(main, Arm(2_000, 0, moments=moments(10.2, 2.0, 2_000))), plan()).action == "step"


def test_false_rollbacks_on_equal_arms_stay_within_the_stated_level() -> None:
    """1,000 analyses of arms with the same 1% error rate: at most 1 - confidence of them roll back, in one
    look and over a step of ten looks on growing evidence alike."""
    rng = np.random.default_rng(20261202)
    confidence, runs, looks = 0.99, 1000, 10
    first_look = plan(elapsed=0)  # the largest alpha a look gets: (1 - confidence) * 6 / pi^2
    single = sum(judge((5_000, int(rng.binomial(5_000, 0.01))), (1_000, int(rng.binomial(1_000, 0.01))),
                       first_look) == "rollback" for _ in range(runs))
    assert single <= runs * (1 - confidence)
    sequential = 0
    for _ in range(runs):
        main_errors = canary_errors = 0
        for look in range(1, looks + 1):
            main_errors += int(rng.binomial(2_000, 0.01))
            canary_errors += int(rng.binomial(200, 0.01))
            step = plan(elapsed=(look - 1) * 60, min_requests=10**9)  # never steps up: every look is judged
            if judge((2_000 * look, main_errors), (200 * look, canary_errors), step) == "rollback":
                sequential += 1
                break
    assert sequential <= runs * (1 - confidence)


def test_fisher_is_exact_on_small_counts() -> None:
    assert fisher_worse(0, 10, 0, 10) == 1.0
    assert fisher_worse(0, 10, 3, 10) == pytest.approx(0.1053, abs=1e-4)  # hypergeometric P(X >= 3 | 3 of 20)


def test_histogram_helpers() -> None:
    buckets = {"0.01": 50.0, "0.05": 90.0, "0.1": 97.0, "+Inf": 100.0}
    assert _over(buckets, 0.05) == 10 and _over(buckets, 0.06) == 3 and _over(buckets, 5) == 0
    assert _bins({"0.5": 30.0, "1": 100.0}) == {"score <= 0.5": 30, "score <= 1": 70}


def test_live_quality_per_side_rolls_back_a_less_accurate_canary() -> None:
    main = Arm(20_000, 0, wrong=(100, 2_000))  # 5% wrong on labelled traffic
    assert decide(Measurements(main, Arm(2_000, 0, wrong=(60, 300))), plan()).action == "rollback"  # 20%
    decision = decide(Measurements(main, Arm(2_000, 0, wrong=(16, 300))), plan())
    assert decision.action == "step" and [c.name for c in decision.checks] == ["errors", "quality"]
