"""Golden output of the Argo CD and resolved-spec renderers, from the example specs."""

from __future__ import annotations

import dataclasses

import pytest

from compiler.spec.emit import to_yaml
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
from renderers.registry import ENVIRONMENT_RENDERERS, FEATURE_RENDERERS, MODEL_RENDERERS, TEAM_RENDERERS
from tests.conftest import REPO, check_golden

GOLDEN = REPO / "tests" / "golden"


def test_registry_lists_each_renderer_once() -> None:
    assert MODEL_RENDERERS == {"resolved-spec": resolved_spec.render, "argo": argo.render,
                               "seldon": seldon.render, "monitoring": monitoring.render, "drift": drift.render,
                               "quality": quality.render, "canary": canary.render, "scoring": scoring.render,
                               "sbom": sbom.render, "training-alerts": training_alerts.render}
    assert ENVIRONMENT_RENDERERS == {"argocd": argocd.render}
    assert TEAM_RENDERERS == {"dashboards": dashboards.render, "scraping": scraping.render,
                              "prediction-log": prediction_log.render}


@pytest.mark.parametrize("env", ["dev", "staging", "prod"])
def test_team_renderers_render_a_team_from_its_models_alone(checked, env: str) -> None:
    """What the plan relies on to render them team by team (one team's change renders that team's objects)."""
    environment = next(e for e in checked.environments if e.env.name == env)
    teams = sorted({m.team for m in environment.models})
    assert len(teams) > 1
    for render in TEAM_RENDERERS.values():
        whole = sorted((m.path, m.body) for m in render(environment))
        by_team = sorted((m.path, m.body) for team in teams for m in render(dataclasses.replace(
            environment, models=tuple(m for m in environment.models if m.team == team))))
        assert by_team == whole


@pytest.mark.parametrize("env", ["dev", "staging", "prod"])
def test_shared_renderers_see_which_teams_have_models_and_nothing_more(checked, env: str) -> None:
    """What a plan of some teams alone relies on (compiler/pipeline/incremental/project_plan.py): an
    environment's own objects and its Feast files are the same for any models of the same teams, so a
    change inside a team's models leaves them as they were."""
    environment = next(e for e in checked.environments if e.env.name == env)
    first_of_each = tuple({m.team: m for m in reversed(environment.models)}.values())
    features = [(f.doc.file, f.features) for f in checked.project.features]
    assert len(first_of_each) > 1 and len(first_of_each) < len(environment.models)
    for render in ENVIRONMENT_RENDERERS.values():
        assert render(dataclasses.replace(environment, models=first_of_each)) == render(environment)
    for render_features in FEATURE_RENDERERS.values():
        assert render_features(dataclasses.replace(environment, models=()), features) \
            == render_features(environment, features)


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_argocd_applications_golden(checked, env: str) -> None:
    environment = next(e for e in checked.environments if e.env.name == env)
    manifests = argocd.render(environment)
    assert [m.path for m in manifests] == [f"argocd/applications/appproject-mlplat-{env}.yaml",
                                           "argocd/applications/growth.yaml", "argocd/applications/payments.yaml",
                                           "argocd/applications/platform.yaml", "argocd/applications/search.yaml",
                                           "argocd/root.yaml"]
    for manifest in manifests:
        check_golden(GOLDEN / "argocd" / env / manifest.path.replace("argocd/", ""),
                     to_yaml(manifest.body, manifest.source))


def test_team_application_syncs_only_its_folder(checked) -> None:
    prod = next(e for e in checked.environments if e.env.name == "prod")
    app = next(m for m in argocd.render(prod) if m.path == "argocd/applications/search.yaml").body
    assert app["spec"]["source"]["path"] == "environments/prod/apps/search"
    assert app["spec"]["destination"] == {"server": "https://gpu-prod-eu.k8s.acme.internal",
                                          "namespace": "ml-search-prod"}
    assert app["spec"]["syncPolicy"]["automated"] == {"prune": True, "selfHeal": True, "allowEmpty": False}
    assert app["spec"]["source"]["directory"]["exclude"] == "{*.cdx.json,**/*.cdx.json}"


def test_environment_without_models_renders_no_applications(checked) -> None:
    from dataclasses import replace

    empty = replace(checked.environments[0], models=())
    assert argocd.render(empty) == []


def test_resolved_spec_configmap_golden(checked) -> None:
    model = next(m for m in checked.models if (m.name, m.environment) == ("fraud-detector", "staging"))
    [manifest] = resolved_spec.render(model)
    assert manifest.path == "apps/payments/fraud-detector/configmap-fraud-detector-spec.yaml"
    check_golden(GOLDEN / "resolved-spec" / "fraud-detector-staging.yaml", to_yaml(manifest.body, manifest.source))


def test_each_environment_has_a_project_that_reaches_only_its_cluster(checked) -> None:
    for environment in checked.environments:
        [project] = [m.body for m in argocd.render(environment) if m.kind == "AppProject"]
        servers = {d["server"] for d in project["spec"]["destinations"]}
        assert servers == {environment.cluster.server}
        assert {d["namespace"] for d in project["spec"]["destinations"]} == {
            f"ml-{team}-{environment.env.name}" for team in environment.teams}
        apps = [m.body for m in argocd.render(environment) if m.kind == "Application" and m.path != "argocd/root.yaml"]
        assert {app["spec"]["project"] for app in apps} == {f"mlplat-{environment.env.name}"}
