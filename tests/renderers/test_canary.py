"""The canary analysis CronWorkflow and its RBAC (renderers/canary.py), and the training workflow's
propose step (renderers/argo.py): golden output and wiring."""

from __future__ import annotations

import dataclasses

import pytest

from compiler.spec.emit import to_yaml
from renderers import argo, canary
from tests.conftest import REPO, check_golden

GOLDEN = REPO / "tests" / "golden" / "canary"


def test_golden(models) -> None:
    manifests = canary.render(models[("fraud-detector", "prod")])
    assert [m.body["kind"] for m in manifests] == ["ServiceAccount", "Role", "RoleBinding", "CronWorkflow"]
    for manifest in manifests:
        check_golden(GOLDEN / f"fraud-detector-prod-{manifest.body['kind'].lower()}.yaml",
                     to_yaml(manifest.body, manifest.source))


@pytest.mark.parametrize("name,env", [("fraud-detector", "staging"), ("fraud-detector", "dev"),
                                      ("chargeback-risk", "prod"), ("churn-predictor", "prod")])
def test_only_a_pinned_canary_candidate_is_analysed(models, name: str, env: str) -> None:
    # staging: canary, no candidate; dev: direct; chargeback-risk: a shadow candidate; churn: no candidate
    assert canary.render(models[(name, env)]) == []


def test_the_pod_judges_every_minute_and_may_only_report_itself(models) -> None:
    service_account, role, binding, cron = (m.body for m in canary.render(models[("fraud-detector", "prod")]))
    assert cron["metadata"]["labels"]["mlplat.io/pipeline"] == "canary"
    assert cron["spec"]["schedules"] == ["* * * * *"] and cron["spec"]["concurrencyPolicy"] == "Forbid"
    [analyse] = [t for t in cron["spec"]["workflowSpec"]["templates"] if t["name"] == "analyse"]
    container = analyse["container"]
    assert container["args"] == ["-m", "runtime", "canary", "--model", "fraud-detector", "--environment", "prod",
                                 "--rounds", "1", "--every", "60", "--propose"]
    env = {e["name"]: e.get("value", e.get("valueFrom")) for e in container["env"]}
    assert env["MLPLAT_PROMETHEUS"] == "http://prometheus-operated.monitoring.svc.cluster.local:9090"
    assert env["MLPLAT_REPOSITORY"] == "https://github.com/acme/mlplat.git" and env["MLPLAT_BRANCH"] == "main"
    assert env["GIT_PASSWORD"] == {"secretKeyRef": {"name": "mlplat-git-push", "key": "password"}}
    assert cron["spec"]["workflowSpec"]["serviceAccountName"] == service_account["metadata"]["name"]
    assert role["rules"] == [{"apiGroups": ["argoproj.io"], "resources": ["workflowtaskresults"],
                              "verbs": ["create", "patch"]}]  # no Kubernetes object: its power is the git token
    assert binding["roleRef"]["name"] == role["metadata"]["name"] == "fraud-detector-canary"


@pytest.mark.parametrize("interval,expected", [("30s", ("* * * * *", 2, 30)), ("10s", ("* * * * *", 6, 10)),
                                               ("1m", ("* * * * *", 1, 60)), ("15m", ("*/15 * * * *", 1, 900)),
                                               ("1h", ("0 * * * *", 1, 3600))])
def test_intervals_under_a_minute_run_as_rounds(interval: str, expected: tuple) -> None:
    assert canary.schedule(interval) == expected


def test_without_a_push_token_the_analysis_only_reports(models) -> None:
    model = models[("fraud-detector", "prod")]
    model = dataclasses.replace(model, repository=model.repository.model_copy(update={"push_secret": None}))
    cron = canary.render(model)[-1].body
    [analyse] = [t for t in cron["spec"]["workflowSpec"]["templates"] if t["name"] == "analyse"]
    assert "--propose" not in analyse["container"]["args"]
    assert not [e for e in analyse["container"]["env"] if "valueFrom" in e]


def _tasks(template: dict) -> dict[str, dict]:
    [dag] = [t for t in template["spec"]["templates"] if "dag" in t]
    return {task["name"]: task for task in dag["dag"]["tasks"]}


def test_a_new_champion_is_proposed_where_no_approval_is_required(models) -> None:
    dev = argo.render(models[("fraud-detector", "dev")])[0].body
    propose = _tasks(dev)["propose"]
    assert propose["when"] == "{{tasks.register.outputs.parameters.alias}} == champion"
    assert propose["depends"] == "register && gate.Succeeded"  # never after a refusal (the task `refused` runs)
    [template] = [t for t in dev["spec"]["templates"] if t["name"] == "propose"]
    assert template["container"]["args"] == ["-m", "runtime", "propose", "--version", "{{inputs.parameters.version}}"]
    secrets = {e["name"]: e["valueFrom"]["secretKeyRef"]["name"] for e in template["container"]["env"]
               if "valueFrom" in e}
    assert secrets == {"GIT_USERNAME": "mlplat-git-push", "GIT_PASSWORD": "mlplat-git-push"}
    # Only the propose step holds the push token.
    others = [t for t in dev["spec"]["templates"] if "container" in t and t["name"] != "propose"]
    assert others and not [e for t in others for e in t["container"]["env"] if "valueFrom" in e]
    prod = argo.render(models[("fraud-detector", "prod")])[0].body
    assert "propose" not in _tasks(prod)  # prod requires a recorded approval, which only a person gives
