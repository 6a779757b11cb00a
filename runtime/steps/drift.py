"""`python -m runtime drift`: compare the current window with the reference; report, push, decide.

In the drift CronWorkflow the reference is the spec's training data and the current window the
prediction log's last hours; `mlplat drift` passes two files instead. Writes drift.json, `drifted`
(true/false, read by the workflow's retrain step) and Evidently's HTML report to --outputs, and
pushes the scores to a Pushgateway when one is given.

Exit codes: 0 no drift, 1 drift, 2 bad data or nothing to compare (never reported as "no drift").
With --exit-zero-on-drift drift exits 0 too, so a workflow succeeds and branches on `drifted`.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

NO_DRIFT, DRIFT, BAD_DATA = 0, 1, 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m runtime drift", description=__doc__.splitlines()[0])
    parser.add_argument("--spec", type=Path, default=Path(os.environ.get("MLPLAT_SPEC", "/etc/mlplat/model.json")))
    parser.add_argument("--outputs", type=Path, default=Path(os.environ.get("MLPLAT_OUTPUTS", "/tmp/outputs")))
    parser.add_argument("--reference", help="reference data (default: the spec's training data)")
    parser.add_argument("--current", help="current data; default: --window-seconds of --prediction-log")
    parser.add_argument("--prediction-log", default=os.environ.get("MLPLAT_PREDICTION_LOG"),
                        help="the model's prediction log folder (<team>/<model> under the environment's log)")
    parser.add_argument("--window-seconds", type=int, default=86400, help="length of the current window")
    parser.add_argument("--now", type=datetime.fromisoformat, default=None,
                        help="end of the window (ISO 8601; default: now)")
    parser.add_argument("--report", type=Path, help="HTML report path (default: <outputs>/drift-report.html)")
    parser.add_argument("--pushgateway", default=os.environ.get("MLPLAT_PUSHGATEWAY"),
                        help="Pushgateway URL the results are pushed to")
    parser.add_argument("--sample-rows", type=int, default=20_000, help="rows per side the report plots")
    parser.add_argument("--exit-zero-on-drift", action="store_true", help="exit 0 on drift (workflows)")
    return parser


def main(argv: list[str]) -> int:
    args = _parser().parse_args(argv)
    from runtime.drift.detect import BadData
    from runtime.drift.source import SourceError
    from runtime.resolved import ResolvedSpec

    try:
        spec = ResolvedSpec.load(args.spec)
        drift = spec.spec["monitoring"]["drift"]
    except (OSError, ValueError, KeyError) as exc:
        print(f"drift: cannot read drift settings from the resolved spec {args.spec}: {exc}", file=sys.stderr)
        return BAD_DATA
    args.outputs.mkdir(parents=True, exist_ok=True)
    report = args.report or args.outputs / "drift-report.html"
    try:
        result, sample = _detect(spec, drift, args)
    except (SourceError, BadData) as exc:
        problems = exc.problems if isinstance(exc, BadData) else [str(exc)]
        _write(args.outputs, {"status": "bad-data", "problems": problems}, drifted=False)
        print(f"drift: {spec.name} ({spec.environment}): bad data, nothing compared:", file=sys.stderr)
        print("\n".join(f"  - {p}" for p in problems), file=sys.stderr)
        if args.pushgateway:
            from runtime.drift.push import push_bad_data

            push_bad_data(args.pushgateway, spec.name, spec.environment)
        return BAD_DATA
    from runtime.drift.report import write_report

    write_report(result, sample, report)
    _write(args.outputs, {"status": "drift" if result.drifted else "no-drift", **_summary(result),
                          "report": str(report)}, drifted=result.drifted)
    print(_table(spec.name, spec.environment, result))
    print(f"report: {report}")
    if args.pushgateway:
        from runtime.drift.push import push_result

        push_result(args.pushgateway, spec.name, spec.environment, result)
        print(f"pushed to {args.pushgateway}")
    return DRIFT if result.drifted and not args.exit_zero_on_drift else NO_DRIFT


def _detect(spec: Any, drift: dict[str, Any], args: argparse.Namespace) -> tuple[Any, Any]:
    from runtime.drift.detect import detect
    from runtime.drift.source import SourceError, open_source, training_reference
    from runtime.drift.window import open_window

    features = list(drift["features"])
    target = spec.target
    if args.reference or not spec.feature_service:
        reference = open_source("reference", args.reference or spec.training["data"]["train"]["uri"], features, target)
    else:  # the training frame, its features joined as of each label's time
        reference = training_reference(spec)
    if args.current:
        current = open_source("current window", args.current, features, target)
    elif args.prediction_log:
        now = args.now or datetime.now(UTC)
        current = open_window("current window", args.prediction_log, args.window_seconds, now)
    else:
        raise SourceError("no current data: give --current, or --prediction-log (MLPLAT_PREDICTION_LOG)")
    return detect(reference, current, features, drift.get("method", "psi"), float(drift["threshold"]),
                  sample_rows=args.sample_rows)


def _summary(result: Any) -> dict[str, Any]:
    return {
        "method": result.method, "threshold": result.threshold, "referenceRows": result.reference_rows,
        "currentRows": result.current_rows, "share": result.share, "driftedFeatures": result.drifted_features,
        "features": [{"feature": f.feature, "kind": f.kind, "score": f.score, "drifted": f.drifted,
                      "referenceValues": f.reference_values, "currentValues": f.current_values}
                     for f in result.features],
    }


def _write(outputs: Path, body: dict[str, Any], drifted: bool) -> None:
    (outputs / "drift.json").write_text(json.dumps(body, indent=2, sort_keys=True) + "\n", "utf-8")
    (outputs / "drifted").write_text("true" if drifted else "false", "utf-8")


def _table(model: str, environment: str, result: Any) -> str:
    width = max(len("feature"), *(len(f.feature) for f in result.features))
    lines = [f"drift: {model} ({environment}): {result.method}, threshold {result.threshold:g}; "
             f"reference {result.reference_rows:,} rows, current {result.current_rows:,} rows",
             f"  {'feature':<{width}}  {'kind':<11}  {'score':>8}  result"]
    for f in result.features:
        lines.append(f"  {f.feature:<{width}}  {f.kind:<11}  {f.score:>8.4f}  {'DRIFT' if f.drifted else 'ok'}")
    lines.append(f"{len(result.drifted_features)} of {len(result.features)} features drifted "
                 f"(share {result.share:.2f}): {'DRIFT' if result.drifted else 'no drift'}")
    return "\n".join(lines)
