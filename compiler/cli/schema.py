"""`mlplat schema [--check]`: the JSON Schemas editors use for model.yaml, features.yaml, platform.yaml and
releases.yaml, and README.md's reference of allowed values (compiler/reports/reference.py)."""

from __future__ import annotations

import argparse
import ast
import functools
import importlib
import inspect
import json
import textwrap
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import GenerateJsonSchema

from compiler.cli import options
from compiler.cli.exit_codes import EXIT_ERRORS, EXIT_OK

README = "README.md"
# committed schema -> (module, Pydantic model) it is generated from
SCHEMAS = {
    "specs/model.schema.json": ("compiler.spec.model", "Model"),
    "specs/features.schema.json": ("compiler.spec.features", "Features"),
    "platform/platform.schema.json": ("compiler.spec.platform", "Platform"),
    "platform/releases.schema.json": ("compiler.spec.releases", "Releases"),
}


def arguments(parser: argparse.ArgumentParser) -> None:
    options.check(parser, "exit 1 when the committed schemas are out of date")


ARGUMENTS = {"schema": arguments}  # command -> what adds its options


def schema(root: Path, args: argparse.Namespace) -> int:
    from compiler.reports.reference import replaced

    stale = []
    generated = {path: json.dumps(json_schema(getattr(importlib.import_module(module), name)), indent=2,
                                  sort_keys=True) + "\n" for path, (module, name) in SCHEMAS.items()}
    readme = root / README
    if readme.is_file():
        generated[README] = replaced(readme.read_text("utf-8"))
    for path, content in generated.items():
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


def json_schema(model: type[BaseModel]) -> dict[str, Any]:
    """The model's JSON Schema, every field described by its docstring."""
    return {"$schema": "https://json-schema.org/draft/2020-12/schema",
            **model.model_json_schema(by_alias=True, schema_generator=_WithAttributeDocstrings)}


class _WithAttributeDocstrings(GenerateJsonSchema):
    """Each field's description is the docstring under it in the source, as Pydantic's
    `use_attribute_docstrings` would give; read here rather than when the models are defined, where it
    would cost every command a parse of the spec modules' source."""

    def model_schema(self, schema: Any) -> Any:
        json_schema = super().model_schema(schema)
        properties = json_schema.get("properties", {})
        for name, field in schema["cls"].model_fields.items():
            described = properties.get(field.alias or name)
            docstring = _docstring(schema["cls"], name)
            if described is not None and "description" not in described and docstring:
                described["description"] = docstring
        return json_schema


def _docstring(cls: type, field: str) -> str:
    """The docstring of `field` in the class that declares it (for an overlay, the section it copies)."""
    cls = getattr(cls, "__docstrings_from__", cls)
    owner = next((c for c in cls.__mro__ if field in vars(c).get("__annotations__", {})), None)
    return _attribute_docstrings(owner).get(field, "") if owner is not None else ""


@functools.cache
def _attribute_docstrings(cls: type) -> dict[str, str]:
    """A string right after an annotated assignment in the class body documents that attribute."""
    try:
        node = ast.parse(textwrap.dedent(inspect.getsource(cls))).body[0]
    except (OSError, TypeError, SyntaxError, IndexError):
        return {}
    body = node.body if isinstance(node, ast.ClassDef) else []
    found = {}
    for previous, statement in zip(body, body[1:], strict=False):
        if (isinstance(previous, ast.AnnAssign) and isinstance(previous.target, ast.Name)
                and isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Constant)
                and isinstance(statement.value.value, str)):
            found[previous.target.id] = inspect.cleandoc(statement.value.value)
    return found
