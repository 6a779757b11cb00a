"""The canary decision: step up, hold or roll back, from main's and the canary's counts.

The rule, as docs/delivery.md states it:

- Each check compares the canary with main over the current step (at a 100% step, main's requests of
  the same length just before the step). Failures (every answer that is not a success: both sides see
  the same traffic, so a difference is the model's) and slow requests (over the SLO's p95 target,
  where the spec has one) use a one-sided Fisher exact test: is the canary's share higher than main's?
  The prediction distribution (predicted classes or score bins, and failed requests as an outcome of
  their own, pooled until each side expects 5 in every bin) uses a chi-square test of homogeneity and
  counts as worse only past the monitoring's shift margin (total variation distance 0.1); a
  regression's mean uses Welch's t-test and counts past half a standard deviation of main's. Live
  quality, where the quality job reports per predictor, uses the Fisher test on wrong predictions.
- A check is worse when its p-value is below alpha_k / m: m checks, and alpha_k = (1 - confidence) *
  6 / (pi^2 k^2) at the step's k-th look (the analyses of a step look at growing evidence; the alphas
  sum to 1 - confidence over any number of looks). So a canary no worse than main is rolled back in a
  step with probability at most 1 - confidence.
- Roll back, at any look, when any check is worse, or a page-severity alert fires for the canary.
  Otherwise hold until each side has served `minRequests` in the step and the step's bake time has
  passed, then step up (after the last step: the candidate becomes main). Too little traffic holds; it
  never passes. The bake delays only a step up, never a rollback.
- No usable answer from Prometheus (unreachable, late, malformed, contradictory), no canary target in
  it, or counts the tests cannot judge, is "blind": hold, and the job reports it. Blind evidence never
  steps up, promotes or rolls back.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Literal

from compiler.runtime_contract import CLASS_SHIFT, MEAN_SHIFT

MIN_EXPECTED = 5  # counts each side must expect in a bin for the chi-square test (Cochran's rule)
SCORE_BIN = "score <= "  # the score bins' labels (runtime/canary/measurements.py)
FAILED_OUTCOME = "failed"  # failed requests, an outcome of the distribution beside the classes or score bins


@dataclass(frozen=True)
class Arm:
    """What one side (main or canary) served in the analysis window, as Prometheus counted it."""

    requests: int
    errors: int
    slow: int | None = None  # requests over the latency threshold; None: no SLO to judge by
    distribution: dict[str, int] = field(default_factory=dict)  # predicted class or score bin -> count
    moments: tuple[int, float, float] | None = None  # regression: (predictions, sum, sum of squares)
    wrong: tuple[int, int] | None = None  # live quality: (wrong predictions, labelled rows)
    failures: dict[str, int] = field(default_factory=dict)  # the model server's refusals by reason (shown)


@dataclass(frozen=True)
class Measurements:
    """Both sides as Prometheus counted them over the step, or why it could not (`blind`)."""

    main: Arm
    canary: Arm
    page_alerts: tuple[str, ...] = ()  # page-severity alerts firing for the canary
    queries: dict[str, str] = field(default_factory=dict)
    blind: str | None = None  # why Prometheus gave no usable answer


@dataclass(frozen=True)
class CanaryState:
    """Where the canary is and what its spec asks."""

    steps: tuple[tuple[int, int], ...]  # (traffic percent, bake seconds) of each step
    traffic: int  # the current step's share
    elapsed: int  # seconds since the current step was decided
    interval: int  # seconds between analyses
    confidence: float
    min_requests: int
    timed: bool = True  # False: releases.yaml does not say when the step began (elapsed is a guess)

    @property
    def index(self) -> int:
        shares = [share for share, _ in self.steps]
        return shares.index(self.traffic) if self.traffic in shares else 0

    @property
    def look(self) -> int:
        return self.elapsed // self.interval + 1


CheckName = Literal["errors", "latency", "distribution", "mean", "quality"]
Action = Literal["hold", "step", "promote", "rollback"]


@dataclass
class Check:
    """One comparison of the canary with main; `alpha` and `worse` once it is judged at a look."""

    name: CheckName
    test: str
    main: Any  # what main served, as the test counts it: "bad/total", a distribution, or a mean
    canary: Any
    p_value: float
    beyond_margin: bool = True  # past the check's practical margin (distribution, mean); Fisher tests have none
    distance: float | None = None  # distribution: the total variation distance
    reasons: dict[str, dict[str, int]] | None = None  # errors: each side's failures by reason
    queries: dict[str, str] = field(default_factory=dict)  # side -> the PromQL asked
    alpha: float | None = None
    worse: bool | None = None

    def judge(self, alpha: float) -> None:
        self.alpha, self.worse = alpha, bool(self.p_value < alpha and self.beyond_margin)

    def as_dict(self) -> dict[str, Any]:
        """The check as decision.json and the commit message hold it."""
        found: dict[str, Any] = {"name": self.name, "test": self.test, "main": self.main, "canary": self.canary,
                                 "pValue": self.p_value, "queries": self.queries}
        if self.distance is not None:
            found["distance"] = self.distance
        if self.reasons is not None:
            found["reasons"] = self.reasons
        if self.alpha is not None:
            found |= {"alpha": self.alpha, "worse": self.worse}
        return found


@dataclass(frozen=True)
class Decision:
    action: Action
    reason: str
    traffic_from: int
    traffic_to: int | None
    checks: list[Check]
    alpha: float
    blind: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {"action": self.action, "reason": self.reason, "traffic": {"from": self.traffic_from,
                                                                         "to": self.traffic_to},
                "checks": [check.as_dict() for check in self.checks], "alpha": self.alpha, "blind": self.blind}


def look_alpha(confidence: float, look: int, checks: int) -> float:
    """The significance level of one check at the step's `look`-th analysis."""
    return (1 - confidence) * 6 / (math.pi ** 2 * look ** 2) / max(checks, 1)


