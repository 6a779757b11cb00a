"""The training workflow's exit handler (runtime/training_report.py): the Workflow's phase, pushed."""

from __future__ import annotations

import json

import pytest

from runtime import training_report
from tests.runtime.conftest import Gateway
from tests.runtime.test_drift_step import metric_lines


@pytest.mark.parametrize("status,failed", [("Succeeded", 0), ("Failed", 1), ("Error", 1)])
def test_the_exit_handler_pushes_the_workflows_phase(tmp_path, gateway, status: str, failed: int) -> None:
    spec = tmp_path / "model.json"
    spec.write_text(json.dumps({"name": "fraud-detector", "environment": "prod"}))
    assert training_report.main(["--status", status, "--spec", str(spec), "--pushgateway", gateway], now=1e9) == 0
    [(method, path, body)] = Gateway.received
    assert (method, path) == ("PUT", "/metrics/job/mlplat-training/environment/prod/model/fraud-detector")
    assert metric_lines(body) == {"mlplat_training_failed": failed, "mlplat_training_last_run_timestamp_seconds": 1e9}


def test_a_pushgateway_that_cannot_be_reached_changes_no_phase(tmp_path, capsys) -> None:
    spec = tmp_path / "model.json"
    spec.write_text(json.dumps({"name": "fraud-detector", "environment": "prod"}))
    from compiler.local.serve import free_port

    nobody = f"http://127.0.0.1:{free_port()}"
    assert training_report.main(["--status", "Failed", "--spec", str(spec), "--pushgateway", nobody]) == 0
    assert f"could not push to {nobody}" in capsys.readouterr().err
