"""load and validate: find the repository's inputs and read each into its spec document.

The inputs are platform/platform.yaml, every specs/<team>/<model>/model.yaml, each environment's
releases.yaml and the evidence of its pins; every error of every file is collected.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from compiler.pipeline.errors import SpecError
from compiler.pipeline.features import LoadedFeatures, load_features
from compiler.pipeline.incremental.spec_cache import SpecCache
from compiler.pipeline.loader import Document, load_file, load_json, read_regular
from compiler.pipeline.tree_swap import BACKUP, OUTPUT_DIR, interrupted
from compiler.pipeline.validation import load_valid, validate
from compiler.spec.evidence import VersionEvidence, evidence_path
from compiler.spec.model import Model
from compiler.spec.paths import PLATFORM_FILE, SPEC_NAME, SPECS_DIR
from compiler.spec.platform import Platform
from compiler.spec.releases import Release, Releases, releases_path


@dataclass(frozen=True)
class LoadedSpec:
    """A model.yaml as loaded (its document, for locating errors) and validated."""

    doc: Document
    model: Model

    @functools.cached_property
    def spec_hash(self) -> str:
        """SHA-256 of the validated spec in canonical JSON (every environment's resolution carries it)."""
        canonical = json.dumps(self.model.model_dump(mode="json", by_alias=True), sort_keys=True,
                               separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()


@dataclass(frozen=True)
class LoadedReleases:
    doc: Document
    releases: Releases
    # (model, version) -> its evidence document, or None where the file is there but invalid
    evidence: dict[tuple[str, int], Document | None] = field(default_factory=dict)

    @functools.cached_property
    def evidence_by_model(self) -> dict[str, dict[int, Document]]:
        """Valid evidence documents by model, then version."""
        found: dict[str, dict[int, Document]] = {}
        for (name, version), doc in self.evidence.items():
            if doc is not None:
                found.setdefault(name, {})[version] = doc
        return found


@dataclass(frozen=True)
class Project:
    root: Path
    platform_doc: Document
    platform: Platform
    models: tuple[LoadedSpec, ...]
    releases: dict[str, LoadedReleases]  # by environment; absent where nothing is pinned
    spec_cache: SpecCache | None = field(default=None, compare=False, repr=False)  # what loaded them
    features: tuple[LoadedFeatures, ...] = ()  # every team's specs/<team>/features.yaml
    features_complete: bool = True  # every features.yaml loaded and validated (check.feature_policy)
    others: frozenset[str] = frozenset()  # models of teams not loaded, checked before (check_project's teams)

    def release(self, environment: str, model: str) -> Release | None:
        loaded = self.releases.get(environment)
        return loaded.releases.releases.get(model) if loaded else None

    def evidence(self, environment: str, model: str) -> dict[int, Any]:
        """Valid evidence documents of the model's pinned versions there, by version."""
        return {version: doc.data for version, doc in self._evidence_docs(environment, model).items()}

    def evidence_sha256(self, environment: str, model: str) -> dict[int, str]:
        """The SHA-256 of each of those documents' files (what a cache key needs of them)."""
        return {version: doc.sha256 for version, doc in self._evidence_docs(environment, model).items()}

    def _evidence_docs(self, environment: str, model: str) -> dict[int, Document]:
        loaded = self.releases.get(environment)
        return loaded.evidence_by_model.get(model, {}) if loaded else {}


def spec_files(root: Path, teams: set[str] | None = None) -> list[Path]:
    """Every model.yaml under specs/ (in those teams' folders only, where given), sorted so that output
    never depends on directory order.

    A folder under specs/ that is a symbolic link is not entered but listed as `<link>/model.yaml`, so
    that loading it is refused with a located error rather than the model silently missing."""
    tops = ([root / SPECS_DIR] if teams is None  # a team's folder that is a link has no key (plan_memo.py)
            else [root / SPECS_DIR / team for team in teams if not (root / SPECS_DIR / team).is_symlink()])
    found = []
    for top in tops:
        for folder, dirs, files in os.walk(top):  # os.walk does not follow links
            here = Path(folder)
            found += [here / name / SPEC_NAME for name in dirs if (here / name).is_symlink()]
            found += [here / name for name in files if name == SPEC_NAME]
    return sorted(found, key=lambda p: p.relative_to(root).as_posix())


def load_project(root: Path, cache_root: Path | None = None, remember: bool = True,
                 teams: set[str] | None = None, others: frozenset[str] = frozenset()
                 ) -> tuple[Project | None, list[SpecError]]:
    """Load and validate the platform and every spec; all errors of all files are returned together.

    Loaded documents are cached in `cache_root` (the repository itself, unless another is given:
    `mlplat plan` reads the base's files with the head's cache); with `remember=False` none is added.
    With `teams`, only the specs in those teams' folders are loaded, and the evidence of their pins alone
    (`others`: the models of the other teams, see check_project)."""
    errors: list[SpecError] = []
    spec_cache = SpecCache(cache_root or root, remember)
    load_file = spec_cache.load_file
    platform_doc, found = load_file(root / PLATFORM_FILE, PLATFORM_FILE)
    errors += found
    platform = None
    if platform_doc is not None:
        platform, found = validate(platform_doc, Platform)
        errors += found
    models = []
    for path in spec_files(root, teams):
        doc, model, found = load_valid(load_file, path, path.relative_to(root).as_posix(), Model)
        errors += found
        if doc is not None and model is not None:
            models.append(LoadedSpec(doc, model))
    features, feature_errors = load_features(root, load_file)
    errors += feature_errors
    if platform is None or platform_doc is None:
        return None, errors
    if interrupted(root):  # the pins are in the old tree, set aside: reading on would find none
        errors.append(SpecError(OUTPUT_DIR, 1, 1, "", f"{OUTPUT_DIR}/ is missing: a compile was killed while "
                                f"swapping it, and its previous contents are in {BACKUP}/",
                                "run `mlplat compile`, which puts them back first"))
        return None, errors
    releases = {}
    for env in platform.environment_names:
        doc, pinned, found = load_releases(root, env, load_file)
        errors += found
        if doc is not None and pinned is not None:
            evidence = {}
            for name, release in pinned.releases.items():
                if name in others:
                    continue  # another team's pin, checked with its model
                for version in (release.version, *([release.candidate.version] if release.candidate else [])):
                    if _present(root / evidence_path(env, name, version)):
                        evidence[(name, version)], found = load_evidence(root, env, name, version, spec_cache)
                        errors += found
            releases[env] = LoadedReleases(doc, pinned, evidence)
    return Project(root, platform_doc, platform, tuple(models), releases, spec_cache, tuple(features),
                   features_complete=not feature_errors, others=others), errors


def load_platform(root: Path) -> Platform | None:
    """platform/platform.yaml alone, validated; None where it does not validate (load_project says why)."""
    doc, errors = SpecCache(root, True).load_file(root / PLATFORM_FILE, PLATFORM_FILE)
    return None if doc is None or errors else validate(doc, Platform)[0]


Loader = Callable[[Path, str], tuple[Document | None, list[SpecError]]]


def load_releases(root: Path, environment: str, load_file: Loader = load_file
                  ) -> tuple[Document | None, Releases | None, list[SpecError]]:
    """Read environments/<env>/releases.yaml; a missing file means nothing is pinned there."""
    display = releases_path(environment)
    path = root / display
    if not _present(path):
        return None, None, []
    doc, errors = load_file(path, display)
    if doc is None:
        return None, None, errors
    releases, errors = validate(doc, Releases)
    if releases is not None and releases.environment != environment:
        errors.append(doc.error(("environment",), f"file is in environments/{environment}/ but says "
                                f"environment {releases.environment!r}"))
    return doc, releases, errors


def load_evidence(root: Path, env: str, model: str, version: int, cache: SpecCache | None = None
                  ) -> tuple[Document | None, list[SpecError]]:
    """The validated evidence document of one pin (whose file exists), or None with the reasons it is broken."""
    display = evidence_path(env, model, version)
    doc, errors = (cache.load_json_file if cache else _load_json_file)(root / display, display)
    if doc is None:
        return None, errors
    if cache is not None and cache.known_valid(doc, VersionEvidence.__name__):
        return doc, []
    evidence, errors = validate(doc, VersionEvidence)
    if evidence is None:
        return None, errors
    if cache is not None:
        cache.passed(doc, VersionEvidence.__name__)
    return doc, errors


def _load_json_file(path: Path, display: str) -> tuple[Document | None, list[SpecError]]:
    raw, errors = read_regular(path, display)
    return load_json(raw, display) if raw is not None else (None, errors)


def _present(path: Path) -> bool:
    """A file, or a link where one should be (refused when read, rather than taken for absent)."""
    return path.is_file() or path.is_symlink()
