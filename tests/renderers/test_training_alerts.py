"""MlplatTrainingFailed: rendered for every model that trains (deployed or not), and `promtool test rules`
showing it fire after a failed run's push, route to the team, and clear after a successful one."""

from __future__ import annotations

from compiler.spec.emit import to_yaml
from renderers import training_alerts
from tests.conftest import REPO, check_golden
from tests.renderers.test_monitoring import needs_promtool, promtool_test

GOLDEN = REPO / "tests" / "golden" / "monitoring"


def test_golden_and_rendered_for_undeployed_models_too(models) -> None:
    [manifest] = training_alerts.render(models[("fraud-detector", "prod")])
    check_golden(GOLDEN / "fraud-detector-prod-training.yaml", to_yaml(manifest.body, manifest.source))
    assert manifest.path.endswith("prometheusrule-fraud-detector-training-rules.yaml")
    assert training_alerts.render(models[("fraud-detector", "dev")])  # dev serves nothing, but it trains


@needs_promtool
def test_a_failed_run_alerts_the_team_until_one_succeeds(models, tmp_path) -> None:
    [manifest] = training_alerts.render(models[("fraud-detector", "prod")])
    [rule] = manifest.body["spec"]["groups"][0]["rules"]
    series = 'mlplat_training_failed{model="fraud-detector", environment="prod", job="mlplat-training"}'
    firing = [{"exp_labels": rule["labels"], "exp_annotations": rule["annotations"]}]
    # minutes 0-9: the last run succeeded; 10-29: a run failed (pushed 1); 30-: the next run succeeded
    tests = [{"interval": "1m", "input_series": [{"series": series, "values": "0x9 1x19 0x20"}],
              "alert_rule_test": [{"eval_time": "5m", "alertname": "MlplatTrainingFailed", "exp_alerts": []},
                                  {"eval_time": "15m", "alertname": "MlplatTrainingFailed", "exp_alerts": firing},
                                  {"eval_time": "35m", "alertname": "MlplatTrainingFailed", "exp_alerts": []}]}]
    promtool_test(tmp_path, manifest.body["spec"], tests)
    assert rule["labels"] == {"severity": "ticket", "team": "payments", "receiver": "payments-oncall",
                              "model": "fraud-detector", "environment": "prod"}
