"""`mlplat plan --base REF`: what the work tree changes against a base commit, resource by resource."""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from compiler.cli.common import checked_or_report
from compiler.cli.exit_codes import EXIT_ERRORS, EXIT_OK, EXIT_USAGE
from compiler.gitops import gitbase, plandiff
from compiler.pipeline.check import check_project
from compiler.pipeline.plan import Plan, build_plan


def plan(root: Path, args: argparse.Namespace) -> int:
    head = checked_or_report(root, "text")
    if head is None:
        return EXIT_ERRORS
    with tempfile.TemporaryDirectory(prefix="mlplat-base-") as tmp:
        try:
            base_root = gitbase.export_inputs(root, args.base, Path(tmp))
        except gitbase.GitError as exc:
            print(f"mlplat plan: {exc}", file=sys.stderr)
            return EXIT_USAGE
        base, errors = check_project(base_root)
    if base is None:
        print(f"mlplat plan: the base {args.base} does not validate ({len(errors)} errors); "
              "planning against an empty base")
    changes = plandiff.diff_plans(build_plan(base) if base else Plan(()), build_plan(head))
    formatter = plandiff.format_markdown if args.format == "markdown" else plandiff.format_text
    sys.stdout.write(formatter(changes, args.base))
    return EXIT_OK
