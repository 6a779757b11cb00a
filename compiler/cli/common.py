"""What several commands share: the checked project (errors printed when there are any) and model lookup."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

from compiler.pipeline.errors import format_errors
from compiler.pipeline.incremental.plan_memo import ProjectPlan
from compiler.pipeline.incremental.project_plan import plan_project
from compiler.pipeline.progress import Progress

if TYPE_CHECKING:  # a plan from the memo loads neither (project_plan.py)
    from compiler.pipeline.check import Checked
    from compiler.spec.resolved import ResolvedModel


def checked_or_report(root: Path, fmt: str, remember: bool = True) -> Checked | None:
    """The checked project, or None after printing every error in `fmt` (text, json or github);
    `remember=False` adds nothing to the spec cache."""
    from compiler.pipeline.check import check_project

    checked, errors = check_project(root, remember=remember)
    if errors:
        sys.stdout.write(format_errors(errors, fmt))
        return None
    return checked


def planned_or_report(root: Path, fmt: str, progress: Progress | None = None) -> ProjectPlan | None:
    """The project's plan (plan_project), or None after printing every error in `fmt`."""
    planned, errors = plan_project(root, progress=progress)
    if errors:
        sys.stdout.write(format_errors(errors, fmt))
        return None
    return planned


def find_model(checked: Checked, command: str, name: str, env: str) -> ResolvedModel | None:
    """The model resolved for `env`, or None after saying which models and environments there are."""
    found = [m for m in checked.models if m.name == name and m.environment == env]
    if not found:
        names = sorted({m.name for m in checked.models})
        envs = [e.env.name for e in checked.environments]
        print(f"mlplat {command}: no model {name!r} in environment {env!r} (models: {', '.join(names)}; "
              f"environments: {', '.join(envs)})", file=sys.stderr)
        return None
    return found[0]


def find_monitored_model(root: Path, command: str, name: str, env: str) -> ResolvedModel | None:
    """The checked model for `mlplat drift|quality`, which needs the spec's monitoring.<command> section;
    None after saying what is wrong (errors of the project, no such model, no such section)."""
    checked = checked_or_report(root, "text")
    model = find_model(checked, command, name, env) if checked is not None else None
    if model is not None and getattr(model.spec.monitoring, command) is None:
        print(f"mlplat {command}: {model.name} has no monitoring.{command} settings in {model.environment} "
              f"({model.source})", file=sys.stderr)
        return None
    return model
