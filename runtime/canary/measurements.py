"""Main's and the canary's counts, asked of Prometheus with PromQL over the current step.

Series carry the pod labels the PodMonitor copies (renderers/scraping.py): `model`, `environment`,
`predictor` (main or canary) and `version`, so each side is its predictor at its pinned version. Counts
are `increase()` over the seconds since the step was decided, at one evaluation time, rounded to whole
requests; at a 100% step main serves nothing, and its side is the same length just before the step.
Live quality is the quality job's last result per predictor and version (its labelled window, not the
step's), where the job has judged both sides.

A failure is any answer that is not a success (`code!~"2.."`): both sides see the same traffic, so a
difference in any failure rate is the model's, whatever status the server chose. Failures also count
as their own outcome in the prediction distribution, so a model that fails on one region of its input
cannot look like one that predicts the rest alike.

Nothing doubtful is believed (prometheus_query.py checks every answer); on top of that each side's
counts must agree with each other (failures and slow requests at most the requests, wrong predictions
at most the labelled rows). Any doubt makes the evidence blind, and blind evidence decides nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

from compiler.runtime_contract import (
    EXECUTOR_REQUESTS,
    PREDICTED_CLASS,
    PREDICTION_SCORE_BUCKET,
    PREDICTION_SQUARE_SUM,
    PREDICTION_SUM,
    PREDICTIONS,
    QUALITY_SIDE_ROWS,
    QUALITY_SIDE_WRONG,
    REQUEST_FAILURES,
)
from runtime.canary.decide import FAILED_OUTCOME, SCORE_BIN, Arm, Measurements
from runtime.canary.prometheus_query import Blind, Prometheus

FAILED = 'code!~"2.."'  # every answer that is not a success, 4xx included


@dataclass(frozen=True)
class Side:
    predictor: str
    version: int
    offset: int = 0  # seconds the window ends before the evaluation time


def gather(prometheus: Prometheus, model: str, environment: str, main: Side, canary: Side, window: int,
           at: float, slo_p95_seconds: float | None) -> Measurements:
    """Both sides' counts; Measurements with `blind` set where Prometheus cannot be asked, answers anything
    doubtful, or knows no canary target."""
    queries: dict[str, str] = {}
    try:
        own = f'model="{model}", environment="{environment}"'
        present = f'count(up{{{own}, predictor="canary"}})'
        queries["present"] = present
        if not prometheus.vector(present, at):
            return Measurements(Arm(0, 0), Arm(0, 0), queries=queries,
                                blind=f"Prometheus has no canary target of {model} in {environment} ({present})")
        arms = {side.predictor: _arm(prometheus, own, side, window, at, slo_p95_seconds, queries)
                for side in (main, canary)}
        page = f'count by (alertname) (ALERTS{{{own}, predictor="canary", severity="page", alertstate="firing"}})'
        queries["alerts"] = page
        alerts = tuple(sorted(prometheus.vector(page, at, by="alertname")))
    except Blind as exc:
        return Measurements(Arm(0, 0), Arm(0, 0), queries=queries, blind=str(exc))
    return Measurements(arms[main.predictor], arms[canary.predictor], alerts, queries)


def _arm(prometheus: Prometheus, own: str, side: Side, window: int, at: float, slo: float | None,
         queries: dict[str, str]) -> Arm:
    sel = f'{own}, predictor="{side.predictor}", version="{side.version}"'
    offset = f" offset {side.offset}s" if side.offset else ""
    name = side.predictor

    def increase(key: str | None, metric: str, matchers: str = "", by: str | None = None,
                 signed: bool = False) -> dict[str, float]:
        grouping = f" by ({by})" if by else ""
        expr = f"sum{grouping} (increase({metric}{{{sel}{matchers}}}[{window}s]{offset}))"
        if key:
            queries[f"{key}.{name}"] = expr
        return prometheus.vector(expr, at, by=by, signed=signed)

    requests = _total(increase("requests", f"{EXECUTOR_REQUESTS}_count"))
    errors = _total(increase("errors", f"{EXECUTOR_REQUESTS}_count", f", {FAILED}"))
    reasons = {reason or "(none)": round(count) for reason, count in
               increase("reasons", f"{REQUEST_FAILURES}_total", by="reason").items() if round(count)}
    slow = None
    if slo is not None:
        slow = _over(increase("latency", f"{EXECUTOR_REQUESTS}_bucket", by="le"), slo)
    classes = increase("distribution", f"{PREDICTED_CLASS}_total", by="class")
    if classes:
        distribution = {f"class {k}": round(v) for k, v in classes.items()}
    else:
        distribution = _bins(increase("distribution", f"{PREDICTION_SCORE_BUCKET}_total", by="le"))
    if distribution:
        distribution[FAILED_OUTCOME] = errors
    moments = None
    sums = increase("mean", f"{PREDICTION_SUM}_total", signed=True)
    if sums:
        squares = increase(None, f"{PREDICTION_SQUARE_SUM}_total")
        count = increase(None, f"{PREDICTIONS}_total")
        moments = (_total(count), sum(sums.values()), sum(squares.values()))
    wrong = None
    labelled = f"max({QUALITY_SIDE_ROWS}{{{sel}}})"
    queries[f"quality.{name}"] = f"max({QUALITY_SIDE_WRONG}{{{sel}}})"
    judged = _total(prometheus.vector(labelled, at))
    if judged > 0:
        wrong = (_total(prometheus.vector(queries[f"quality.{name}"], at)), judged)
    arm = Arm(requests, errors, slow, distribution, moments, wrong, reasons)
    consistent(name, arm)
    return arm


def consistent(name: str, arm: Arm) -> None:
    """Blind where one side's counts contradict each other: evidence that cannot all be true decides nothing."""
    problems = []
    if arm.errors > arm.requests:
        problems.append(f"{arm.errors} failed of {arm.requests} requests")
    if arm.slow is not None and arm.slow > arm.requests:
        problems.append(f"{arm.slow} slow of {arm.requests} requests")
    if arm.wrong is not None and arm.wrong[0] > arm.wrong[1]:
        problems.append(f"{arm.wrong[0]} wrong of {arm.wrong[1]} labelled rows")
    if arm.moments is not None and arm.moments[2] < 0:
        problems.append("a negative sum of squares")
    if problems:
        raise Blind(f"{name}'s counts contradict each other ({'; '.join(problems)}): Prometheus' answers cannot "
                    "all be true")


def _total(values: dict[str, float]) -> int:
    return round(sum(values.values()))


def _over(buckets: dict[str, float], threshold: float) -> int | None:
    """Requests slower than the smallest bucket bound at or above `threshold` (cumulative buckets)."""
    bounds = sorted((_bound(le), count) for le, count in buckets.items())
    if not bounds:
        return None
    everything = bounds[-1][1]
    within = next((count for bound, count in bounds if bound >= threshold), everything)
    return round(everything - within)


def _bins(cumulative: dict[str, float]) -> dict[str, int]:
    """Score histogram bins from cumulative `le` counts; Blind where they are not cumulative."""
    bins, below = {}, 0.0
    for bound, count in sorted((_bound(le), c) for le, c in cumulative.items()):
        if round(count - below) < 0:
            raise Blind(f"score buckets are not cumulative (le={bound:g} holds {count:g}, below it {below:g})")
        bins[f"{SCORE_BIN}{bound:g}"] = round(count - below)
        below = count
    return bins


def _bound(le: str) -> float:
    try:
        return float(le)
    except ValueError as exc:
        raise Blind(f"a histogram bucket's le label is {le!r}, not a number") from exc
