"""`mlplat schema [--check]`: the JSON Schemas editors use for model.yaml, platform.yaml and releases.yaml."""

from __future__ import annotations

import argparse
import importlib
import json
from pathlib import Path

from compiler.cli.exit_codes import EXIT_ERRORS, EXIT_OK

# committed schema -> (module, Pydantic model) it is generated from
SCHEMAS = {
    "specs/model.schema.json": ("compiler.spec.model", "Model"),
    "platform/platform.schema.json": ("compiler.spec.platform", "Platform"),
    "platform/releases.schema.json": ("compiler.spec.releases", "Releases"),
}


def schema(root: Path, args: argparse.Namespace) -> int:
    stale = []
    for path, (module, name) in SCHEMAS.items():
        model = getattr(importlib.import_module(module), name)
        document = {"$schema": "https://json-schema.org/draft/2020-12/schema",
                    **model.model_json_schema(by_alias=True)}
        content = json.dumps(document, indent=2, sort_keys=True) + "\n"
        target = root / path
        current = target.read_text("utf-8") if target.is_file() else None
        if current == content:
            continue
        stale.append(path)
        if not args.check:
            target.write_text(content, "utf-8")
            print(f"wrote {path}")
    if args.check and stale:
        print(f"out of date: {', '.join(stale)}; run `mlplat schema`")
        return EXIT_ERRORS
    if not stale:
        print("ok: schemas are up to date")
    return EXIT_OK
