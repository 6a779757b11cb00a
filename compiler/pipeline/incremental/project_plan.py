"""plan_project: a project's plan, from the plan memo where its inputs are those of an earlier clean
compile (plan_memo.py), else checked and built, then remembered.

A plan from the memo loads neither the spec models nor the renderers: they are imported only when a
project must really be checked.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from compiler.pipeline.errors import SpecError
from compiler.pipeline.incremental.plan_memo import PlanMemo, ProjectPlan, files_digest, inputs_digest
from compiler.pipeline.incremental.render_cache import CorruptContent, RenderCache
from compiler.pipeline.plan_files import Plan
from compiler.pipeline.progress import Progress


def plan_project(root: Path, cache_root: Path | None = None, progress: Progress | None = None
                 ) -> tuple[ProjectPlan | None, list[SpecError]]:
    """The plan, or None with every error of the project. Caches live in `cache_root` (the repository
    itself unless given: `mlplat plan` plans the base's files with the head's caches)."""
    cache_root = cache_root or root
    cache, memo = RenderCache(cache_root), PlanMemo(cache_root)
    digest = inputs_digest(root) if memo.enabled and cache.enabled else None
    if digest is not None:
        found = memo.get(digest, cache, lambda: _full_plan(root, cache_root, cache, progress))
        if found is not None:
            return found, []
    planned, errors = _checked_plan(root, cache_root, cache, progress)
    # remembered only where no input changed while it was checked: the key must be what was read
    if planned is not None and digest is not None and inputs_digest(root) == digest:
        memo.put(digest, planned)
    return planned, errors


def remembered(root: Path) -> ProjectPlan | None:
    """The memo's plan of the project as it is now, if an earlier clean compile left one (for validate)."""
    cache, memo = RenderCache(root), PlanMemo(root)
    digest = inputs_digest(root) if memo.enabled and cache.enabled else None
    return memo.get(digest, cache, lambda: _full_plan(root, root, cache, None)) if digest else None


def remembered_files(cache_root: Path, files: dict[str, bytes], full_plan: Callable[[], Plan]) -> ProjectPlan | None:
    """The memo's plan of a project given as its input files (a base commit's, read from git), if an
    earlier clean compile left one; `full_plan` stands in for a content missing from the render cache."""
    cache, memo = RenderCache(cache_root), PlanMemo(cache_root)
    digest = files_digest(files) if memo.enabled and cache.enabled else None
    return memo.get(digest, cache, full_plan) if digest else None


def _full_plan(root: Path, cache_root: Path, cache: RenderCache, progress: Progress | None) -> Plan:
    planned, _ = _checked_plan(root, cache_root, cache, progress)
    if planned is None:
        raise CorruptContent("the inputs changed while they were compiled; compile again")
    return planned.plan


def _checked_plan(root: Path, cache_root: Path, cache: RenderCache, progress: Progress | None
                  ) -> tuple[ProjectPlan | None, list[SpecError]]:
    from compiler.pipeline.check import check_project
    from compiler.pipeline.plan import build_plan

    checked, errors = check_project(root, cache_root)
    if checked is None:
        return None, errors
    plan = build_plan(checked, cache, progress)
    return ProjectPlan(plan, len(checked.project.models), len(checked.environments)), []
