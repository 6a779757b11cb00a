"""`mlplat new NAME --team T --template X`: a model folder from a template (compiler/local/new_model.py)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from compiler.cli.common import checked_or_report
from compiler.cli.exit_codes import EXIT_OK, EXIT_USAGE
from compiler.local.new_model import ScaffoldError, new_model
from compiler.spec.scaffold import TEMPLATES


def arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("name", help="model name: lower-case letters, digits and dashes (metadata.name)")
    parser.add_argument("--team", required=True, help="owning team (a team of platform/platform.yaml)")
    parser.add_argument("--template", required=True, choices=list(TEMPLATES),
                        help="; ".join(f"{name}: {what}" for name, what in TEMPLATES.items()))
    parser.add_argument("--description", help="one line: what the model predicts, for whom")


ARGUMENTS = {"new": arguments}  # command -> what adds its options


def new(root: Path, args: argparse.Namespace) -> int:
    checked = checked_or_report(root, "text")
    if checked is None:
        print("mlplat new: the repository has errors (above); fix them first", file=sys.stderr)
        return EXIT_USAGE
    try:
        made = new_model(root, checked, args.name, args.team, args.template, args.description)
    except ScaffoldError as exc:
        print(f"mlplat new: {exc}", file=sys.stderr)
        return EXIT_USAGE
    print(f"wrote {made.folder.relative_to(root)}/ from the {args.template} template:")
    for file in made.files:
        print(f"  {file}")
    test_folder = made.folder.relative_to(root)
    print(f"next: mlplat validate; mlplat run {args.name}; pytest {test_folder}; then edit the data and code")
    return EXIT_OK
