"""The drift CronWorkflow (Hera) and its retrain RBAC: golden output, wiring, least privilege."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from compiler.spec.emit import to_yaml
from renderers import argo, drift
from tests.conftest import REPO, SHARED_SCHEMAS, check_golden

GOLDEN = REPO / "tests" / "golden" / "drift"


@pytest.mark.parametrize("name,kinds", [
    ("fraud-detector", ["ServiceAccount", "Role", "RoleBinding", "CronWorkflow"]),  # onDrift: retrain
    ("churn-predictor", ["CronWorkflow"]),                                          # onDrift: alert
])
def test_golden(models, name: str, kinds: list[str]) -> None:
    manifests = drift.render(models[(name, "prod")])
    assert [m.kind for m in manifests] == kinds
    for manifest in manifests:
        check_golden(GOLDEN / f"{name}-prod-{manifest.kind.lower()}.yaml", to_yaml(manifest.body, manifest.source))


@pytest.mark.parametrize("name,env", [("fraud-detector", "dev"),       # not deployed there
                                      ("chargeback-risk", "prod"),     # no drift settings
                                      ("ltv-forecaster", "prod")])     # not served
def test_nothing_without_a_deployed_model_and_drift_settings(models, name: str, env: str) -> None:
    assert drift.render(models[(name, env)]) == []


def templates(body: dict) -> dict[str, dict]:
    return {t["name"]: t for t in body["spec"]["workflowSpec"]["templates"]}


def test_detect_step_reads_the_window_and_pushes(models) -> None:
    *_, cron = drift.render(models[("fraud-detector", "prod")])
    spec = cron.body["spec"]
    assert spec["schedules"] == ["0 * * * *"] and spec["concurrencyPolicy"] == "Forbid"
    detect = templates(cron.body)["detect"]
    assert detect["container"]["args"] == ["-m", "runtime", "drift", "--window-seconds", "21600",
                                           "--exit-zero-on-drift"]
    env = {e["name"]: e["value"] for e in detect["container"]["env"]}
    assert env["MLPLAT_PREDICTION_LOG"] == "s3://acme-mlplat-artifacts-prod/prediction-logs/payments/fraud-detector"
    assert env["MLPLAT_PUSHGATEWAY"] == "http://prometheus-pushgateway.monitoring.svc.cluster.local:9091"
    assert detect["outputs"]["parameters"] == [
        {"name": "drifted", "valueFrom": {"default": "false", "path": "/tmp/outputs/drifted"}}]
    assert detect["outputs"]["artifacts"][0]["path"] == "/tmp/outputs/drift-report.html"
    assert spec["workflowSpec"]["serviceAccountName"] == "mlplat-runner"


def test_retrain_submits_the_training_template_only_on_drift(models) -> None:
    model = models[("fraud-detector", "prod")]
    *_, cron = drift.render(model)
    tasks = {t["name"]: t for t in templates(cron.body)["drift"]["dag"]["tasks"]}
    assert tasks["retrain"]["depends"] == "detect"
    assert tasks["retrain"]["when"] == "{{tasks.detect.outputs.parameters.drifted}} == true"
    retrain = templates(cron.body)["retrain"]
    assert retrain["serviceAccountName"] == "fraud-detector-drift" and retrain["resource"]["action"] == "create"
    workflow = yaml.safe_load(retrain["resource"]["manifest"])
    [template] = [m for m in argo.render(model) if m.kind == "WorkflowTemplate"]
    assert workflow["spec"]["workflowTemplateRef"]["name"] == template.name == "fraud-detector-train"
    assert workflow["metadata"]["namespace"] == template.namespace
    assert workflow["metadata"]["labels"]["mlplat.io/trigger"] == "drift"


def test_alert_only_models_get_no_retrain_step(models) -> None:
    [cron] = drift.render(models[("churn-predictor", "prod")])
    assert sorted(templates(cron.body)) == ["detect", "drift"]


def test_retrain_role_may_create_workflows_and_nothing_more(models) -> None:
    account, role, binding, _ = (m.body for m in drift.render(models[("fraud-detector", "prod")]))
    assert role["rules"] == [
        {"apiGroups": ["argoproj.io"], "resources": ["workflows"], "verbs": ["create"]},
        {"apiGroups": ["argoproj.io"], "resources": ["workflowtaskresults"], "verbs": ["create", "patch"]},
    ]
    assert binding["roleRef"]["name"] == role["metadata"]["name"]
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": account["metadata"]["name"],
                                    "namespace": "ml-payments-prod"}]


@pytest.mark.skipif(not (SHARED_SCHEMAS / "validate.py").is_file(),
                    reason="../shared/schemas is absent: upstream schemas live beside the repository")
def test_the_workflow_retrain_creates_validates(models, tmp_path: Path) -> None:
    *_, cron = drift.render(models[("fraud-detector", "prod")])
    workflow = yaml.safe_load(templates(cron.body)["retrain"]["resource"]["manifest"])
    workflow["metadata"]["name"] = workflow["metadata"].pop("generateName") + "x1"  # as the API server names it
    path = tmp_path / "workflow.yaml"
    path.write_text(yaml.safe_dump(workflow))
    result = subprocess.run([sys.executable, str(SHARED_SCHEMAS / "validate.py"), str(path)], capture_output=True,
                            text=True)
    assert result.returncode == 0 and result.stdout.startswith("OK "), result.stdout
