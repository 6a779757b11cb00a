"""Main's and the canary's counts, asked of Prometheus with PromQL over the current step.

Series carry the pod labels the PodMonitor copies (renderers/scraping.py): `model`, `environment`,
`predictor` (main or canary) and `version`, so each side is its predictor at its pinned version. Counts
are `increase()` over the seconds since the step was decided, at one evaluation time, rounded to whole
requests; at a 100% step main serves nothing, and its side is the same length just before the step.
Live quality is the quality job's last result per predictor and version (its labelled window, not the
step's), where the job has judged both sides.
"""

from __future__ import annotations

import json
import math
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Any

from runtime.canary.decide import SCORE_BIN, Arm, Evidence

REQUESTS = "seldon_api_executor_server_requests_seconds"
TIMEOUT = 10


class Blind(Exception):
    """Prometheus gave no usable answer."""


@dataclass(frozen=True)
class Side:
    predictor: str
    version: int
    offset: int = 0  # seconds the window ends before the evaluation time


class Prometheus:
    def __init__(self, url: str):
        self.url = url.rstrip("/")

    def query(self, expr: str, at: float) -> list[dict[str, Any]]:
        params = urllib.parse.urlencode({"query": expr, "time": f"{at:.3f}"})
        try:
            with urllib.request.urlopen(f"{self.url}/api/v1/query?{params}", timeout=TIMEOUT) as response:
                body = json.loads(response.read())
        except (OSError, ValueError) as exc:  # refused, timed out, HTTP error, not JSON
            raise Blind(f"Prometheus at {self.url} did not answer {expr!r}: {exc}") from exc
        if body.get("status") != "success":
            raise Blind(f"Prometheus refused {expr!r}: {body.get('error', body)}")
        return body["data"]["result"]


def gather(prometheus: Prometheus, model: str, environment: str, main: Side, canary: Side, window: int,
           at: float, slo_p95_seconds: float | None) -> Evidence:
    """Both sides' counts; an Evidence with `blind` set where Prometheus cannot be asked or knows no
    canary target."""
    queries: dict[str, str] = {}
    try:
        own = f'model="{model}", environment="{environment}"'
        present = f'up{{{own}, predictor="canary"}}'
        if not prometheus.query(present, at):
            return Evidence(Arm(0, 0), Arm(0, 0), queries={"present": present},
                            blind=f"Prometheus has no canary target of {model} in {environment} ({present})")
        arms = {}
        for side in (main, canary):
            arms[side.predictor] = _arm(prometheus, own, side, window, at, slo_p95_seconds, queries)
        page = f'ALERTS{{{own}, predictor="canary", severity="page", alertstate="firing"}}'
        alerts = tuple(sorted({r["metric"].get("alertname", "?") for r in prometheus.query(page, at)}))
        queries["alerts"] = page
    except Blind as exc:
        return Evidence(Arm(0, 0), Arm(0, 0), queries=queries, blind=str(exc))
    return Evidence(arms[main.predictor], arms[canary.predictor], alerts, queries)


def _arm(prometheus: Prometheus, own: str, side: Side, window: int, at: float, slo: float | None,
         queries: dict[str, str]) -> Arm:
    sel = f'{own}, predictor="{side.predictor}", version="{side.version}"'
    offset = f" offset {side.offset}s" if side.offset else ""

    def increase(metric: str, matchers: str = "", by: str = "") -> tuple[str, dict[str, float]]:
        grouping = f" by ({by})" if by else ""
        expr = f"sum{grouping} (increase({metric}{{{sel}{matchers}}}[{window}s]{offset}))"
        rows = prometheus.query(expr, at)
        return expr, {r["metric"].get(by, ""): float(r["value"][1]) for r in rows
                      if math.isfinite(float(r["value"][1]))}

    def total(values: dict[str, float]) -> int:
        return round(sum(values.values()))

    name = side.predictor
    queries[f"requests.{name}"], requests = increase(f"{REQUESTS}_count")
    queries[f"errors.{name}"], errors = increase(f"{REQUESTS}_count", ', code=~"5.."')
    slow = None
    if slo is not None:
        queries[f"latency.{name}"], buckets = increase(f"{REQUESTS}_bucket", by="le")
        slow = _over(buckets, slo)
    queries[f"distribution.{name}"], classes = increase("mlplat_predicted_class_total", by="class")
    if classes:
        distribution = {f"class {k}": round(v) for k, v in classes.items()}
    else:
        queries[f"distribution.{name}"], scores = increase("mlplat_prediction_score_bucket_total", by="le")
        distribution = _bins(scores)
    moments = None
    queries[f"mean.{name}"], sums = increase("mlplat_prediction_sum_total")
    if sums:
        _, squares = increase("mlplat_prediction_square_sum_total")
        _, count = increase("mlplat_predictions_total")
        moments = (total(count), sum(sums.values()), sum(squares.values()))
    wrong = None
    labelled = f'{own}, predictor="{side.predictor}", version="{side.version}"'
    queries[f"quality.{name}"] = f"max(mlplat_quality_side_wrong{{{labelled}}})"
    judged = prometheus.query(f"max(mlplat_quality_side_rows{{{labelled}}})", at)
    if judged and float(judged[0]["value"][1]) > 0:
        missed = prometheus.query(queries[f"quality.{name}"], at)
        wrong = (round(float(missed[0]["value"][1])) if missed else 0, round(float(judged[0]["value"][1])))
    return Arm(total(requests), total(errors), slow, distribution, moments, wrong)


def _over(buckets: dict[str, float], threshold: float) -> int | None:
    """Requests slower than the smallest bucket bound at or above `threshold` (cumulative buckets)."""
    bounds = sorted((float(le), count) for le, count in buckets.items() if le)
    if not bounds:
        return None
    everything = bounds[-1][1]
    within = next((count for bound, count in bounds if bound >= threshold), everything)
    return round(everything - within)


def _bins(cumulative: dict[str, float]) -> dict[str, int]:
    """Score histogram bins from cumulative `le` counts."""
    bins, below = {}, 0.0
    for bound, count in sorted((float(le), c) for le, c in cumulative.items() if le):
        bins[f"{SCORE_BIN}{bound:g}"] = round(count - below)
        below = count
    return bins
