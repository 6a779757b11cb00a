"""Resolve each (model, environment): spec <- `spec.environments.<env>` overlay, plus platform defaults.

The result is a frozen `ResolvedModel` that renderers consume; a `SpecLocator` maps any field of
the merged spec back to the file, line and column it came from (the overlay or the spec).
"""

from __future__ import annotations

import copy
import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from compiler.errors import SpecError
from compiler.loader import Document, Path_, dotted
from compiler.model import Spec
from compiler.names import derived_names, namespace_for
from compiler.platform_config import Cluster, Environment, GpuPool, Platform, Team
from compiler.project import LoadedModel, Project
from compiler.releases import Release
from compiler.validation import translate

MANAGED_BY = "mlplat"


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


@dataclass(frozen=True)
class ResolvedModel:
    """One model in one environment, with every default applied. Renderers read only this."""

    name: str
    team: str
    environment: str
    source: str
    spec_hash: str
    description: str
    owners: tuple[str, ...]
    risk_tier: str | None
    extra_labels: tuple[tuple[str, str], ...]
    spec: Spec
    env: Environment
    cluster: Cluster
    team_config: Team
    namespace: str
    training_image: str
    runtime_image: str  # the platform's runtime, for steps that do not run team code
    serving_image: str | None
    service_account: str
    artifact_secret: str
    release: Release | None  # the versions environments/<env>/releases.yaml pins; None: not deployed
    names: dict[str, str] = field(hash=False)
    evidence: dict[int, Any] = field(hash=False, default_factory=dict)  # pinned version -> its evidence data

    @property
    def release_source(self) -> str:
        return f"environments/{self.environment}/releases.yaml"

    @property
    def labels(self) -> dict[str, str]:
        """Labels on every object rendered for this model (extra labels cannot override these)."""
        return {
            **dict(self.extra_labels),
            "app.kubernetes.io/name": self.name,
            "app.kubernetes.io/part-of": "mlplat",
            "app.kubernetes.io/managed-by": MANAGED_BY,
            "mlplat.io/team": self.team,
            "mlplat.io/model": self.name,
            "mlplat.io/environment": self.environment,
        }

    @property
    def prediction_log(self) -> str:
        """Folder of this model's logged features in its environment (read by the drift job)."""
        base = self.env.monitoring.prediction_log or f"{self.env.artifact_store.rstrip('/')}/prediction-logs"
        return f"{base.rstrip('/')}/{self.team}/{self.name}"

    def gpu_pool(self, gpu_type: str | None) -> GpuPool | None:
        return self.cluster.gpu_pools.get(gpu_type) if gpu_type else None

    def summary_json(self) -> str:
        """summary() as the runtime reads it: the <model>-spec ConfigMap's model.json, byte for byte."""
        return json.dumps(self.summary(), indent=2, sort_keys=True) + "\n"

    def summary(self) -> dict[str, Any]:
        """The resolved spec as plain JSON data (what the runtime steps read in their pods)."""
        return {
            "apiVersion": "mlplat/v1",
            "kind": "ResolvedModel",
            "name": self.name,
            "team": self.team,
            "environment": self.environment,
            "source": self.source,
            "description": self.description,
            "owners": list(self.owners),
            "riskTier": self.risk_tier,
            "specHash": self.spec_hash,
            "namespace": self.namespace,
            "mlflowTrackingUri": self.env.mlflow.tracking_uri,
            "artifactStore": self.env.artifact_store,
            "trainingImage": self.training_image,
            "servingImage": self.serving_image,
            "spec": self.spec.model_dump(mode="json", by_alias=True, exclude_none=True),
        }


@dataclass(frozen=True)
class ResolvedEnvironment:
    """One environment with the models deployed to it, for environment-wide renderers (Argo CD)."""

    env: Environment
    cluster: Cluster
    platform: Platform
    models: tuple[ResolvedModel, ...]

    @property
    def teams(self) -> list[str]:
        return sorted({m.team for m in self.models})


def merge(base: Any, overlay: Any) -> Any:
    """Mappings merge key by key; anything else in the overlay replaces the base."""
    if isinstance(base, dict) and isinstance(overlay, dict):
        out = dict(base)
        for key, value in overlay.items():
            out[key] = merge(base[key], value) if key in base else copy.deepcopy(value)
        return out
    return copy.deepcopy(overlay)


def spec_hash(loaded: LoadedModel) -> str:
    canonical = json.dumps(loaded.model.model_dump(mode="json", by_alias=True), sort_keys=True,
                           separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def resolve_model(project: Project, loaded: LoadedModel, env: Environment) -> tuple[ResolvedModel | None,
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
    return ResolvedModel(
        name=meta.name,
        team=meta.team,
        environment=env.name,
        source=loaded.doc.file,
        spec_hash=spec_hash(loaded),
        description=meta.description,
        owners=tuple(meta.owners),
        risk_tier=meta.risk_tier,
        extra_labels=tuple(sorted(meta.labels.items())),
        spec=spec,
        env=env,
        cluster=platform.cluster(env.cluster),
        team_config=team,
        namespace=namespace_for(env, meta.team),
        training_image=spec.training.image or defaults.images.training,
        runtime_image=defaults.images.training,
        serving_image=(spec.serving.image or defaults.images.serving) if spec.serving else None,
        service_account=defaults.service_account,
        artifact_secret=defaults.artifact_secret,
        release=project.release(env.name, meta.name),
        names=derived_names(meta.name),
        evidence=project.evidence(env.name, meta.name),
    ), []