def fisher_worse(main_bad: int, main_total: int, canary_bad: int, canary_total: int) -> float:
    """One-sided Fisher exact test: the p-value of the canary's bad share being this high or higher if
    both sides had the same rate (hypergeometric, conditional on the totals)."""
    from scipy.stats import hypergeom

    bad = main_bad + canary_bad
    if canary_total == 0 or bad == 0:
        return 1.0
    return float(hypergeom.sf(canary_bad - 1, main_total + canary_total, bad, canary_total))


def decide(evidence: Measurements, plan: CanaryState) -> Decision:
    if evidence.blind:
        return Decision("hold", f"blind: {evidence.blind}", plan.traffic, None, [], 0.0, blind=True)
    try:
        checks = _checks(evidence)
    except (ArithmeticError, ValueError) as exc:  # counts the tests cannot take: nothing is decided on them
        return Decision("hold", f"blind: the evidence cannot be judged ({type(exc).__name__}: {exc})", plan.traffic,
                        None, [], 0.0, blind=True)
    unjudged = [c.name for c in checks if not math.isfinite(c.p_value)]
    if unjudged:  # a NaN p-value is below no alpha, and would pass
        for check in checks:
            check.alpha, check.worse = 0.0, False
        return Decision("hold", f"blind: no p-value for {', '.join(unjudged)} on these counts", plan.traffic, None,
                        checks, 0.0, blind=True)
    alpha = look_alpha(plan.confidence, plan.look, len(checks))
    for check in checks:
        check.judge(alpha)
    worse = [c.name for c in checks if c.worse]
    if evidence.page_alerts:
        return Decision("rollback", f"page alert firing for the canary: {', '.join(evidence.page_alerts)}",
                        plan.traffic, None, checks, alpha)
    if worse:
        return Decision("rollback", f"canary worse than main in {', '.join(worse)} "
                        f"(p < {alpha:.3g} at look {plan.look})", plan.traffic, None, checks, alpha)
    short = [f"{side} {arm.requests} < {plan.min_requests}" for side, arm in (("main", evidence.main),
             ("canary", evidence.canary)) if arm.requests < plan.min_requests]
    if short:
        return Decision("hold", f"too little traffic in the step ({', '.join(short)} requests)", plan.traffic,
                        None, checks, alpha)
    bake = plan.steps[plan.index][1]
    if not plan.timed:
        return Decision("hold", "releases.yaml does not say when this step began (candidate.since), so its bake "
                        "cannot be timed; not worse so far", plan.traffic, None, checks, alpha)
    if plan.elapsed < bake:
        return Decision("hold", f"not worse so far; baking ({plan.elapsed}s of {bake}s)", plan.traffic, None,
                        checks, alpha)
    if plan.index + 1 < len(plan.steps):
        following = plan.steps[plan.index + 1][0]
        return Decision("step", f"not worse than main at {plan.traffic}% after {plan.elapsed}s", plan.traffic,
                        following, checks, alpha)
    return Decision("promote", f"not worse than main through the last step ({plan.traffic}%)", plan.traffic, 100,
                    checks, alpha)


def _checks(evidence: Measurements) -> list[Check]:
    main, canary = evidence.main, evidence.canary
    checks = [_fisher("errors", main.errors, main.requests, canary.errors, canary.requests)]
    checks[0].test = "Fisher exact on failed requests (any status but 2xx), one-sided (canary share higher)"
    if main.failures or canary.failures:
        checks[0].reasons = {"main": main.failures, "canary": canary.failures}
    if main.slow is not None and canary.slow is not None:
        checks.append(_fisher("latency", main.slow, main.requests, canary.slow, canary.requests))
    if main.distribution and canary.distribution:
        checks.append(_distribution(main.distribution, canary.distribution))
    if main.moments and canary.moments and main.moments[0] > 1 and canary.moments[0] > 1:
        checks.append(_mean(main.moments, canary.moments))
    if main.wrong and canary.wrong:
        checks.append(_fisher("quality", *main.wrong, *canary.wrong))
    for check in checks:
        prefix = check.name + "."
        check.queries = {key[len(prefix):]: expr for key, expr in evidence.queries.items() if key.startswith(prefix)}
    return checks


