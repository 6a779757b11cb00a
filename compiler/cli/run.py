"""`mlplat run MODEL`: the model's training workflow on this machine (compiler/local/run.py)."""

from __future__ import annotations

import argparse
from pathlib import Path

from compiler.cli import options
from compiler.cli.common import checked_or_report, find_model
from compiler.cli.exit_codes import EXIT_ERRORS, EXIT_OK, EXIT_USAGE
from compiler.local.run import describe, run_pipeline


def arguments(parser: argparse.ArgumentParser) -> None:
    options.model(parser)
    options.environment(parser, "resolved spec", default="dev")
    options.tracking_uri(parser, options.LOCAL_REGISTRY)


ARGUMENTS = {"run": arguments}  # command -> what adds its options


def run(root: Path, args: argparse.Namespace) -> int:
    checked = checked_or_report(root, "text")
    if checked is None:
        return EXIT_ERRORS
    model = find_model(checked, "run", args.model, args.env)
    if model is None:
        return EXIT_USAGE
    result = run_pipeline(root, model, args.tracking_uri)
    print(describe(result))
    return EXIT_OK if result.ok else EXIT_ERRORS
