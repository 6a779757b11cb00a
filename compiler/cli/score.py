"""`mlplat score MODEL --input FILE --output FILE [--version N]`: batch scoring on this machine.

The version (default: the champion) is fetched from the registry with its digest checked, as `mlplat
serve` fetches it, and scores the input with `python -m runtime score`, the step the scoring
CronWorkflow runs (renderers/scoring.py). The rows also go to .mlplat/prediction-logs/<team>/<model>,
where `mlplat drift` and `mlplat quality` read logged traffic.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

from compiler.cli import options
from compiler.cli.common import checked_or_report
from compiler.cli.exit_codes import EXIT_ERRORS, EXIT_OK, EXIT_USAGE
from compiler.cli.serve import PREDICTION_LOGS
from compiler.local import serve as local_serve
from compiler.local.embedded import WORK_DIR, default_tracking
from compiler.local.runtime_call import runtime_command, runtime_env


def arguments(parser: argparse.ArgumentParser) -> None:
    options.model(parser)
    parser.add_argument("--input", required=True, help="rows to score: CSV, Parquet, or a data URI")
    parser.add_argument("--output", required=True, type=Path, help="Parquet file for the rows with their predictions")
    options.version(parser)
    options.tracking_uri(parser, options.LOCAL_REGISTRY)


ARGUMENTS = {"score": arguments}  # command -> what adds its options


def score(root: Path, args: argparse.Namespace) -> int:
    checked = checked_or_report(root, "text")
    if checked is None:
        return EXIT_USAGE
    teams = {m.team for m in checked.models if m.name == args.model}
    if not teams:
        print(f"mlplat score: no model {args.model!r}", file=sys.stderr)
        return EXIT_USAGE
    tracking_uri = args.tracking_uri or default_tracking(root)[0]
    run_dir = root / WORK_DIR / "scoring" / f"{args.model}-{time.strftime('%Y%m%dT%H%M%S')}-{os.getpid()}"
    try:
        fetched = local_serve.fetch_version(root, args.model, args.version, tracking_uri, run_dir / "model")
    except local_serve.ServeError as exc:
        print(f"mlplat score: {exc}", file=sys.stderr)
        return EXIT_ERRORS
    log = root / PREDICTION_LOGS / teams.pop() / args.model
    command = runtime_command("score", "--model", args.model, "--version", fetched["version"],
                              "--sha256", fetched["artifactSha256"], "--model-dir", fetched["directory"],
                              "--input", str(args.input), "--output", str(args.output.resolve()),
                              "--prediction-log", log.as_uri())
    result = subprocess.run(command, env=runtime_env(root), cwd=Path.cwd())
    return EXIT_OK if result.returncode == 0 else EXIT_ERRORS
