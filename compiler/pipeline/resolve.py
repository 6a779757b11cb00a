"""resolve: spec <- `spec.environments.<env>` overlay, plus platform defaults, per (model, environment).

The result is a frozen `ResolvedModel` (compiler/spec/resolved.py) that renderers consume; a
`SpecLocator` maps any field of the merged spec back to the file, line and column it came from
(the overlay or the spec).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from compiler.pipeline.errors import SpecError
from compiler.pipeline.features import served_definitions
from compiler.pipeline.loader import Document, Path_, dotted
from compiler.pipeline.project import LoadedSpec, Project
from compiler.pipeline.validation import translate
from compiler.spec.model import Spec
from compiler.spec.names import derived_names, feast_project, namespace_for
from compiler.spec.platform import Environment, Images
from compiler.spec.resolved import ResolvedModel


@dataclass(frozen=True)
class SpecLocator:
    """Locates paths of a merged spec in the model.yaml they came from."""

    doc: Document
    environment: str

    def error(self, path: Path_, message: str, hint: str = "", key: bool = False) -> SpecError:
        """Locate in the overlay where it sets this value (or replaces a value above it), else in the spec."""
        overlay_root = ("spec", "environments", self.environment)
        target = ("spec", *path)
        for depth in range(len(path), 0, -1):
            found, value = _lookup(self.doc.data, (*overlay_root, *path[:depth]))
            if found:
                if not isinstance(value, dict) or (depth == len(path) and not _lookup(self.doc.data, target)[0]):
                    target = (*overlay_root, *path)
                break
        pos, _ = self.doc.locate(target, key=key)
        return SpecError(self.doc.file, pos.line, pos.column, dotted(target), message, hint)


def _lookup(data: Any, path: Path_) -> tuple[bool, Any]:
    for part in path:
        if isinstance(data, dict) and part in data:
            data = data[part]
        elif isinstance(data, list) and isinstance(part, int) and 0 <= part < len(data):
            data = data[part]
        else:
            return False, None
    return True, data



def merge(base: Any, overlay: Any) -> Any:
    """Mappings merge key by key; anything else in the overlay replaces the base."""
    if isinstance(base, dict) and isinstance(overlay, dict):
        out = dict(base)
        for key, value in overlay.items():
            out[key] = merge(base[key], value) if key in base else copy.deepcopy(value)
        return out
    return copy.deepcopy(overlay)


def resolve_model(project: Project, loaded: LoadedSpec, env: Environment) -> tuple[ResolvedModel | None,
                                                                                  list[SpecError]]:
    """Merge the environment's overlay over the spec and validate the result."""
    raw_spec = {k: v for k, v in loaded.doc.data["spec"].items() if k != "environments"}
    overlay = loaded.doc.data["spec"].get("environments", {}).get(env.name) or {}
    merged = merge(raw_spec, overlay)
    locator = SpecLocator(loaded.doc, env.name)
    try:
        spec = Spec.model_validate(merged)
    except ValidationError as exc:
        return None, translate(loaded.doc, Spec, exc, merged, locate=locator.error)
    platform = project.platform
    meta = loaded.model.metadata
    team = platform.team(meta.team)
    if team is None:
        return None, []  # reported by policy
    defaults = platform.spec.defaults
    release = project.release(env.name, meta.name)
    # what a deployed model's feature server serves (renderers/seldon.py); only then, so that a feature
    # change re-renders the models it reaches in an environment, not every model trained on the service
    service = spec.training.data.feature_service if spec.serving and release else None
    return ResolvedModel(
        name=meta.name,
        team=meta.team,
        environment=env.name,
        source=loaded.doc.file,
        spec_hash=loaded.spec_hash,
        description=meta.description,
        owners=tuple(meta.owners),
        risk_tier=meta.risk_tier,
        extra_labels=tuple(sorted(meta.labels.items())),
        spec=spec,
        env=env,
        cluster=platform.cluster(env.cluster),
        team_config=team,
        namespace=namespace_for(env, meta.team),
        training_image=spec.training.image or default_training_image(defaults.images, spec.training.resources.gpus),
        runtime_image=defaults.images.training,
        serving_image=(spec.serving.image or defaults.images.serving) if spec.serving else None,
        service_account=defaults.service_account,
        artifact_secret=defaults.artifact_secret,
        repository=platform.spec.repository,
        release=release,
        pins_own_training=(platform.environment_names[0] == env.name or env.policies.promotion == "retrain"),
        names=derived_names(meta.name),
        evidence=project.evidence(env.name, meta.name),
        evidence_sha256=project.evidence_sha256(env.name, meta.name),
        spec_source_sha256=loaded.doc.sha256,
        served_features=served_definitions(project.features, service) if service else (),
        feast_project=feast_project(platform.metadata.name, env.name) if service else "",
    ), []


def default_training_image(images: Images, gpus: int) -> str:
    """The platform's image for a train step: its GPU build where the step requests GPUs (and the platform has
    one; policy refuses the other case), else the runtime."""
    return images.training_gpu if gpus and images.training_gpu else images.training
