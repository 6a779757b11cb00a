"""`mlplat gate --env ENV|all --base REF`: every changed release pin checked in the registry
(compiler/gitops/gate.py)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from compiler.cli import options
from compiler.cli.common import checked_or_report
from compiler.cli.exit_codes import EXIT_ERRORS, EXIT_OK, EXIT_USAGE
from compiler.gitops import approvals, gitbase
from compiler.gitops import gate as gatecheck


def arguments(parser: argparse.ArgumentParser) -> None:
    options.environment(parser, "environment whose releases.yaml to check, or all")
    parser.add_argument("--base", default="HEAD", help="base revision (default: HEAD)")
    options.tracking_uri(parser, options.ENVIRONMENT_REGISTRY)
    options.report_format(parser, "markdown")
    parser.add_argument("--approvals", type=Path, metavar="FILE",
                        help="the pull request's reviews, one GitHub API review object per line; pins in "
                             "environments that require approval pass only with approvedBy among the approvers")
    parser.add_argument("--timeout", type=float, metavar="SECONDS",
                        help="deadline for the whole gate, every pin included (default 300); a pin not judged "
                             "by then fails")


ARGUMENTS = {"gate": arguments}  # command -> what adds its options


def gate(root: Path, args: argparse.Namespace) -> int:
    checked = checked_or_report(root, "text")
    if checked is None:
        return EXIT_ERRORS
    try:
        base = gatecheck.base_checked(root, args.base)  # what judges: the base's registry, gates and rules
        approved = None
        if args.approvals:
            approved = approvals.approvers(approvals.load_reviews(args.approvals), gitbase.head_commit(root))
    except (gatecheck.GateError, approvals.ApprovalsError, gitbase.GitError) as exc:
        print(f"mlplat gate: {exc}", file=sys.stderr)
        return EXIT_ERRORS
    platform = base.project.platform
    envs = platform.environment_names if args.env == "all" else [args.env]
    if not set(envs) <= set(platform.environment_names):
        print(f"mlplat gate: unknown environment {args.env!r} (on the base {args.base})", file=sys.stderr)
        return EXIT_USAGE
    formatter = gatecheck.format_markdown if args.format == "markdown" else gatecheck.format_text
    passed = True
    # One deadline for the whole gate, every environment included.
    deadline = gatecheck.Deadline(args.timeout or gatecheck.DEFAULT_TIMEOUT)
    for env in envs:
        uri = args.tracking_uri or platform.environment(env).mlflow.tracking_uri
        results = gatecheck.check_pins(root, checked, base, env, args.base, uri, deadline, approved,
                                       shared_registry=bool(args.tracking_uri))
        sys.stdout.write(formatter(results, env, args.base))
        passed = passed and all(r.passed for r in results)
    return EXIT_OK if passed else EXIT_ERRORS
