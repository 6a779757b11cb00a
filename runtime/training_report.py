"""`python -m runtime training-report`: the training workflow's exit handler, run whatever the outcome.

It pushes the Workflow's phase to the Pushgateway (job `mlplat-training`, grouped by model and
environment): `mlplat_training_failed` (1 when the phase is not Succeeded: a step failed, the gate
refused the run, or the workflow errored) and `mlplat_training_last_run_timestamp_seconds`. The
rendered `MlplatTrainingFailed` alert fires on the first and routes to the team; a later successful
run clears it. Exit 0 even where the push fails (said on stderr): an exit handler that fails would
only change the phase it reports.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

from compiler.runtime_contract import TRAINING_FAILED, last_run

JOB = "mlplat-training"
PHASES = ("Succeeded", "Failed", "Error")  # what Argo gives {{workflow.status}} in an exit handler


def main(argv: list[str], now: float | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m runtime training-report", description=__doc__.splitlines()[0])
    parser.add_argument("--status", required=True, help="the Workflow's phase ({{workflow.status}})")
    parser.add_argument("--workflow", default="", help="the Workflow's name, for the log")
    parser.add_argument("--spec", type=Path, default=Path(os.environ.get("MLPLAT_SPEC", "/etc/mlplat/model.json")))
    parser.add_argument("--pushgateway", default=os.environ.get("MLPLAT_PUSHGATEWAY"))
    args = parser.parse_args(argv)
    try:
        spec = json.loads(args.spec.read_text("utf-8"))
        model, environment = spec["name"], spec["environment"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        print(f"training-report: cannot read the resolved spec {args.spec}: {exc}", file=sys.stderr)
        return 0
    failed = args.status != "Succeeded"
    print(f"training-report: {model} in {environment}: workflow {args.workflow or '?'} ended {args.status}")
    if not args.pushgateway:
        print("training-report: no Pushgateway (MLPLAT_PUSHGATEWAY): nothing pushed", file=sys.stderr)
        return 0
    from prometheus_client import CollectorRegistry, Gauge, push_to_gateway

    registry = CollectorRegistry()
    Gauge(TRAINING_FAILED, "1 when the last training workflow did not succeed (a failed step, a refused "
          "gate, an error)", registry=registry).set(int(failed))
    Gauge(last_run("training"), "When the last training workflow ended",
          registry=registry).set(time.time() if now is None else now)
    try:
        push_to_gateway(args.pushgateway, job=JOB, registry=registry,
                        grouping_key={"model": model, "environment": environment}, timeout=10)
    except Exception as exc:  # noqa: BLE001 - reported; the alert on a stale result is the drift/quality kind
        print(f"training-report: could not push to {args.pushgateway}: {exc}", file=sys.stderr)
    return 0