def _fisher(name: CheckName, main_bad: int, main_total: int, canary_bad: int, canary_total: int) -> Check:
    return Check(name, "Fisher exact, one-sided (canary share higher)", f"{main_bad}/{main_total}",
                 f"{canary_bad}/{canary_total}", fisher_worse(main_bad, main_total, canary_bad, canary_total))


def _distribution(main: dict[str, int], canary: dict[str, int]) -> Check:
    from scipy.stats import chi2_contingency

    keys = [k for k in dict.fromkeys([*main, *canary]) if main.get(k, 0) + canary.get(k, 0) > 0]
    labels, table = pool_sparse(keys, [main.get(k, 0) for k in keys], [canary.get(k, 0) for k in keys])
    n_main, n_canary = sum(table[0]), sum(table[1])
    if len(labels) < 2:
        p_value, distance = 1.0, 0.0
    else:
        p_value = float(chi2_contingency(table, correction=False).pvalue)
        distance = 0.5 * sum(abs(a / n_main - b / n_canary) for a, b in zip(*table, strict=True))
    return Check("distribution", f"chi-square homogeneity on bins pooled to >= {MIN_EXPECTED} expected per side, "
                 f"worse past TVD {CLASS_SHIFT}", dict(zip(labels, table[0], strict=True)),
                 dict(zip(labels, table[1], strict=True)), p_value, beyond_margin=distance >= CLASS_SHIFT,
                 distance=round(distance, 4))


def pool_sparse(keys: list[str], main: list[int], canary: list[int]) -> tuple[list[str], list[list[int]]]:
    """The bins pooled until each expects at least MIN_EXPECTED counts on both sides, as the chi-square
    approximation needs: with a few requests on the canary, a bin it expects 0.6 of and gets 2 of makes a
    p-value far below the truth, and canaries as good as main were rolled back. Score bins pool with their
    neighbours, classes smallest with smallest; a part too small to stand alone joins the last pooled
    bin. One bin left means the sides cannot be compared yet."""
    n_main, n_canary = sum(main), sum(canary)
    if not n_main or not n_canary:
        return [], [[], []]
    needed = MIN_EXPECTED * (n_main + n_canary) / min(n_main, n_canary)
    scores = all(k.startswith(SCORE_BIN) or k == FAILED_OUTCOME for k in keys) and keys != [FAILED_OUTCOME]
    if scores:
        # failed requests after the highest score bin: sparse, they pool with it, never inside the scores
        order = sorted(range(len(keys)), key=lambda i: math.inf if keys[i] == FAILED_OUTCOME
                       else float(keys[i][len(SCORE_BIN):]))
    else:
        order = sorted(range(len(keys)), key=lambda i: (-(main[i] + canary[i]), keys[i]))
    groups: list[list[int]] = []
    filling: list[int] = []
    for i in order:
        filling.append(i)
        if sum(main[j] + canary[j] for j in filling) >= needed:
            groups.append(filling)
            filling = []
    if filling and groups:
        groups[-1] += filling
    elif filling:
        groups.append(filling)
    if scores:
        labels = [_score_label([keys[i] for i in g], [keys[h[-1]] for h in groups[:n]]) for n, g in enumerate(groups)]
    else:
        labels = [" + ".join(keys[i] for i in g) for g in groups]
    return labels, [[sum(main[i] for i in g) for g in groups], [sum(canary[i] for i in g) for g in groups]]


def _score_label(members: list[str], earlier: list[str]) -> str:
    """A pooled score bin's label: its bounds, and whether failed requests are in it."""
    scores = [k for k in members if k != FAILED_OUTCOME]
    failed = f" + {FAILED_OUTCOME}" if FAILED_OUTCOME in members else ""
    if not scores:
        return FAILED_OUTCOME
    lower = next((k for k in reversed(earlier) if k != FAILED_OUTCOME), None)
    if len(scores) == 1 or lower is None:
        return scores[-1] + failed
    return f"{lower[len(SCORE_BIN):]} < score <= {scores[-1][len(SCORE_BIN):]}{failed}"


def _mean(main: tuple[int, float, float], canary: tuple[int, float, float]) -> Check:
    from scipy.stats import ttest_ind_from_stats

    def stats(n: int, total: float, squares: float) -> tuple[float, float]:
        mean = total / n
        return mean, math.sqrt(max(squares / n - mean ** 2, 0.0) * n / (n - 1))

    (m_mean, m_sd), (c_mean, c_sd) = stats(*main), stats(*canary)
    if m_sd == 0 and c_sd == 0:
        p_value = 1.0 if m_mean == c_mean else 0.0
    else:
        p_value = float(ttest_ind_from_stats(m_mean, m_sd, main[0], c_mean, c_sd, canary[0], equal_var=False).pvalue)
    margin = MEAN_SHIFT * m_sd
    return Check("mean", f"Welch t, worse past {MEAN_SHIFT} sd of main", round(m_mean, 6), round(c_mean, 6), p_value,
                 beyond_margin=abs(c_mean - m_mean) >= margin)
