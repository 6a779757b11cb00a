"""What the renderers read: one model in one environment, and one environment with its models.

The pipeline's resolve stage (compiler/pipeline/resolve.py) builds these from the spec, its overlay
and the platform's defaults; they are frozen, and every renderer is a pure function of them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any

from compiler.runtime_contract import ResolvedSummary
from compiler.spec.features import Features
from compiler.spec.model import Serving, Spec
from compiler.spec.names import DerivedNames
from compiler.spec.platform import Cluster, Environment, GpuPool, Platform, Repository, Team
from compiler.spec.releases import Release, releases_path

MANAGED_BY = "mlplat"


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
    repository: Repository  # where the training pods clone the team's code from
    release: Release | None  # the versions environments/<env>/releases.yaml pins; None: not deployed
    names: DerivedNames = field(hash=False)
    evidence: dict[int, Any] = field(hash=False, default_factory=dict)  # pinned version -> its evidence data
    # pinned version -> SHA-256 of its evidence file, whose parsed JSON `evidence` holds (cache keys use it)
    evidence_sha256: dict[int, str] = field(hash=False, default_factory=dict)
    # SHA-256 of the model.yaml the spec was merged from, which with `environment` determines `spec`
    spec_source_sha256: str = field(default="", hash=False)
    # A model on a feature service: each team's definitions cut down to that service, and the environment's
    # Feast project (what its feature server serves beside it)
    served_features: tuple[Features, ...] = field(default=(), hash=False)
    feast_project: str = ""
    # whether a version this environment's own training registers can be pinned here: the first environment,
    # or one whose policy is retrain (elsewhere a pin is a copy of the previous environment's)
    pins_own_training: bool = True

    @property
    def serving(self) -> Serving:
        """The spec's serving section, for what only a served model has (asking it of another is a bug)."""
        if self.spec.serving is None:
            raise ValueError(f"{self.name} has no serving section")
        return self.spec.serving

    @property
    def code_folder(self) -> str:
        """The spec's folder, relative to the repository: where the team's training code lives."""
        return PurePosixPath(self.source).parent.as_posix()

    @property
    def release_source(self) -> str:
        return releases_path(self.environment)

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

    def summary(self) -> ResolvedSummary:
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

