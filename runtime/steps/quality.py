"""`python -m runtime quality`: live model quality, from ground truth joined to logged predictions.

In the quality CronWorkflow the predictions are the prediction log's window whose labels are due (the
window of --window-seconds ending --delay-seconds ago) and the labels the spec's
`monitoring.quality.labels.uri`; `mlplat quality` passes files instead. The labels join the log on the
request id (and the row within the request, where requests have several), the task's metrics are
computed on the joined rows and judged by the evaluation gates that bound a metric. Writes
quality.json and `degraded` (true/false, read by the workflow's retrain step) to --outputs and pushes
the metrics to a Pushgateway when one is given.

Exit codes: 0 every gate met, 1 a gate missed, 2 bad data (no predictions or labels, a join that
matches nothing, duplicate ids, too few rows, labels that are not numbers; never reported as
healthy). With --exit-zero-on-degradation a missed gate exits 0 too, so the workflow branches on
`degraded`.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from compiler.runtime_contract import QUALITY_METRIC, QUALITY_SIDE_ROWS, QUALITY_SIDE_WRONG, data_error, last_run

HEALTHY, DEGRADED, BAD_DATA = 0, 1, 2
JOB = "mlplat-quality"


class BadData(Exception):
    def __init__(self, problems: list[str]):
        super().__init__("; ".join(problems))
        self.problems = problems


def _parser() -> argparse.ArgumentParser:
    env = os.environ.get
    parser = argparse.ArgumentParser(prog="python -m runtime quality", description=__doc__.splitlines()[0])
    parser.add_argument("--spec", type=Path, default=Path(env("MLPLAT_SPEC", "/etc/mlplat/model.json")))
    parser.add_argument("--outputs", type=Path, default=Path(env("MLPLAT_OUTPUTS", "/tmp/outputs")))
    parser.add_argument("--labels", help="ground truth (default: the spec's monitoring.quality.labels.uri)")
    parser.add_argument("--predictions", help="logged predictions (a Parquet file or folder); default: the "
                                              "window of --prediction-log whose labels are due")
    parser.add_argument("--prediction-log", default=env("MLPLAT_PREDICTION_LOG"),
                        help="the model's prediction log folder (<team>/<model> under the environment's log)")
    parser.add_argument("--window-seconds", type=int, default=86400, help="length of the judged window")
    parser.add_argument("--delay-seconds", type=int, default=86400, help="how long labels take to land")
    parser.add_argument("--now", type=datetime.fromisoformat, default=None, help="ISO 8601; default: now")
    parser.add_argument("--pushgateway", default=env("MLPLAT_PUSHGATEWAY"), help="Pushgateway URL")
    parser.add_argument("--exit-zero-on-degradation", action="store_true", help="exit 0 on a missed gate")
    return parser


def main(argv: list[str]) -> int:
    args = _parser().parse_args(argv)
    from runtime.resolved import ResolvedSpec

    try:
        spec = ResolvedSpec.load(args.spec)
        settings = spec.spec["monitoring"]["quality"]
    except (OSError, ValueError, KeyError) as exc:
        print(f"quality: cannot read quality settings from the resolved spec {args.spec}: {exc}", file=sys.stderr)
        return BAD_DATA
    args.outputs.mkdir(parents=True, exist_ok=True)
    gates = [g for g in spec.gates if g.get("min") is not None or g.get("max") is not None]
    try:
        joined, metrics, sides = measure(spec.task, settings, args)
    except BadData as exc:
        _write(args.outputs, {"status": "bad-data", "problems": exc.problems}, degraded=False)
        print(f"quality: {spec.name} ({spec.environment}): bad data, nothing judged:", file=sys.stderr)
        print("\n".join(f"  - {p}" for p in exc.problems), file=sys.stderr)
        if args.pushgateway:
            _push(args.pushgateway, spec.name, spec.environment, None, 0)
        return BAD_DATA
    checks = [_judge(gate, metrics) for gate in gates]
    degraded = any(c["passed"] is False for c in checks)
    _write(args.outputs, {"status": "degraded" if degraded else "healthy", "rows": joined, "metrics": metrics,
                          "checks": checks}, degraded=degraded)
    print(f"quality: {spec.name} ({spec.environment}): {joined:,} labelled predictions")
    for name, value in sorted(metrics.items()):
        print(f"  {name:<12} {value:.4f}")
    for check in checks:
        print(f"  gate {check['gate']}: {'pass' if check['passed'] else 'FAIL' if check['passed'] is False else 'n/a'}"
              + (f" ({check['note']})" if check.get("note") else ""))
    print("DEGRADED" if degraded else "healthy")
    if args.pushgateway:
        _push(args.pushgateway, spec.name, spec.environment, metrics, joined, sides)
        print(f"pushed to {args.pushgateway}")
    return DEGRADED if degraded and not args.exit_zero_on_degradation else HEALTHY


def measure(task: str, settings: dict[str, Any], args: argparse.Namespace) -> tuple[int, dict[str, float],
                                                                                list[dict[str, Any]]]:
    """(joined rows, the task's metrics on them, wrong predictions per predictor and version). Raises
    BadData naming every problem found."""
    import numpy as np

    from runtime.metrics import compute

    labels_spec = settings["labels"]
    key = labels_spec.get("idColumn", "request_id")
    row = labels_spec.get("rowColumn")
    label = labels_spec.get("labelColumn", "label")
    predictions = _predictions(args)
    labels = _table("labels", args.labels or labels_spec["uri"])
    problems = []
    if predictions is None or predictions.empty:
        problems.append("no logged predictions in the judged window" if not args.predictions
                        else f"no logged predictions in {args.predictions}")
    if labels.empty:
        problems.append("no labels")
    for column in (key, label, *([row] if row else [])):
        if not labels.empty and column not in labels.columns:
            problems.append(f"the labels have no column {column!r} (columns: {', '.join(map(str, labels.columns))})")
    if problems:
        raise BadData(problems)
    on = ["request_id", "row"] if row else ["request_id"]
    labels = labels.rename(columns={key: "request_id", label: "label", **({row: "row"} if row else {})})
    labels["request_id"] = labels["request_id"].astype(str)
    if labels.duplicated(on).any():
        problems.append(f"{int(labels.duplicated(on).sum())} duplicate ids in the labels ({' + '.join(on)})")
    if predictions.duplicated(["request_id", "row"]).any():
        problems.append("duplicate request ids in the prediction log")
    if not row and (predictions["row"] > 0).any():
        problems.append("the log holds requests of several rows: set monitoring.quality.labels.rowColumn")
    if problems:
        raise BadData(problems)
    joined = predictions.merge(labels[[*on, "label"]], on=on, how="inner")
    if joined.empty:
        raise BadData([f"none of {len(labels):,} labels matches one of {len(predictions):,} logged predictions "
                       f"(joined on {' + '.join(on)})"])
    y = joined["label"].to_numpy()
    if not np.issubdtype(y.dtype, np.number) or not np.isfinite(y.astype(float)).all():
        raise BadData(["labels that are not finite numbers"])
    if len(joined) < int(settings.get("minRows", 100)):
        raise BadData([f"{len(joined):,} labelled predictions; the spec's minRows is {settings.get('minRows', 100)}"])
    if task == "multiclass-classification":
        columns = sorted((c for c in joined.columns if c.startswith("score_")), key=_class_index)
        scores = joined[columns].to_numpy()
    else:
        scores = joined["prediction"].to_numpy()
    try:
        metrics = compute(task, y, scores)
    except ValueError as exc:  # one class only, labels outside the model's classes
        raise BadData([f"the task's metrics cannot be computed on these labels: {exc}"]) from None
    return len(joined), {k: float(v) for k, v in metrics.items()}, _sides(task, joined, y, scores)


def _sides(task: str, joined: Any, labels: Any, scores: Any) -> list[dict[str, Any]]:
    """Wrong predictions and labelled rows per predictor (main, canary) and version, for the canary
    analysis to compare: a classification's predicted class (the larger score; 0.5 for a binary one)
    against its label. Other tasks have no such count."""
    import numpy as np

    if task == "binary-classification":
        predicted = (scores >= 0.5).astype(int)
    elif task == "multiclass-classification":
        predicted = scores.argmax(axis=1)
    else:
        return []
    if "predictor" not in joined.columns or "version" not in joined.columns:
        return []
    wrong = predicted != labels.astype(int)
    sides = []
    for (predictor, version), index in joined.groupby(["predictor", "version"]).groups.items():
        rows = joined.index.get_indexer(index)
        sides.append({"predictor": str(predictor), "version": str(version), "rows": len(rows),
                      "wrong": int(np.count_nonzero(wrong[rows]))})
    return sides


def _class_index(column: str) -> int:
    digits = "".join(c for c in column.rsplit("_", 1)[-1] if c.isdigit())
    return int(digits or 0)


def _predictions(args: argparse.Namespace) -> Any:
    if args.predictions:
        return _table("predictions", args.predictions)
    if not args.prediction_log:
        raise BadData(["no predictions: give --predictions, or --prediction-log (MLPLAT_PREDICTION_LOG)"])
    from runtime.drift.source import SourceError
    from runtime.drift.window import open_window

    end = (args.now or datetime.now(UTC)) - timedelta(seconds=args.delay_seconds)
    try:
        source = open_window("predictions", args.prediction_log, args.window_seconds, end)
    except SourceError as exc:
        raise BadData([str(exc)]) from None
    if not source.num_rows:
        return None
    return source.table().to_pandas()


def _table(label: str, location: str) -> Any:
    """A CSV file or Parquet file or folder: a path, a file:// URI, or an object store's URI (pyarrow)."""
    from urllib.parse import unquote, urlparse

    import pandas as pd
    import pyarrow as pa
    import pyarrow.dataset as ds

    parsed = urlparse(location)
    if parsed.scheme == "file":
        location = unquote(parsed.path)
    if location.endswith(".csv"):
        if not Path(location).exists():
            raise BadData([f"{label}: no such file: {location}"])
        return pd.read_csv(location)
    try:
        return ds.dataset(location, format="parquet").to_table().to_pandas()
    except (pa.ArrowInvalid, OSError, ValueError) as exc:
        raise BadData([f"{label}: cannot read {location}: {exc}"]) from None


def _judge(gate: dict[str, Any], metrics: dict[str, float]) -> dict[str, Any]:
    metric = gate["metric"]
    bound = f"{metric} >= {gate['min']}" if gate.get("min") is not None else f"{metric} <= {gate['max']}"
    if metric not in metrics:
        return {"gate": bound, "passed": None,
                "note": "not a built-in metric of the task: live quality cannot judge it"}
    value = metrics[metric]
    passed = value >= gate["min"] if gate.get("min") is not None else value <= gate["max"]
    return {"gate": bound, "value": value, "passed": bool(passed)}


def _write(outputs: Path, body: dict[str, Any], degraded: bool) -> None:
    (outputs / "quality.json").write_text(json.dumps(body, indent=2, sort_keys=True) + "\n", "utf-8")
    (outputs / "degraded").write_text("true" if degraded else "false", "utf-8")


def _push(gateway: str, model: str, environment: str, metrics: dict[str, float] | None, rows: int,
          sides: Sequence[dict[str, Any]] = ()) -> None:
    """A result replaces the group; a bad-data run only sets the error (the last good metrics stay)."""
    from prometheus_client import CollectorRegistry, Gauge, push_to_gateway, pushadd_to_gateway

    registry = CollectorRegistry()
    error = Gauge(data_error("quality"), "1 when the last quality run found bad data", registry=registry)
    group = {"model": model, "environment": environment}
    if metrics is None:
        error.set(1)
        pushadd_to_gateway(gateway, job=JOB, registry=registry, grouping_key=group, timeout=10)
        return
    error.set(0)
    gauge = Gauge(QUALITY_METRIC, "Live model quality on labelled traffic", ["metric"], registry=registry)
    for name, value in metrics.items():
        gauge.labels(metric=name).set(value)
    Gauge("mlplat_quality_rows", "Labelled predictions judged", registry=registry).set(rows)
    judged = Gauge(QUALITY_SIDE_ROWS, "Labelled predictions judged, per predictor and version",
                   ["predictor", "version"], registry=registry)
    wrong = Gauge(QUALITY_SIDE_WRONG, "Wrong predicted classes among them", ["predictor", "version"],
                  registry=registry)
    for side in sides:
        judged.labels(side["predictor"], side["version"]).set(side["rows"])
        wrong.labels(side["predictor"], side["version"]).set(side["wrong"])
    Gauge(last_run("quality"), "When the last quality result was computed",
          registry=registry).set(time.time())
    push_to_gateway(gateway, job=JOB, registry=registry, grouping_key=group, timeout=10)
