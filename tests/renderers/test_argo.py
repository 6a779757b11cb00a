"""Golden Argo output (Hera) for a GPU model, a CPU model and a scheduled one, plus the wiring."""

from __future__ import annotations

import pytest

from compiler.spec.emit import to_yaml
from renderers import argo
from tests.conftest import REPO, check_golden

GOLDEN = REPO / "tests" / "golden" / "argo"


@pytest.mark.parametrize("name,env,kinds", [
    ("fraud-detector", "prod", ["WorkflowTemplate", "CronWorkflow"]),    # GPU (h100), scheduled
    ("chargeback-risk", "prod", ["WorkflowTemplate"]),                   # CPU only, on demand
    ("churn-predictor", "prod", ["WorkflowTemplate", "CronWorkflow"]),   # CPU, weekly schedule
    ("fraud-detector", "dev", ["WorkflowTemplate"]),                     # overlay: no GPU, no schedule
])
def test_golden(models, name: str, env: str, kinds: list[str]) -> None:
    manifests = argo.render(models[(name, env)])
    assert [m.kind for m in manifests] == kinds
    for manifest in manifests:
        check_golden(GOLDEN / f"{name}-{env}-{manifest.kind.lower()}.yaml", to_yaml(manifest.body, manifest.source))


def templates(body: dict) -> dict[str, dict]:
    return {t["name"]: t for t in body["spec"]["templates"]}


def test_dag_order_and_run_id_flow(models) -> None:
    [template] = argo.render(models[("chargeback-risk", "prod")])
    tasks = {t["name"]: t for t in templates(template.body)["pipeline"]["dag"]["tasks"]}
    assert tasks["train"].get("depends") is None
    assert tasks["evaluate"]["depends"] == "train"
    assert tasks["gate"]["depends"] == "evaluate"
    assert tasks["register"]["depends"] == "gate.Succeeded || gate.Failed"
    run_id = {"name": "run-id", "value": "{{tasks.train.outputs.parameters.run-id}}"}
    for step in ("gate", "register"):
        assert tasks[step]["arguments"]["parameters"] == [run_id]
    assert tasks["evaluate"]["arguments"]["parameters"] == [
        run_id, {"name": "git-commit", "value": "{{tasks.train.outputs.parameters.git-commit}}"}]
    train = templates(template.body)["train"]
    assert [(p["name"], p["valueFrom"]["path"]) for p in train["outputs"]["parameters"]] == [
        ("run-id", "/tmp/outputs/run-id"), ("git-commit", "/tmp/outputs/git-commit")]


def test_train_and_evaluate_get_the_code_at_one_commit(models) -> None:
    """Train clones the repository at the workflow's git-commit (a branch on a schedule); evaluate clones
    the commit train recorded, so both run the same code even if the branch moves meanwhile."""
    [template] = argo.render(models[("chargeback-risk", "prod")])
    steps = templates(template.body)
    assert template.body["spec"]["arguments"]["parameters"][0] | {"description": ""} == {
        "name": "git-commit", "value": "main", "description": ""}
    revisions = {}
    for name in ("train", "evaluate"):
        [code] = steps[name]["inputs"]["artifacts"]
        assert code["path"] == "/src" and code["git"]["repo"] == "https://github.com/acme/mlplat.git"
        assert code["git"]["usernameSecret"] == {"name": "mlplat-git", "key": "username"}
        assert code["git"]["passwordSecret"] == {"name": "mlplat-git", "key": "password"}
        assert "depth" not in code["git"]  # any commit must be reachable
        env = {e["name"]: e["value"] for e in steps[name]["container"]["env"]}
        assert env["MLPLAT_CODE_DIR"] == "/src/specs/payments/chargeback-risk"
        revisions[name] = code["git"]["revision"]
    assert revisions == {"train": "{{workflow.parameters.git-commit}}", "evaluate": "{{inputs.parameters.git-commit}}"}
    for name in ("gate", "register"):
        assert "artifacts" not in steps[name].get("inputs", {})


def test_gpu_step_gets_the_pool_and_the_gpu_resource(models) -> None:
    [template, _] = argo.render(models[("fraud-detector", "prod")])
    train = templates(template.body)["train"]
    assert train["container"]["resources"]["limits"]["nvidia.com/gpu"] == "2"
    assert train["nodeSelector"] == {"node.kubernetes.io/instance-type": "p5.48xlarge", "acme.io/gpu": "h100"}
    assert [t["key"] for t in train["tolerations"]] == ["nvidia.com/gpu", "acme.io/dedicated"]
    assert train["activeDeadlineSeconds"] == 4 * 3600
    assert train["retryStrategy"]["limit"] == "2"
    for step in ("evaluate", "gate", "register"):
        assert "nvidia.com/gpu" not in templates(template.body)[step]["container"]["resources"]["limits"]
        assert "nodeSelector" not in templates(template.body)[step]


def test_cpu_model_requests_no_gpu(models) -> None:
    [template] = argo.render(models[("fraud-detector", "dev")])
    train = templates(template.body)["train"]
    assert train["container"]["resources"]["limits"] == {"cpu": "4", "memory": "16Gi"}
    assert "nodeSelector" not in train and "tolerations" not in train


def test_pods_run_as_non_root_with_the_spec_mounted(models) -> None:
    [template] = argo.render(models[("chargeback-risk", "staging")])
    spec = template.body["spec"]
    assert spec["securityContext"]["runAsNonRoot"] is True
    assert spec["serviceAccountName"] == "mlplat-runner"
    assert spec["volumes"][0] == {"configMap": {"name": "chargeback-risk-spec"}, "name": "spec"}
    env = {e["name"]: e["value"] for e in templates(template.body)["gate"]["container"]["env"]}
    assert env["MLFLOW_TRACKING_URI"] == "https://mlflow-staging.acme.internal"
    assert env["MLPLAT_SPEC"] == "/etc/mlplat/model.json"


def test_cron_workflow_uses_v4_schedules(models) -> None:
    [_, cron] = argo.render(models[("churn-predictor", "prod")])
    assert cron.body["spec"]["schedules"] == ["30 2 * * MON"]
    assert "schedule" not in cron.body["spec"]
    assert cron.body["spec"]["workflowSpec"] == {"workflowTemplateRef": {"name": "churn-predictor-train"}}
    assert cron.body["spec"]["concurrencyPolicy"] == "Forbid"
