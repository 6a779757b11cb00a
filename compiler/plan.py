"""The plan: every file the compiler emits, per environment, as exact bytes with a content hash."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from compiler import codeowners
from compiler.emit import to_json, to_yaml
from compiler.pipeline import Checked
from renderers import ENVIRONMENT_RENDERERS, MODEL_RENDERERS, Manifest

OUTPUT_DIR = "environments"


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
            content = to_json(manifest.body) if manifest.format == "json" else to_yaml(manifest.body, manifest.source)
            files[path] = PlannedFile(path, content, env, manifest.kind, manifest.name, manifest.namespace,
                                      manifest.source, renderer)
    owners = codeowners.render(checked.project.platform).encode()
    files[codeowners.PATH] = PlannedFile(codeowners.PATH, owners, "repository", "CODEOWNERS", codeowners.PATH, "",
                                         "platform/platform.yaml", "codeowners")
    return Plan(tuple(files[p] for p in sorted(files)), tuple(notes))
