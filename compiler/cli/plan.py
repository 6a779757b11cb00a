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
from compiler.pipeline.progress import Progress
from compiler.pipeline.render_cache import RenderCache


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
        base, errors = check_project(base_root, cache_root=root)
    if base is None:
        print(f"mlplat plan: the base {args.base} does not validate ({len(errors)} errors); "
              "planning against an empty base")
    # One cache for both sides: the base renders only the models that differ from the head's.
    cache, progress = RenderCache(root), Progress.for_terminal(args.format)
    head_plan = build_plan(head, cache, progress)
    changes = plandiff.diff_plans(build_plan(base, cache, progress) if base else Plan(()), head_plan)
    formatter = plandiff.format_markdown if args.format == "markdown" else plandiff.format_text
    sys.stdout.write(formatter(changes, args.base))
    return EXIT_OK
