"""`mlplat sbom MODEL [--version N]`: a registered version's ML-BOM, from the registry (compiler/local/sbom.py)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from compiler.cli import options
from compiler.cli.exit_codes import EXIT_ERRORS, EXIT_OK
from compiler.local.embedded import default_tracking
from compiler.local.sbom import BomError, version_bom


def arguments(parser: argparse.ArgumentParser) -> None:
    options.model(parser)
    options.version(parser)
    options.tracking_uri(parser, options.LOCAL_REGISTRY)
    parser.add_argument("--output", type=Path, help="write the document here instead of printing it")


ARGUMENTS = {"sbom": arguments}  # command -> what adds its options


def sbom(root: Path, args: argparse.Namespace) -> int:
    tracking_uri = args.tracking_uri or default_tracking(root)[0]
    try:
        version, text = version_bom(root, args.model, args.version, tracking_uri)
    except BomError as exc:
        print(f"mlplat sbom: {exc}", file=sys.stderr)
        return EXIT_ERRORS
    if args.output:
        args.output.write_text(text, "utf-8")
        print(f"wrote the ML-BOM of {args.model} version {version} to {args.output}")
    else:
        sys.stdout.write(text)
    return EXIT_OK
