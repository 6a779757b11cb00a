"""Renderers: pure functions from resolved models (or a resolved environment) to manifests.

The registry below is the one place that lists them; the compiler renders each in this order.
"""

from __future__ import annotations

from collections.abc import Callable

from compiler.resolve import ResolvedEnvironment, ResolvedModel
from renderers import argo, argocd, dashboards, drift, monitoring, resolved_spec, sbom, seldon
from renderers.base import Manifest

ModelRenderer = Callable[[ResolvedModel], list[Manifest]]
EnvironmentRenderer = Callable[[ResolvedEnvironment], list[Manifest]]

MODEL_RENDERERS: dict[str, ModelRenderer] = {
    "resolved-spec": resolved_spec.render,
    "argo": argo.render,
    "seldon": seldon.render,
    "monitoring": monitoring.render,
    "drift": drift.render,
    "sbom": sbom.render,
}
ENVIRONMENT_RENDERERS: dict[str, EnvironmentRenderer] = {
    "argocd": argocd.render,
    "dashboards": dashboards.render,
}

__all__ = ["MODEL_RENDERERS", "ENVIRONMENT_RENDERERS", "Manifest"]
