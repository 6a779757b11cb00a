"""`mlplat compile [--check]`: render environments/ atomically, or say how it differs from the specs."""

from __future__ import annotations

import argparse
from pathlib import Path

from compiler.cli import options
from compiler.cli.common import planned_or_report
from compiler.cli.exit_codes import EXIT_ERRORS, EXIT_OK
from compiler.pipeline.progress import Progress
from compiler.pipeline.tree_swap import locked, recover
from compiler.pipeline.write import UnsafeTree, differences, write_plan


def arguments(parser: argparse.ArgumentParser) -> None:
    options.error_format(parser)
    options.check(parser, "write nothing; exit 1 when environments/ differs from what the specs produce")


ARGUMENTS = {"compile": arguments}  # command -> what adds its options


def compile(root: Path, args: argparse.Namespace) -> int:  # noqa: A001 - the command's name
    if not args.check:
        with locked(root):  # a compile killed mid-swap is undone before its tree is read
            recover(root)
    planned = planned_or_report(root, args.format, Progress.for_terminal(args.format))
    if planned is None:
        return EXIT_ERRORS
    plan = planned.plan
    if args.check:
        found = differences(root, plan)
        if found:
            print("\n".join(d.text() for d in found))
            print(f"environments/ is out of date: {len(found)} file(s) differ; run `mlplat compile` and commit")
            return EXIT_ERRORS
        print(f"ok: environments/ matches the specs ({len(plan.files)} files)")
        return EXIT_OK
    try:
        result = write_plan(root, plan)
    except UnsafeTree as exc:
        print(f"error: {exc}")
        return EXIT_ERRORS
    print(f"compiled {planned.models} models into {planned.environments} environments: "
          f"{len(plan.files)} files, {len(result.written)} written, {len(result.deleted)} deleted")
    for path in result.written:
        print(f"  wrote   {path}")
    for path in result.deleted:
        print(f"  deleted {path}")
    for note in plan.notes:
        print(f"  note: {note}")
    return EXIT_OK
