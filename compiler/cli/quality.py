"""`mlplat quality MODEL --predictions LOG [--labels F]`: the model's quality job on files
(compiler/local/quality.py)."""

from __future__ import annotations

import argparse
from pathlib import Path

from compiler.cli import options
from compiler.cli.common import find_monitored_model
from compiler.cli.exit_codes import EXIT_USAGE
from compiler.local.quality import run_quality


def arguments(parser: argparse.ArgumentParser) -> None:
    options.model(parser)
    parser.add_argument("--predictions", required=True,
                        help="logged predictions: a Parquet file or folder, such as "
                             ".mlplat/prediction-logs/<team>/<model>")
    parser.add_argument("--labels", help="ground truth: CSV or Parquet (default: the spec's labels.uri)")
    options.environment(parser, "quality settings", default="dev")
    options.pushgateway(parser)


ARGUMENTS = {"quality": arguments}  # command -> what adds its options


def quality(root: Path, args: argparse.Namespace) -> int:
    """Exit codes are the quality step's: 0 healthy, 1 a gate missed, 2 bad data (or no such model)."""
    model = find_monitored_model(root, "quality", args.model, args.env)
    if model is None:
        return EXIT_USAGE
    return run_quality(root, model, args.labels, args.predictions, args.pushgateway)
