"""plan: every file the compiler emits, per environment, as exact bytes with a content hash.

The plan runs every renderer (renderers.registry) over the checked project and serialises what
they return (compiler/spec/emit.py); write.py puts it on disk, and `mlplat plan` diffs two plans.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from compiler.pipeline.check import Checked
from compiler.pipeline.tree_swap import OUTPUT_DIR
from compiler.spec.emit import to_json, to_yaml
from compiler.spec.resolved import ResolvedModel
from renderers import codeowners, model_card
from renderers.base import Manifest
from renderers.registry import ENVIRONMENT_RENDERERS, MODEL_RENDERERS


@dataclass(frozen=True)
class PlannedFile:
    path: str  # relative to the repository root
    content: bytes
    environment: str
    kind: str
    name: str
    namespace: str
    source: str
    renderer: str

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.content).hexdigest()


@dataclass(frozen=True)
class Plan:
    files: tuple[PlannedFile, ...]
    notes: tuple[str, ...] = ()  # what is deliberately not rendered, and why

    def by_path(self) -> dict[str, PlannedFile]:
        return {f.path: f for f in self.files}


class DuplicateOutput(Exception):
    """Two renderers produced the same path: a bug in a renderer, never a user error."""


def build_plan(checked: Checked) -> Plan:
    files: dict[str, PlannedFile] = {}
    notes: list[str] = []
    for environment in checked.environments:
        env = environment.env.name
        notes += [f"{env}: {m.name} is not deployed (no version pinned in {OUTPUT_DIR}/{env}/releases.yaml)"
                  for m in environment.models if m.spec.serving is not None and m.release is None]
        rendered: list[tuple[str, Manifest]] = []
        for model in environment.models:
            for renderer, render in MODEL_RENDERERS.items():
                rendered += [(renderer, m) for m in render(model)]
        for renderer, render in ENVIRONMENT_RENDERERS.items():
            rendered += [(renderer, m) for m in render(environment)]
        for renderer, manifest in rendered:
            path = f"{OUTPUT_DIR}/{env}/{manifest.path}"
            if path in files:
                raise DuplicateOutput(f"{path} is rendered by both {files[path].renderer} and {renderer}")
            files[path] = _planned(path, manifest, env, renderer)
    for models in _by_model(checked):
        card = model_card.render(models)
        path = f"{OUTPUT_DIR}/{card.path}"
        files[path] = _planned(path, card, "repository", "model-card")
    owners = codeowners.render(checked.project.platform).encode()
    files[codeowners.PATH] = PlannedFile(codeowners.PATH, owners, "repository", "CODEOWNERS", codeowners.PATH, "",
                                         "platform/platform.yaml", "codeowners")
    return Plan(tuple(files[p] for p in sorted(files)), tuple(notes))


def _planned(path: str, manifest: Manifest, environment: str, renderer: str) -> PlannedFile:
    if manifest.format == "json":
        content = to_json(manifest.body)
    elif manifest.format == "text":
        content = manifest.body.encode("utf-8")
    else:
        content = to_yaml(manifest.body, manifest.source)
    return PlannedFile(path, content, environment, manifest.kind, manifest.name, manifest.namespace, manifest.source,
                       renderer)


def _by_model(checked: Checked) -> list[list[ResolvedModel]]:
    """Each model's resolutions in promotion order, models by name."""
    found: dict[str, list[ResolvedModel]] = {}
    for model in checked.models:  # environments come in promotion order
        found.setdefault(model.name, []).append(model)
    return [found[name] for name in sorted(found)]
