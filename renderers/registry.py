"""The one place that lists the renderers; the compiler renders each in this order.

Model renderers take one resolved model, environment and team renderers one resolved environment. The
model cards (one per model across environments) and CODEOWNERS (one per repository) are rendered
by the plan beside them, from renderers.model_card and renderers.codeowners.
"""

from __future__ import annotations

from collections.abc import Callable

from compiler.spec.resolved import ResolvedEnvironment, ResolvedModel
from renderers import (
    argo,
    argocd,
    canary,
    dashboards,
    drift,
    monitoring,
    prediction_log,
    quality,
    resolved_spec,
    sbom,
    scoring,
    scraping,
    seldon,
    training_alerts,
)
from renderers.base import Manifest

ModelRenderer = Callable[[ResolvedModel], list[Manifest]]
EnvironmentRenderer = Callable[[ResolvedEnvironment], list[Manifest]]

MODEL_RENDERERS: dict[str, ModelRenderer] = {
    "resolved-spec": resolved_spec.render,
    "argo": argo.render,
    "seldon": seldon.render,
    "monitoring": monitoring.render,
    "training-alerts": training_alerts.render,
    "drift": drift.render,
    "quality": quality.render,
    "canary": canary.render,
    "scoring": scoring.render,
    "sbom": sbom.render,
}
ENVIRONMENT_RENDERERS: dict[str, EnvironmentRenderer] = {
    "argocd": argocd.render,
}
# Environment renderers whose every object belongs to one team and depends on that team's models only:
# given an environment holding one team's models, each renders exactly that team's objects. The plan
# renders them team by team, so that a change to one model renders its team's objects again, not all.
TEAM_RENDERERS: dict[str, EnvironmentRenderer] = {
    "dashboards": dashboards.render,
    "scraping": scraping.render,
    "prediction-log": prediction_log.render,
}
