"""`mlplat canary MODEL --env ENV --prometheus URL [--commit]`: the canary analysis on this machine.

The analysis is the runtime's (`python -m runtime canary`, as the canary CronWorkflow pod runs it) on the
work tree's releases.yaml and the model's resolved spec; it prints the decision and its evidence. With
--commit a step up, promotion or rollback is committed on a new branch (compiler/gitops/canary.py).
`--decision FILE` applies a decision.json the analysis wrote (the pod does this in its clone).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

from compiler.cli import options
from compiler.cli.common import checked_or_report, find_model
from compiler.cli.exit_codes import EXIT_OK, EXIT_USAGE
from compiler.cli.promote import report_commit
from compiler.gitops.canary import apply_decision
from compiler.local.embedded import WORK_DIR
from compiler.local.runtime_call import runtime_command, runtime_env
from compiler.spec.releases import releases_path


def arguments(parser: argparse.ArgumentParser) -> None:
    options.model(parser)
    options.environment(parser)
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--prometheus", help="Prometheus to ask, e.g. http://127.0.0.1:9090")
    source.add_argument("--decision", type=Path, help="a decision.json the analysis wrote, to apply with --commit")
    parser.add_argument("--commit", action="store_true",
                        help="commit a step, promotion or rollback on a new branch of the work tree's repository")


ARGUMENTS = {"canary": arguments}  # command -> what adds its options


def canary(root: Path, args: argparse.Namespace) -> int:
    if args.decision is not None:
        try:
            decision = json.loads(args.decision.read_text("utf-8"))
        except (OSError, ValueError) as exc:
            print(f"mlplat canary: cannot read the decision {args.decision}: {exc}", file=sys.stderr)
            return EXIT_USAGE
        code = EXIT_OK
    else:
        checked = checked_or_report(root, "text")
        model = find_model(checked, "canary", args.model, args.env) if checked is not None else None
        if model is None:
            return EXIT_USAGE
        work = root / WORK_DIR / "canary" / f"{model.name}-{model.environment}"
        work.mkdir(parents=True, exist_ok=True)
        (work / "model.json").write_text(model.summary_json(), "utf-8")
        (work / "decision.json").unlink(missing_ok=True)
        code = subprocess.run(runtime_command(
            "canary", "--model", model.name, "--environment", model.environment, "--spec", str(work / "model.json"),
            "--releases", str(root / releases_path(model.environment)), "--prometheus", args.prometheus,
            "--outputs", str(work)), env=runtime_env(root), cwd=root).returncode
        if not (work / "decision.json").is_file():
            return code or EXIT_OK
        decision = json.loads((work / "decision.json").read_text("utf-8"))
    if not args.commit or decision.get("action") == "hold":
        return code
    return report_commit("canary", lambda: apply_decision(root, args.model, args.env, decision)) or code
