"""plan: every file the compiler emits, per environment, as exact bytes with a content hash.

The plan runs every renderer (renderers.registry) over the checked project and serialises what
they return (compiler/spec/emit.py); write.py puts it on disk, and `mlplat plan` diffs two plans.

Rendering is done in units: a model in an environment, an environment's own objects, its Feast
files, a team's objects in an environment, a model's card, CODEOWNERS. With a render cache (render_cache.py) a
unit whose inputs hash to a stored key is not rendered: its files come from the cache, their
contents read only when something needs the bytes (a write, a diff), so a compile after a one-spec
change renders that model and what lists it. The bytes of a file not rendered are read from the tree
that the compile which rendered it wrote (render_cache.py).
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
from collections.abc import Callable
from dataclasses import fields

from compiler.pipeline.check import Checked
from compiler.pipeline.incremental.fingerprint import Keys
from compiler.pipeline.incremental.render_cache import CachedFile, CorruptContent, RenderCache
from compiler.pipeline.plan_files import DuplicateOutput, Plan, PlannedFile, PlanParts, TeamPart
from compiler.pipeline.progress import Progress
from compiler.pipeline.tree_swap import OUTPUT_DIR
from compiler.spec.emit import to_json, to_yaml
from compiler.spec.features import Features
from compiler.spec.platform import Platform
from compiler.spec.resolved import ResolvedEnvironment, ResolvedModel
from renderers.base import Manifest
from renderers.registry import (
    ACROSS_ENVIRONMENTS_RENDERERS,
    ENVIRONMENT_RENDERERS,
    FEATURE_RENDERERS,
    MODEL_RENDERERS,
    REPOSITORY_RENDERERS,
    TEAM_RENDERERS,
)

__all__ = ["DuplicateOutput", "build_plan", "plan_parts"]


def build_plan(checked: Checked, cache: RenderCache | None = None, progress: Progress | None = None) -> Plan:
    return plan_parts(checked, cache, progress).plan()


def plan_parts(checked: Checked, cache: RenderCache | None = None, progress: Progress | None = None,
               shared: bool = True) -> PlanParts:
    """The plan's parts: every team's of the checked project, and the shared files unless `shared` is
    False (a project checked for some teams only: the rest of its plan is known already)."""
    units = _Units(cache, progress or Progress(None), len(checked.models) + len(checked.environments))
    names: dict[str, list[str]] = {}  # each team's models
    for loaded in checked.project.models:
        names.setdefault(loaded.model.metadata.team, []).append(loaded.model.metadata.name)
    teams = sorted(names)
    files: dict[str, list[PlannedFile]] = {team: [] for team in teams}
    notes: dict[str, list[tuple[int, str, str]]] = {team: [] for team in teams}
    where: dict[str, list[str]] = {team: [] for team in teams}
    model_keys: dict[str, list[str]] = {}
    shared_files: list[PlannedFile] = []
    features = [(f.doc.file, f.features) for f in checked.project.features]
    for index, environment in enumerate(checked.environments):
        env = environment.env.name
        keys = []
        for model in environment.models:
            if model.spec.serving is not None and model.release is None:
                notes[model.team].append((index, model.name, f"{env}: {model.name} is not deployed (no version "
                                                             f"pinned in {OUTPUT_DIR}/{env}/releases.yaml)"))
            key = units.keys.model(model) if cache else ""
            model_keys.setdefault(model.name, []).append(key)
            keys.append(key)
            files[model.team] += units.render(key, functools.partial(_render_model, model))
        if shared:
            shared_files += units.render(units.keys.environment(environment, keys) if cache else "",
                                         functools.partial(_render_environment, environment))
            shared_files += units.render(units.keys.features(environment, [f for _, f in features]) if cache else "",
                                         functools.partial(_render_features, environment, features), count=False)
        for team in sorted({m.team for m in environment.models}):
            where[team].append(env)
            members = dataclasses.replace(environment, models=tuple(m for m in environment.models if m.team == team))
            team_keys = [key for key, m in zip(keys, environment.models, strict=True) if m.team == team]
            files[team] += units.render(units.keys.team(members, team, team_keys) if cache else "",
                                        functools.partial(_render_team, members), count=False)
    for models in _by_model(checked):
        key = units.keys.card(model_keys[models[0].name]) if cache else ""
        files[models[0].team] += units.render(key, functools.partial(_render_card, models), count=False)
    if shared:
        platform = checked.project.platform
        shared_files += units.render(units.keys.codeowners(platform) if cache else "",
                                     functools.partial(_render_codeowners, platform), count=False)
    units.progress.done()
    parts = {team: TeamPart(tuple(files[team]), tuple(notes[team]), tuple(sorted(names[team])), tuple(where[team]))
             for team in teams}
    return PlanParts(tuple(shared_files), parts, len(checked.environments))


class _Units:
    """Renders units, through the cache when there is one."""

    def __init__(self, cache: RenderCache | None, progress: Progress, total: int) -> None:
        self.cache = cache
        self.keys = Keys()
        self.progress = progress
        self.total = total
        self.count = 0

    def render(self, key: str, render: Callable[[], list[PlannedFile]], *, count: bool = True) -> list[PlannedFile]:
        if count:
            self.count += 1
            self.progress.show(f"rendering {self.count}/{self.total}")
        if self.cache is None:
            return render()
        cached = self.cache.get(key)
        if cached is not None:
            again = functools.cache(render)  # a unit whose files the tree lacks is rendered once, not per file
            return [_from_cache(self.cache, f, again) for f in cached]
        rendered = render()
        self.cache.put(key, list(rendered))
        return rendered


def _from_cache(cache: RenderCache, file: CachedFile, render: Callable[[], list[PlannedFile]]) -> PlannedFile:
    def read() -> bytes:
        try:
            return cache.content(file.path, file.sha256)
        except CorruptContent:  # not in the tree (another branch's output, a hand edit): render it again
            again = next((f.content for f in render() if f.path == file.path), b"")
            if hashlib.sha256(again).hexdigest() != file.sha256:
                raise CorruptContent(f"the render cache in {cache.folder} disagrees with the renderers for "
                                     f"{file.path}; delete the folder and compile again") from None
            return again

    return PlannedFile(**{f.name: getattr(file, f.name) for f in fields(CachedFile)}, read=read)


def _render_model(model: ResolvedModel) -> list[PlannedFile]:
    return [_planned(model.environment, renderer, manifest)
            for renderer, render in MODEL_RENDERERS.items() for manifest in render(model)]


def _render_environment(environment: ResolvedEnvironment) -> list[PlannedFile]:
    return [_planned(environment.env.name, renderer, manifest)
            for renderer, render in ENVIRONMENT_RENDERERS.items() for manifest in render(environment)]


def _render_team(environment: ResolvedEnvironment) -> list[PlannedFile]:
    return [_planned(environment.env.name, renderer, manifest)
            for renderer, render in TEAM_RENDERERS.items() for manifest in render(environment)]


def _render_features(environment: ResolvedEnvironment, features: list[tuple[str, Features]]) -> list[PlannedFile]:
    return [_planned(environment.env.name, renderer, manifest)
            for renderer, render in FEATURE_RENDERERS.items() for manifest in render(environment, features)]


def _render_card(models: list[ResolvedModel]) -> list[PlannedFile]:
    return [_planned("repository", renderer, manifest, f"{OUTPUT_DIR}/{manifest.path}")
            for renderer, render in ACROSS_ENVIRONMENTS_RENDERERS.items() for manifest in render(models)]


def _render_codeowners(platform: Platform) -> list[PlannedFile]:
    return [_planned("repository", renderer, manifest, manifest.path)
            for renderer, render in REPOSITORY_RENDERERS.items() for manifest in render(platform)]


def _planned(environment: str, renderer: str, manifest: Manifest, path: str = "") -> PlannedFile:
    if manifest.format == "json":
        content = to_json(manifest.body)
    elif manifest.format == "text":
        content = manifest.body.encode("utf-8")
    else:
        content = to_yaml(manifest.body, manifest.source)
    return PlannedFile.of(path or f"{OUTPUT_DIR}/{environment}/{manifest.path}", content, environment, manifest.kind,
                          manifest.name, manifest.namespace, manifest.source, renderer)


def _by_model(checked: Checked) -> list[list[ResolvedModel]]:
    """Each model's resolutions in promotion order, models by name."""
    found: dict[str, list[ResolvedModel]] = {}
    for model in checked.models:  # environments come in promotion order
        found.setdefault(model.name, []).append(model)
    return [found[name] for name in sorted(found)]
