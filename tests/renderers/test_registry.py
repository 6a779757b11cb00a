"""Every renderer is reached through renderers.registry, whatever its scope: a module of renderers/ with a
`render` function is listed there, and the plan renders nothing the registry does not list."""

from __future__ import annotations

import ast
import importlib

from renderers import registry
from tests.conftest import REPO

TABLES = (registry.MODEL_RENDERERS, registry.ENVIRONMENT_RENDERERS, registry.TEAM_RENDERERS,
          registry.FEATURE_RENDERERS, registry.ACROSS_ENVIRONMENTS_RENDERERS, registry.REPOSITORY_RENDERERS)


def modules_with_render() -> list[str]:
    found = []
    for path in sorted((REPO / "renderers").glob("*.py")):
        tree = ast.parse(path.read_text("utf-8"))
        if any(isinstance(node, ast.FunctionDef) and node.name == "render" for node in tree.body):
            found.append(path.stem)
    return found


def test_every_renderer_is_in_the_registry() -> None:
    listed = {render for table in TABLES for render in table.values()}
    unlisted = [name for name in modules_with_render()
                if importlib.import_module(f"renderers.{name}").render not in listed]
    assert unlisted == []


def test_the_plan_calls_renderers_only_through_the_registry() -> None:
    plan = ast.parse((REPO / "compiler" / "pipeline" / "plan.py").read_text("utf-8"))
    imported = [alias.name for node in ast.walk(plan) if isinstance(node, ast.ImportFrom)
                and (node.module or "").startswith("renderers") for alias in node.names]
    assert set(imported) - {"Manifest"} <= {name for name in dir(registry) if name.endswith("_RENDERERS")}
