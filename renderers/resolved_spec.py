"""ConfigMap `<model>-spec`: the resolved spec of one model in one environment.

Workflow and drift pods mount it, so the runtime steps read exactly what was reviewed in git.
"""

from __future__ import annotations

from compiler.spec.resolved import ResolvedModel
from renderers.base import Manifest, model_manifest, model_metadata


def render(model: ResolvedModel) -> list[Manifest]:
    name = model.names.resolved_spec
    body = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        # Synced first: the workflow and drift pods mount it.
        "metadata": model_metadata(model, name, annotations={"argocd.argoproj.io/sync-wave": "-1"}),
        "data": {"model.json": model.summary_json()},
    }
    return [model_manifest(model, body)]
