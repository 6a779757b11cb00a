"""plan_project: a project's plan, from the plan memo where its inputs are those of an earlier clean
compile (plan_memo.py); else, where only some teams' folders changed since one, that compile's plan with
those teams checked and planned again; else checked and built in full. Then remembered.

A plan from the memo loads neither the spec models nor the renderers: they are imported only when a
project must really be checked.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from compiler.pipeline.errors import SpecError
from compiler.pipeline.incremental.file_hashes import FileHashes
from compiler.pipeline.incremental.plan_memo import InputDigests, PlanMemo, ProjectPlan, files_digest, inputs_digest
from compiler.pipeline.incremental.render_cache import CorruptContent, RenderCache
from compiler.pipeline.incremental.spec_cache import SpecCache
from compiler.pipeline.plan_files import Plan, PlanParts
from compiler.pipeline.progress import Progress


def plan_project(root: Path, cache_root: Path | None = None, progress: Progress | None = None
                 ) -> tuple[ProjectPlan | None, list[SpecError]]:
    """The plan, or None with every error of the project. Caches live in `cache_root` (the repository
    itself unless given: `mlplat plan` plans the base's files with the head's caches)."""
    cache_root = cache_root or root
    cache, memo = RenderCache(cache_root), PlanMemo(cache_root)
    hashes = FileHashes(root, "inputs", recorded=root == cache_root)  # not the base of `mlplat plan`
    digests = inputs_digest(root, hashes) if memo.enabled and cache.enabled else None
    planned: ProjectPlan | None = None
    errors: list[SpecError] = []
    if digests is not None:
        def full_plan() -> Plan:
            return _full_plan(root, cache_root, cache, progress)

        def team_plan(team: str, others: frozenset[str]) -> Plan | None:
            return _team_plan(root, cache_root, cache, team, others)

        planned = memo.get(digests.whole, cache, full_plan, team_plan)
        if planned is not None:
            hashes.save()
            return planned, []
        earlier = memo.latest(digests.common, cache, full_plan, team_plan)
        if earlier is not None:
            planned = _changed_teams_plan(root, cache_root, cache, progress, digests, *earlier)
    if planned is None:
        planned, errors = _checked_plan(root, cache_root, cache, progress)
    # remembered only where no input changed while it was checked: the key must be what was read
    if planned is not None and digests is not None and inputs_digest(root, hashes) == digests:
        memo.put(digests, planned)
        hashes.save()
    return planned, errors


def _changed_teams_plan(root: Path, cache_root: Path, cache: RenderCache, progress: Progress | None,
                        digests: InputDigests, earlier: ProjectPlan, earlier_teams: dict[str, str]
                        ) -> ProjectPlan | None:
    """The plan from an earlier clean plan of the same common inputs, with the teams whose folders changed
    since checked and planned alone; None where that cannot stand for the full plan (a team came or went,
    one now has models in other environments, a name is taken by another team, or anything has an error:
    the full check then reports every error of the project, as it always does)."""
    if earlier_teams.keys() != digests.teams.keys():
        return None
    changed = {team for team, digest in digests.teams.items() if earlier_teams[team] != digest}
    others = frozenset(name for team, part in earlier.parts.teams.items() if team not in changed for name in part.names)
    alone = _teams_alone(root, cache_root, cache, progress, changed, others)
    if alone is None:
        return None
    fresh, spec_cache = alone
    teams = {team: part for team, part in earlier.parts.teams.items() if team not in changed}
    for team in sorted(changed):
        part = fresh.teams.get(team)
        before = earlier.parts.teams.get(team)
        if (part.environments if part else ()) != (before.environments if before else ()):
            return None  # an environment's own objects list the teams it has models of
        if part is not None:
            teams[team] = part
    if spec_cache is not None:
        spec_cache.keep()
    return ProjectPlan(PlanParts(earlier.parts.shared, teams, earlier.parts.environments))


def remembered(root: Path) -> ProjectPlan | None:
    """The memo's plan of the project as it is now, if an earlier clean compile left one (for validate)."""
    cache, memo = RenderCache(root), PlanMemo(root)
    digests = inputs_digest(root) if memo.enabled and cache.enabled else None
    if digests is None:
        return None
    return memo.get(digests.whole, cache, lambda: _full_plan(root, root, cache, None),
                    lambda team, others: _team_plan(root, root, cache, team, others))


def remembered_files(cache_root: Path, files: dict[str, bytes], full_plan: Callable[[], Plan]) -> ProjectPlan | None:
    """The memo's plan of a project given as its input files (a base commit's, read from git), if an
    earlier clean compile left one; `full_plan` stands in for a content missing from the render cache."""
    cache, memo = RenderCache(cache_root), PlanMemo(cache_root)
    return memo.get(files_digest(files).whole, cache, full_plan) if memo.enabled and cache.enabled else None


def _team_plan(root: Path, cache_root: Path, cache: RenderCache, team: str, others: frozenset[str]) -> Plan | None:
    """One team's files, checked and planned alone (for a content of a stored plan the tree no longer
    holds); None where the team cannot be alone."""
    alone = _teams_alone(root, cache_root, cache, None, {team}, others)
    if alone is None:
        return None
    part = alone[0].teams.get(team)
    return Plan(part.files if part is not None else ())


def _teams_alone(root: Path, cache_root: Path, cache: RenderCache, progress: Progress | None, teams: set[str],
                 others: frozenset[str]) -> tuple[PlanParts, SpecCache | None] | None:
    """Those teams' parts, checked and planned without the other teams' models (`others`), with what loaded
    them (its files are kept once the caller's plan stands); None where they have an error or a model name
    another team holds."""
    from compiler.pipeline.check import check_project
    from compiler.pipeline.plan import plan_parts

    checked, _ = check_project(root, cache_root, teams=teams, others=others)
    if checked is None or any(loaded.model.metadata.name in others for loaded in checked.project.models):
        return None
    return plan_parts(checked, cache, progress, shared=False), checked.project.spec_cache


def _full_plan(root: Path, cache_root: Path, cache: RenderCache, progress: Progress | None) -> Plan:
    planned, _ = _checked_plan(root, cache_root, cache, progress)
    if planned is None:
        raise CorruptContent("the inputs changed while they were compiled; compile again")
    return planned.plan


def _checked_plan(root: Path, cache_root: Path, cache: RenderCache, progress: Progress | None
                  ) -> tuple[ProjectPlan | None, list[SpecError]]:
    from compiler.pipeline.check import check_project
    from compiler.pipeline.plan import plan_parts

    checked, errors = check_project(root, cache_root)
    if checked is None:
        return None, errors
    return ProjectPlan(plan_parts(checked, cache, progress)), []
