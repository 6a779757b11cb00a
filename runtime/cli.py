"""`python -m runtime STEP`: the entry point of workflow pods, and of `mlplat run` on a laptop.

`python -m runtime fetch ...` downloads a registered version for `mlplat serve` (runtime/fetch.py);
`python -m runtime verify ...` checks a release pin for `mlplat gate` (runtime/verify.py);
`python -m runtime versions ...` lists a model's registered versions for `mlplat describe` (runtime/versions.py);
`python -m runtime drift ...` is the drift job's step, with its own arguments (runtime/steps/drift.py);
`python -m runtime quality ...` the quality job's (runtime/steps/quality.py);
`python -m runtime score ...` batch scoring by a pinned version (runtime/steps/score.py);
`python -m runtime prediction-log ...` the prediction-log sink's server (runtime/prediction_log/server.py);
`python -m runtime canary ...` the canary analysis (runtime/canary/step.py);
`python -m runtime propose ...` the training workflow's proposal of a new champion (runtime/propose.py);
`python -m runtime features ...` Feast's apply and materialisation (runtime/features/step.py);
`python -m runtime training-report ...` the training workflow's exit handler (runtime/training_report.py);
`python -m runtime copy-version export|import ...` a version carried between registries (runtime/copy_version.py).

Exit codes: 0 done (for gate: passed), 1 failed (for gate: the gates decided against the version; for
refused, always: the gate refused the run and the workflow must end failed),
2 could not run (bad input, MLflow unreachable; a gate in doubt fails closed with this code).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

STEPS = ("train", "evaluate", "gate", "register", "refused")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m runtime", description="mlplat runtime steps")
    parser.add_argument("step", choices=STEPS)
    parser.add_argument("--spec", type=Path, default=Path(os.environ.get("MLPLAT_SPEC", "/etc/mlplat/model.json")),
                        help="resolved spec JSON (the <model>-spec ConfigMap)")
    parser.add_argument("--outputs", type=Path, default=Path(os.environ.get("MLPLAT_OUTPUTS", "/tmp/outputs")),
                        help="folder for step outputs (run-id, metrics.json, gate.json, version)")
    parser.add_argument("--run-id", default=None, help="tracking run of the candidate (all steps but train)")
    parser.add_argument("--tracking-uri", default=os.environ.get("MLFLOW_TRACKING_URI"),
                        help="MLflow tracking and registry URI (default: $MLFLOW_TRACKING_URI)")
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] in (["fetch"], ["verify"], ["versions"]):  # helpers of mlplat commands, not workflow steps
        from importlib import import_module

        return import_module(f"runtime.{argv[0]}").main(argv[1:])
    if argv[:1] in (["drift"], ["quality"], ["score"]):
        from importlib import import_module

        return import_module(f"runtime.steps.{argv[0]}").main(argv[1:])
    if argv[:1] == ["canary"]:
        from runtime.canary.step import main as canary

        return canary(argv[1:])
    if argv[:1] == ["features"]:
        from runtime.features.step import main as features

        return features(argv[1:])
    if argv[:1] == ["copy-version"]:
        from runtime.copy_version import main as copy_version

        return copy_version(argv[1:])
    if argv[:1] == ["training-report"]:
        from runtime.training_report import main as report

        return report(argv[1:])
    if argv[:1] == ["propose"]:
        from runtime.propose import main as propose

        return propose(argv[1:])
    if argv[:1] == ["prediction-log"]:
        from runtime.prediction_log.server import main as sink

        return sink(argv[1:])
    args = _parser().parse_args(argv)
    if not args.tracking_uri:
        print(f"{args.step}: no MLflow tracking URI (set MLFLOW_TRACKING_URI or --tracking-uri)", file=sys.stderr)
        return 2
    if args.step != "train" and not args.run_id:
        print(f"{args.step}: --run-id is required", file=sys.stderr)
        return 2
    from importlib import import_module

    from runtime.resolved import ResolvedSpec

    try:
        spec = ResolvedSpec.load(args.spec)
    except (OSError, ValueError, KeyError) as exc:
        print(f"{args.step}: cannot read the resolved spec {args.spec}: {exc}", file=sys.stderr)
        return 2
    args.outputs.mkdir(parents=True, exist_ok=True)
    step = import_module(f"runtime.steps.{args.step}")
    return step.run(spec, args)


if __name__ == "__main__":
    sys.exit(main())
