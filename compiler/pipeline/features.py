"""Loading every team's feature definitions (specs/<team>/features.yaml) and checking them together.

Each file is validated on its own (compiler/spec/features.py), then as one platform: every name is
unique across teams, a view's entities and source exist, a service's views and features exist, and
the file sits in its team's folder. Every problem is a located error, all of them in one run.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from compiler.pipeline.errors import SpecError
from compiler.pipeline.loader import Document
from compiler.pipeline.validation import load_valid
from compiler.spec.data_uris import outside_roots
from compiler.spec.features import Features, FeatureService, FeatureView
from compiler.spec.model import Model
from compiler.spec.names import MAX_VIEW_NAME
from compiler.spec.paths import FEATURES_NAME
from compiler.spec.platform import Platform

_KINDS = {"entities": "entity", "sources": "source", "featureViews": "feature view",
          "featureServices": "feature service"}


@dataclass(frozen=True)
class LoadedFeatures:
    doc: Document
    features: Features


def feature_files(root: Path) -> list[Path]:
    """specs/<team>/features.yaml of every team folder, sorted (a link among them is listed, and refused
    when it is read)."""
    specs = root / "specs"
    if not specs.is_dir():
        return []
    return sorted(folder / FEATURES_NAME for folder in specs.iterdir()
                  if folder.is_dir() and not folder.is_symlink()  # a linked team folder: spec_files refuses it
                  and ((folder / FEATURES_NAME).exists() or (folder / FEATURES_NAME).is_symlink()))


def load_features(root: Path, load_file: Callable[[Path, str], tuple[Document | None, list[SpecError]]]
                  ) -> tuple[list[LoadedFeatures], list[SpecError]]:
    loaded, errors = [], []
    for path in feature_files(root):
        doc, features, found = load_valid(load_file, path, path.relative_to(root).as_posix(), Features)
        errors += found
        if doc is not None and features is not None:
            loaded.append(LoadedFeatures(doc, features))
    return loaded, errors


def feature_problems(loaded: list[LoadedFeatures], platform: Platform, *, complete: bool) -> list[SpecError]:
    """What is wrong beyond each file's own shape: its owner, and, where every file loaded (`complete`:
    otherwise the names of a broken file would look undefined elsewhere), duplicate names and
    references that name nothing."""
    errors = []
    teams = [t.name for t in platform.spec.teams]
    for item in loaded:
        team, folder = item.features.metadata.team, item.doc.file.split("/")[1]
        if team not in teams:
            errors.append(item.doc.error(("metadata", "team"), f"team {team!r} is not a team of "
                                         "platform/platform.yaml", _did_you_mean(team, teams)))
        elif team != folder:
            errors.append(item.doc.error(("metadata", "team"), f"team {team!r} does not match the folder "
                                         f"specs/{folder}/", f"move the file to specs/{team}/ or say {folder!r}"))
        roots = platform.spec.defaults.local_data_roots
        for index, source in enumerate(item.features.spec.sources):
            places: list[tuple[tuple[str | int, ...], str]] = [(("spec", "sources", index, "uri"), source.uri)]
            places += [(("spec", "sources", index, "environments", env, "uri"), at.uri)
                       for env, at in source.environments.items()]
            errors += [item.doc.error(path, f"{uri} is outside the local data roots of platform/platform.yaml "
                                      f"({', '.join(roots)})", "put the table under one of them, or add its folder "
                                      "to defaults.localDataRoots")
                       for path, uri in places if outside_roots(uri, roots)]
            for env in source.environments:
                if env not in platform.environment_names:
                    errors.append(item.doc.error(("spec", "sources", index, "environments", env), f"environment "
                                                 f"{env!r} is not an environment of platform/platform.yaml",
                                                 _did_you_mean(env, platform.environment_names) or "the environments "
                                                 f"are: {', '.join(sorted(platform.environment_names))}", key=True))
    if not complete:
        return errors
    names: dict[str, dict[str, tuple[LoadedFeatures, int]]] = {kind: {} for kind in _KINDS}
    for item in loaded:
        for kind in _KINDS:
            for index, defined in enumerate(_defined(item, kind)):
                first = names[kind].get(defined.name)
                if first is None:
                    names[kind][defined.name] = (item, index)
                else:
                    errors.append(item.doc.error(("spec", kind, index, "name"), f"{_KINDS[kind]} "
                                                 f"{defined.name!r} is also defined in {first[0].doc.file}",
                                                 "names are platform-wide: one Feast project per environment"))
    views = {name: item.features.spec.feature_views[index] for name, (item, index) in names["featureViews"].items()}
    for item in loaded:
        errors += _view_problems(item, names)
        errors += _service_problems(item, views)
    return errors


def _defined(item: LoadedFeatures, kind: str) -> list[Any]:
    spec = item.features.spec
    defined: dict[str, list[Any]] = {"entities": spec.entities, "sources": spec.sources,
                                     "featureViews": spec.feature_views, "featureServices": spec.feature_services}
    return defined[kind]


def _view_problems(item: LoadedFeatures, names: dict[str, dict[str, tuple[LoadedFeatures, int]]]) -> list[SpecError]:
    errors = []
    for index, view in enumerate(item.features.spec.feature_views):
        where = ("spec", "featureViews", index)
        for position, entity in enumerate(view.entities):
            if entity not in names["entities"]:
                errors.append(item.doc.error((*where, "entities", position), f"entity {entity!r} is not defined "
                                             "in any features.yaml", _did_you_mean(entity, names["entities"])))
        if view.source not in names["sources"]:
            errors.append(item.doc.error((*where, "source"), f"source {view.source!r} is not defined in any "
                                         "features.yaml", _did_you_mean(view.source, names["sources"])))
        if len(view.name) > MAX_VIEW_NAME:
            errors.append(item.doc.error((*where, "name"), f"view name {view.name!r} is {len(view.name)} characters; "
                                         f"its CronWorkflow's name allows views of at most {MAX_VIEW_NAME}"))
        seen: set[str] = set()
        for position, feature in enumerate(view.features):
            if feature.name in seen:
                errors.append(item.doc.error((*where, "features", position, "name"),
                                             f"feature {feature.name!r} is listed twice in view {view.name!r}"))
            seen.add(feature.name)
    return errors


def _service_problems(item: LoadedFeatures, views: dict) -> list[SpecError]:
    errors = []
    for index, service in enumerate(item.features.spec.feature_services):
        for position, selection in enumerate(service.features):
            where = ("spec", "featureServices", index, "features", position)
            view = views.get(selection.view)
            if view is None:
                errors.append(item.doc.error((*where, "view"), f"feature view {selection.view!r} is not defined "
                                             "in any features.yaml", _did_you_mean(selection.view, views)))
                continue
            offered = [f.name for f in view.features]
            for number, name in enumerate(selection.features or []):
                if name not in offered:
                    errors.append(item.doc.error((*where, "features", number), f"feature view {view.name!r} has "
                                                 f"no feature {name!r}", _did_you_mean(name, offered)))
    return errors


def model_feature_problems(models: Iterable[tuple[Document, Model]], loaded: list[LoadedFeatures]
                           ) -> list[SpecError]:
    """A model's featureService (in the spec or an environment's overlay) names a service on the platform,
    and the features its drift check watches are among that service's."""
    views = {view.name: view for item in loaded for view in item.features.spec.feature_views}
    services = {s.name: service_features(s, views) for item in loaded for s in item.features.spec.feature_services}
    errors = []
    for doc, model in models:
        overlays = [(("spec", "environments", env), overlay.training)
                    for env, overlay in model.spec.environments.items()]
        for where, training in [(("spec",), model.spec.training), *overlays]:
            service = getattr(getattr(training, "data", None), "feature_service", None)
            if service is not None and service not in services:
                errors.append(doc.error((*where, "training", "data", "featureService"), f"feature service "
                                        f"{service!r} is not defined in any features.yaml",
                                        _did_you_mean(service, services)))
        offered = services.get(model.spec.training.data.feature_service or "")
        drift = model.spec.monitoring.drift if model.spec.monitoring else None
        if drift is None or offered is None:
            continue
        for index, feature in enumerate(drift.features):
            if feature not in offered:
                errors.append(doc.error(("spec", "monitoring", "drift", "features", index), f"feature {feature!r} is "
                                        f"not served by {model.spec.training.data.feature_service!r}",
                                        _did_you_mean(feature, offered) or "drift is measured on what the model is "
                                        f"served; the service has: {', '.join(sorted(offered))}"))
    return errors


