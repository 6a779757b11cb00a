"""What a renderer returns: manifests with the path they are written to inside the environment."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from compiler.spec.resolved import ResolvedEnvironment, ResolvedModel


@dataclass(frozen=True)
class Manifest:
    """One rendered file. `path` is relative to environments/<env>/; `source` is the input it came from."""

    path: str
    body: Any
    source: str
    format: Literal["yaml", "json", "text"] = "yaml"  # text: body is the file's text (Markdown)
    kubernetes: bool = True  # False for files Argo CD must never apply (ML-BOMs, model cards)
    file_kind: str = "File"  # what plans call a file that is not a Kubernetes object

    @property
    def kind(self) -> str:
        return self.body.get("kind", "") if self.kubernetes else self.file_kind

    @property
    def name(self) -> str:
        return self.body.get("metadata", {}).get("name", "") if self.kubernetes else self.path

    @property
    def namespace(self) -> str:
        return self.body.get("metadata", {}).get("namespace", "") if self.kubernetes else ""


def model_manifest(model: ResolvedModel, body: dict[str, Any]) -> Manifest:
    """A Kubernetes object of a model, filed in its folder as `<kind>-<name>.yaml`."""
    path = f"{model_dir(model.team, model.name)}/{body['kind'].lower()}-{body['metadata']['name']}.yaml"
    return Manifest(path, body, model.source)


def model_dir(team: str, model: str) -> str:
    """Folder of a model's Kubernetes objects inside its environment (synced by the team's Application)."""
    return f"{TEAM_APPS_DIR}/{team}/{model}"


TEAM_APPS_DIR = "apps"
ARGOCD_DIR = "argocd"


def model_metadata(model: ResolvedModel, name: str, labels: dict[str, str] | None = None,
                   annotations: dict[str, str] | None = None) -> dict[str, Any]:
    """Metadata of an object rendered for a model: its labels plus `labels`, and annotations naming the
    source spec and its hash, plus `annotations`."""
    return {
        "name": name,
        "namespace": model.namespace,
        "labels": {**model.labels, **(labels or {})},
        "annotations": {"mlplat.io/source": model.source, "mlplat.io/spec-hash": model.spec_hash,
                        **(annotations or {})},
    }


def served_by_team(environment: ResolvedEnvironment) -> dict[str, list[ResolvedModel]]:
    """The environment's served models (a serving section and a pinned version) by team, sorted by name."""
    teams: dict[str, list[ResolvedModel]] = {}
    for model in sorted(environment.models, key=lambda m: (m.team, m.name)):
        if model.spec.serving is not None and model.release is not None:
            teams.setdefault(model.team, []).append(model)
    return teams
