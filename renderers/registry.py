"""The one place that lists the renderers; the compiler renders each in this order.

Each table holds the renderers of one scope, by what they take:
- a model in one environment (MODEL_RENDERERS);
- an environment (ENVIRONMENT_RENDERERS), one team's objects in it (TEAM_RENDERERS), and the Feast files
  of every team's feature definitions in it (FEATURE_RENDERERS);
- a model in all its environments, in promotion order (ACROSS_ENVIRONMENTS_RENDERERS: the model card,
  its path relative to environments/);
- the whole repository (REPOSITORY_RENDERERS: CODEOWNERS, its path relative to the repository's root).
"""

from __future__ import annotations

from collections.abc import Callable

from compiler.spec.features import Features
from compiler.spec.platform import Platform
from compiler.spec.resolved import ResolvedEnvironment, ResolvedModel
from renderers import (
    argo,
    argocd,
    canary,
    codeowners,
    dashboards,
    drift,
    features,
    model_card,
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
FeatureRenderer = Callable[[ResolvedEnvironment, list[tuple[str, Features]]], list[Manifest]]
AcrossEnvironmentsRenderer = Callable[[list[ResolvedModel]], list[Manifest]]
RepositoryRenderer = Callable[[Platform], list[Manifest]]

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
# `features` holds each team's definitions with the file they came from.
FEATURE_RENDERERS: dict[str, FeatureRenderer] = {
    "features": features.render,
}
ACROSS_ENVIRONMENTS_RENDERERS: dict[str, AcrossEnvironmentsRenderer] = {
    "model-card": model_card.render,
}
REPOSITORY_RENDERERS: dict[str, RepositoryRenderer] = {
    "codeowners": codeowners.render,
}