def service_features(service: FeatureService, views: dict[str, FeatureView]) -> list[str]:
    """The names of the features a service serves, in its order (a selection of a view that does not exist
    contributes none: that is its own error)."""
    names = []
    for selection in service.features:
        view = views.get(selection.view)
        if view is not None:
            names += selection.features or [f.name for f in view.features]
    return names


def served_definitions(loaded: Iterable[LoadedFeatures], service: str) -> tuple[Features, ...]:
    """Each team's definitions cut down to what serving `service` needs: the service, its views, their
    entities and sources (what a model server's feature server is given); nothing for an unknown service."""
    teams = [item.features for item in loaded]
    found = next((s for f in teams for s in f.spec.feature_services if s.name == service), None)
    if found is None:
        return ()
    views = {selection.view for selection in found.features}
    chosen = [v for f in teams for v in f.spec.feature_views if v.name in views]
    entities = {e for v in chosen for e in v.entities}
    sources = {v.source for v in chosen}
    cut = []
    for features in teams:
        spec = features.spec.model_copy(update={
            "entities": [e for e in features.spec.entities if e.name in entities],
            "sources": [s for s in features.spec.sources if s.name in sources],
            "feature_views": [v for v in features.spec.feature_views if v.name in views],
            "feature_services": [s for s in features.spec.feature_services if s.name == service]})
        if spec.entities or spec.sources or spec.feature_views or spec.feature_services:
            cut.append(features.model_copy(update={"spec": spec}))
    return tuple(cut)


def _did_you_mean(name: str, known: Iterable[str]) -> str:
    close = difflib.get_close_matches(name, sorted(known), n=1)
    return f"did you mean {close[0]!r}?" if close else ""
