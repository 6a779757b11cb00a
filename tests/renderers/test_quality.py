"""The quality CronWorkflow (Hera): golden output and wiring."""

from __future__ import annotations

import pytest
import yaml

from compiler.spec.emit import to_yaml
from renderers import quality
from tests.conftest import REPO, check_golden

GOLDEN = REPO / "tests" / "golden" / "quality"


def test_golden(models) -> None:
    [manifest] = quality.render(models[("fraud-detector", "prod")])  # onDegradation: alert, no RBAC
    check_golden(GOLDEN / "fraud-detector-prod-cronworkflow.yaml", to_yaml(manifest.body, manifest.source))


@pytest.mark.parametrize("name,env", [("fraud-detector", "dev"), ("chargeback-risk", "prod")])
def test_nothing_without_a_deployed_model_and_quality_settings(models, name: str, env: str) -> None:
    assert quality.render(models[(name, env)]) == []


def test_the_step_judges_the_window_whose_labels_are_due(models) -> None:
    [manifest] = quality.render(models[("fraud-detector", "prod")])
    spec = manifest.body["spec"]
    assert spec["schedules"] == ["0 6 * * *"]
    assert manifest.body["metadata"]["labels"]["mlplat.io/pipeline"] == "quality"
    templates = {t["name"]: t for t in spec["workflowSpec"]["templates"]}
    judge = templates["judge"]["container"]
    assert judge["args"] == ["-m", "runtime", "quality", "--window-seconds", "86400", "--delay-seconds", "259200",
                             "--exit-zero-on-degradation"]
    env = {e["name"]: e["value"] for e in judge["env"]}
    assert env["MLPLAT_PREDICTION_LOG"].endswith("/prediction-logs/payments/fraud-detector")


def test_retrain_on_degradation_submits_training(models) -> None:
    import dataclasses

    model = models[("fraud-detector", "prod")]
    settings = model.spec.monitoring.quality.model_copy(update={"on_degradation": "retrain"})
    spec = model.spec.model_copy(update={"monitoring": model.spec.monitoring.model_copy(update={"quality": settings})})
    account, role, binding, cron = (m.body for m in quality.render(dataclasses.replace(model, spec=spec)))
    assert account["metadata"]["name"] == "fraud-detector-quality"
    tasks = {t["name"]: t for t in next(t for t in cron["spec"]["workflowSpec"]["templates"]
                                        if t["name"] == "quality")["dag"]["tasks"]}
    assert tasks["retrain"]["when"] == "{{tasks.judge.outputs.parameters.degraded}} == true"
    retrain = next(t for t in cron["spec"]["workflowSpec"]["templates"] if t["name"] == "retrain")
    assert yaml.safe_load(retrain["resource"]["manifest"])["metadata"]["labels"]["mlplat.io/trigger"] == "quality"
