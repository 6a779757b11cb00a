"""A plan's files: each one's path, facts and hash, with its bytes read only when asked for; and the
plan by parts, each team's apart from the files every team shares.

The plan (plan.py) builds them by rendering or from the render cache, the plan memo (plan_memo.py)
from a stored list; the writer and `mlplat plan` read them. Nothing here loads the renderers.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from compiler.pipeline.incremental.render_cache import CachedFile


@dataclass(frozen=True)
class PlannedFile(CachedFile):
    """A file of the plan: its path (relative to the repository root), facts and hash, and its bytes,
    read when asked for (from the cache, for a unit that was not rendered)."""

    read: Callable[[], bytes] = field(repr=False, compare=False)

    @property
    def content(self) -> bytes:
        return self.read()

    def yaml_data(self) -> Any:
        """The file's YAML as data, read with libyaml: the compiler's own output, whose positions nobody asks for
        (a plan of a thousand models has about 10,000 such files)."""
        import yaml

        return yaml.load(self.content, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))

    @classmethod
    def of(cls, path: str, content: bytes, environment: str, kind: str, name: str, namespace: str, source: str,
           renderer: str) -> PlannedFile:
        return cls(path, environment, kind, name, namespace, source, renderer, hashlib.sha256(content).hexdigest(),
                   lambda: content)


@dataclass(frozen=True)
class Plan:
    files: tuple[PlannedFile, ...]
    notes: tuple[str, ...] = ()  # what is deliberately not rendered, and why

    def by_path(self) -> dict[str, PlannedFile]:
        return {f.path: f for f in self.files}


class DuplicateOutput(Exception):
    """Two renderers produced the same path: a bug in a renderer, never a user error."""


@dataclass(frozen=True)
class TeamPart:
    """What one team's models bring to a plan: their units in every environment (the models', the team's
    own objects, the models' cards), the notes about them, and where the team has models."""

    files: tuple[PlannedFile, ...]
    notes: tuple[tuple[int, str, str], ...]  # (the environment's place in promotion order, model, note)
    names: tuple[str, ...]  # its models, by name
    environments: tuple[str, ...]  # where it has a model: what an environment's own objects list of it


@dataclass(frozen=True)
class PlanParts:
    """A plan by what its files depend on: the files shared by every team (each environment's own objects
    and Feast files, CODEOWNERS), which depend on the platform, the feature definitions and which teams
    have models where; and each team's part, which depends on its models alone (with the platform)."""

    shared: tuple[PlannedFile, ...]
    teams: dict[str, TeamPart]
    environments: int

    @property
    def models(self) -> int:
        return sum(len(team.names) for team in self.teams.values())

    def plan(self) -> Plan:
        """The plan these parts make: every file by path, each path rendered once."""
        files: dict[str, PlannedFile] = {}
        for planned in [*self.shared, *(f for team in self.teams.values() for f in team.files)]:
            if planned.path in files:
                raise DuplicateOutput(f"{planned.path} is rendered by both {files[planned.path].renderer} and "
                                      f"{planned.renderer}")
            files[planned.path] = planned
        notes = sorted(note for team in self.teams.values() for note in team.notes)
        return Plan(tuple(files[p] for p in sorted(files)), tuple(text for _, _, text in notes))
