"""`mlplat drift MODEL --reference F --current F`: the model's drift job on two files (compiler/local/drift.py)."""

from __future__ import annotations

import argparse
from pathlib import Path

from compiler.cli import options
from compiler.cli.common import find_monitored_model
from compiler.cli.exit_codes import EXIT_USAGE
from compiler.local.drift import run_drift


def arguments(parser: argparse.ArgumentParser) -> None:
    options.model(parser)
    parser.add_argument("--reference", required=True, help="reference data: CSV, Parquet, or sklearn:// URI")
    parser.add_argument("--current", required=True, help="current data: CSV or Parquet")
    options.environment(parser, "drift settings", default="dev")
    parser.add_argument("--report", type=Path, help="HTML report (default: .mlplat/drift/<model>-<env>/)")
    options.pushgateway(parser)


ARGUMENTS = {"drift": arguments}  # command -> what adds its options


def drift(root: Path, args: argparse.Namespace) -> int:
    """Exit codes are the drift step's: 0 no drift, 1 drift, 2 bad data (or no such model)."""
    model = find_monitored_model(root, "drift", args.model, args.env)
    if model is None:
        return EXIT_USAGE
    return run_drift(root, model, args.reference, args.current, args.report, args.pushgateway)
