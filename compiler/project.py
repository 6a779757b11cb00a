"""Find and load the repository's inputs: platform/platform.yaml, every specs/<team>/<model>/model.yaml,
each environment's releases.yaml and the evidence of its pins."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from compiler.errors import SpecError
from compiler.evidence import evidence_path, load_evidence
from compiler.loader import Document, load_file
from compiler.model import Model
from compiler.platform_config import Platform
from compiler.releases import Release, Releases, load_releases
from compiler.validation import validate

PLATFORM_FILE = "platform/platform.yaml"
SPECS_DIR = "specs"
SPEC_NAME = "model.yaml"


@dataclass(frozen=True)
class LoadedModel:
    doc: Document
    model: Model


@dataclass(frozen=True)
class LoadedReleases:
    doc: Document
    releases: Releases
    # (model, version) -> its evidence document, or None where the file is there but invalid
    evidence: dict[tuple[str, int], Document | None] = field(default_factory=dict)


@dataclass(frozen=True)
class Project:
    root: Path
    platform_doc: Document
    platform: Platform
    models: tuple[LoadedModel, ...]
    releases: dict[str, LoadedReleases]  # by environment; absent where nothing is pinned

    def release(self, environment: str, model: str) -> Release | None:
        loaded = self.releases.get(environment)
        return loaded.releases.releases.get(model) if loaded else None

    def evidence(self, environment: str, model: str) -> dict[int, Any]:
        """Valid evidence documents of the model's pinned versions there, by version."""
        loaded = self.releases.get(environment)
        if loaded is None:
            return {}
        return {version: doc.data for (name, version), doc in loaded.evidence.items() if name == model and doc}


def spec_files(root: Path) -> list[Path]:
    """Every model.yaml under specs/, sorted so that output never depends on directory order."""
    return sorted((root / SPECS_DIR).rglob(SPEC_NAME), key=lambda p: p.relative_to(root).as_posix())


def load_project(root: Path) -> tuple[Project | None, list[SpecError]]:
    """Load and validate the platform and every spec; all errors of all files are returned together."""
    errors: list[SpecError] = []
    platform_doc, found = load_file(root / PLATFORM_FILE, PLATFORM_FILE)
    errors += found
    platform = None
    if platform_doc is not None:
        platform, found = validate(platform_doc, Platform)
        errors += found
    models = []
    for path in spec_files(root):
        display = path.relative_to(root).as_posix()
        doc, found = load_file(path, display)
        errors += found
        if doc is None:
            continue
        model, found = validate(doc, Model)
        errors += found
        if model is not None:
            models.append(LoadedModel(doc, model))
    if platform is None or platform_doc is None:
        return None, errors
    releases = {}
    for env in platform.environment_names:
        doc, pinned, found = load_releases(root, env)
        errors += found
        if doc is not None and pinned is not None:
            evidence = {}
            for name, release in pinned.releases.items():
                for version in (release.version, *([release.candidate.version] if release.candidate else [])):
                    if (root / evidence_path(env, name, version)).is_file():
                        evidence[(name, version)], found = load_evidence(root, env, name, version)
                        errors += found
            releases[env] = LoadedReleases(doc, pinned, evidence)
    return Project(root, platform_doc, platform, tuple(models), releases), errors
