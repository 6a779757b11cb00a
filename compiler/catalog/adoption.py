"""Adoption, from git history: every deployment (a new main version pinned in an environment's
releases.yaml), whether the platform's own pull requests made it, and how long versions took from
registration to production.

A deployment went "through the platform" when the commit that pinned it carries the `Mlplat-Change`
trailer that `mlplat promote`, `rollback` and the canary's proposals write (pins.trailers); a pin edited
by hand has none. Registration time is the evidence file's `registeredAt`, as committed with the pin.
"""

from __future__ import annotations

import json
import statistics
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from compiler.gitops import gitbase
from compiler.spec.evidence import evidence_path
from compiler.spec.releases import releases_path

PLATFORM_TRAILER = "Mlplat-Change:"
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # a releases.yaml of a thousand pins, once a commit


@dataclass(frozen=True)
class Deployment:
    environment: str
    model: str
    version: int
    commit: str
    at: datetime  # when the pin was committed
    through_platform: bool
    registered_at: datetime | None  # from the version's evidence; None where none was committed


def deployments(root: Path, environments: list[str]) -> list[Deployment]:
    """Every new main pin in the history of HEAD, oldest first; none outside a git repository."""
    try:
        repository = gitbase.repo(root)
    except gitbase.GitError:
        return []
    if not repository.head.is_valid():
        return []
    prefix = Path(root).resolve().relative_to(Path(repository.working_tree_dir).resolve()).as_posix()

    def located(relative: str) -> str:
        return relative if prefix == "." else f"{prefix}/{relative}"

    paths = [located(releases_path(env)) for env in environments]
    pinned: dict[tuple[str, str], int] = {}
    out = []
    for commit in repository.iter_commits("HEAD", paths=paths, reverse=True, topo_order=True):
        for env in environments:
            for model, version in _main_pins(_blob(repository, commit, located(releases_path(env)))).items():
                if pinned.get((env, model)) == version:
                    continue
                pinned[(env, model)] = version
                evidence = _blob(repository, commit, located(evidence_path(env, model, version)))
                out.append(Deployment(env, model, version, commit.hexsha,
                                      datetime.fromtimestamp(commit.committed_date, UTC),
                                      PLATFORM_TRAILER in commit.message, _registered_at(evidence)))
    return out


def figures(found: list[Deployment], models_per_team: dict[str, int], production: str | None) -> dict[str, Any]:
    """The catalog's adoption figures (JSON-ready)."""
    through = sum(1 for d in found if d.through_platform)
    waits = sorted((d.at - d.registered_at).total_seconds() for d in found
                   if d.environment == production and d.registered_at is not None and d.at >= d.registered_at)
    return {"modelsPerTeam": dict(sorted(models_per_team.items())),
            "deployments": len(found), "throughPlatform": through,
            "throughPlatformShare": through / len(found) if found else None,
            "production": production, "productionDeployments": len(waits),
            "medianRegistrationToProductionSeconds": statistics.median(waits) if waits else None}


def _blob(repository: Any, commit: Any, path: str) -> bytes | None:
    # One `git cat-file --batch` that GitPython keeps open: walking commit.tree parses every tree on the
    # path again for each file, seconds for a thousand models' evidence.
    try:
        _, kind, _, data = repository.git.get_object_data(f"{commit.hexsha}:{path}")
    except ValueError:  # not in that commit
        return None
    return data if kind == b"blob" else None


def _main_pins(raw: bytes | None) -> dict[str, int]:
    """model -> main version of a releases.yaml as committed; unreadable history counts as no pins."""
    try:
        document = yaml.load(raw, Loader=_LOADER) if raw else None
    except yaml.YAMLError:
        return {}
    releases = document.get("releases") if isinstance(document, dict) else None
    if not isinstance(releases, dict):
        return {}
    return {str(model): pin["version"] for model, pin in releases.items()
            if isinstance(pin, dict) and isinstance(pin.get("version"), int)}


def _registered_at(raw: bytes | None) -> datetime | None:
    try:
        text = json.loads(raw)["registeredAt"] if raw else None
        return datetime.fromisoformat(text.replace("Z", "+00:00")) if isinstance(text, str) else None
    except (ValueError, KeyError, TypeError):
        return None
