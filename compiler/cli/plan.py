"""`mlplat plan --base REF`: what the work tree changes against a base commit, resource by resource."""

from __future__ import annotations

import argparse
import contextlib
import sys
from pathlib import Path

from compiler.cli import options
from compiler.cli.common import planned_or_report
from compiler.cli.exit_codes import EXIT_ERRORS, EXIT_OK, EXIT_USAGE
from compiler.gitops import gitbase, plan_cost, plandiff
from compiler.pipeline.errors import SpecError
from compiler.pipeline.incremental.plan_memo import ProjectPlan
from compiler.pipeline.incremental.project_plan import plan_project, remembered_files
from compiler.pipeline.incremental.render_cache import CorruptContent
from compiler.pipeline.plan_files import Plan
from compiler.pipeline.progress import Progress
from compiler.pipeline.project import load_platform
from compiler.reports import cost


def arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--base", required=True, help="base revision, e.g. origin/main")
    options.report_format(parser, "markdown")


ARGUMENTS = {"plan": arguments}  # command -> what adds its options


def plan(root: Path, args: argparse.Namespace) -> int:
    progress = Progress.for_terminal(args.format)
    head = planned_or_report(root, "text", progress)
    if head is None:
        return EXIT_ERRORS
    # The base's files, once written out, stay until the plan is printed: a base planned from the memo
    # reads a content the tree no longer holds by planning that folder again, whenever it is asked for.
    with contextlib.ExitStack() as written:
        try:
            files = gitbase.read_inputs(root, args.base)
            folder: list[Path] = []

            def exported_plan() -> tuple[ProjectPlan | None, list[SpecError]]:
                # The head's caches for the base: it renders only the models that differ from the head's.
                if not folder:
                    folder.append(written.enter_context(gitbase.written_inputs(root, files)))
                return plan_project(folder[0], cache_root=root, progress=progress)

            def full_plan() -> Plan:
                planned, _ = exported_plan()
                if planned is None:
                    raise CorruptContent(f"the base {args.base} no longer validates; plan again")
                return planned.plan

            # A base compiled here before (the commit a branch started from) comes from the plan memo, unwritten.
            errors: list[SpecError] = []
            base = remembered_files(root, files, full_plan)
            if base is None:
                base, errors = exported_plan()
            if base is None:
                print(f"mlplat plan: the base {args.base} does not validate ({len(errors)} errors); "
                      "planning against an empty base")
            base_plan = base.plan if base is not None else Plan(())
            changes = plandiff.diff_plans(base_plan, head.plan)
        except gitbase.GitError as exc:
            print(f"mlplat plan: {exc}", file=sys.stderr)
            return EXIT_USAGE
        markdown = args.format == "markdown"
        sys.stdout.write((plandiff.format_markdown if markdown else plandiff.format_text)(changes, args.base))
        platform = load_platform(root)
        # Both sides are priced with the head's prices: what a pull request changes is use, not price lists.
        if changes and platform is not None:
            changed = cost.priced_changes(base_plan, head.plan)
            before, after = cost.workloads(base_plan, platform, changed), cost.workloads(head.plan, platform, changed)
            formatter = plan_cost.format_markdown if markdown else plan_cost.format_text
            sys.stdout.write(formatter(plan_cost.diff(before, after), platform.spec.currency,
                                       platform.environment_names))
    return EXIT_OK
