"""`mlplat plan --base REF`: what the work tree changes against a base commit, resource by resource."""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from compiler.cli.common import planned_or_report
from compiler.cli.exit_codes import EXIT_ERRORS, EXIT_OK, EXIT_USAGE
from compiler.gitops import gitbase, plandiff
from compiler.pipeline.plan_files import Plan
from compiler.pipeline.progress import Progress
from compiler.pipeline.project_plan import plan_project


def plan(root: Path, args: argparse.Namespace) -> int:
    progress = Progress.for_terminal(args.format)
    head = planned_or_report(root, "text", progress)
    if head is None:
        return EXIT_ERRORS
    with tempfile.TemporaryDirectory(prefix="mlplat-base-") as tmp:
        try:
            base_root = gitbase.export_inputs(root, args.base, Path(tmp))
        except gitbase.GitError as exc:
            print(f"mlplat plan: {exc}", file=sys.stderr)
            return EXIT_USAGE
        # The head's caches for the base: it renders only the models that differ from the head's, and a
        # base compiled here before (the commit a branch started from) comes from the plan memo.
        base, errors = plan_project(base_root, cache_root=root, progress=progress)
        base_plan = base.plan if base is not None else Plan(())
        if base is None:
            print(f"mlplat plan: the base {args.base} does not validate ({len(errors)} errors); "
                  "planning against an empty base")
        changes = plandiff.diff_plans(base_plan, head.plan)
    formatter = plandiff.format_markdown if args.format == "markdown" else plandiff.format_text
    sys.stdout.write(formatter(changes, args.base))
    return EXIT_OK
