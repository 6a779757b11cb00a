"""`mlplat validate`: every error of every spec, in one run; nothing is written."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from compiler.cli import options
from compiler.cli.common import checked_or_report
from compiler.cli.exit_codes import EXIT_ERRORS, EXIT_OK
from compiler.pipeline.incremental.project_plan import remembered


def arguments(parser: argparse.ArgumentParser) -> None:
    options.error_format(parser)


ARGUMENTS = {"validate": arguments}  # command -> what adds its options


def validate(root: Path, args: argparse.Namespace) -> int:
    known = remembered(root)  # these very inputs compiled cleanly before: nothing to check again
    if known is not None:
        models, envs = known.models, known.environments
    else:
        checked = checked_or_report(root, args.format, remember=False)
        if checked is None:
            return EXIT_ERRORS
        models, envs = len(checked.project.models), len(checked.environments)
    if args.format == "json":
        print(json.dumps({"errors": []}))
    elif args.format == "text":
        print(f"ok: {models} model spec{'s' if models != 1 else ''} valid in {envs} environments")
    return EXIT_OK
