"""`mlplat validate`: every error of every spec, in one run; nothing is written."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from compiler.cli.common import checked_or_report
from compiler.cli.exit_codes import EXIT_ERRORS, EXIT_OK


def validate(root: Path, args: argparse.Namespace) -> int:
    checked = checked_or_report(root, args.format)
    if checked is None:
        return EXIT_ERRORS
    if args.format == "json":
        print(json.dumps({"errors": []}))
    elif args.format == "text":
        models = len(checked.project.models)
        envs = len(checked.environments)
        print(f"ok: {models} model spec{'s' if models != 1 else ''} valid in {envs} environments")
    return EXIT_OK
