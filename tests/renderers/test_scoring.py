"""The batch scoring CronWorkflow: golden output and schema validation for ltv-forecaster (scored in batch
for finance) with a version pinned in prod, and nothing without a pin or without a scoring section."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from pathlib import Path

import pytest

from compiler.spec.emit import to_yaml
from compiler.spec.releases import Release
from renderers import scoring
from tests.conftest import REPO, SHARED_SCHEMAS, check_golden

GOLDEN = REPO / "tests" / "golden" / "scoring"
PIN = Release(version=7, runId="0123456789abcdef0123456789abcdef",
              modelUri="gs://acme-mlplat-artifacts-prod/growth/ltv-forecaster/7/artifacts/model",
              artifactSha256="ab" * 32, specHash="cd" * 32, gate="passed")


def pinned(model):
    return dataclasses.replace(model, release=PIN)


def test_golden_and_schema(models, tmp_path: Path) -> None:
    [manifest] = scoring.render(pinned(models[("ltv-forecaster", "prod")]))
    assert manifest.path == "apps/growth/ltv-forecaster/cronworkflow-ltv-forecaster-score.yaml"
    text = to_yaml(manifest.body, manifest.source)
    check_golden(GOLDEN / "ltv-forecaster-prod.yaml", text)
    validator = SHARED_SCHEMAS / "validate.py"
    if not validator.is_file():
        pytest.skip(f"{validator} is absent")
    (tmp_path / "cron.yaml").write_bytes(text)
    result = subprocess.run([sys.executable, str(validator), str(tmp_path / "cron.yaml")], capture_output=True,
                            text=True)
    assert result.returncode == 0 and result.stdout.startswith("OK "), result.stdout


def test_the_step_scores_with_the_pin_and_logs_where_the_monitoring_jobs_read(models) -> None:
    model = models[("ltv-forecaster", "prod")]
    [manifest] = scoring.render(pinned(model))
    spec = manifest.body["spec"]
    assert spec["schedules"] == ["0 6 2 * *"]
    container = spec["workflowSpec"]["templates"][0]["container"]
    args = container["args"]
    flag = {name: args[args.index(name) + 1] for name in ("--model-uri", "--sha256", "--version", "--input",
                                                          "--output", "--prediction-log")}
    assert flag == {"--model-uri": PIN.model_uri, "--sha256": PIN.artifact_sha256, "--version": "7",
                    "--input": "gs://acme-growth/ltv/customers.parquet", "--output": "gs://acme-growth/ltv/scores",
                    "--prediction-log": model.prediction_log}
    assert "--partition-by-date" in args
    assert container["envFrom"] == [{"secretRef": {"name": model.artifact_secret}}]
    amounts = {"cpu": "2", "memory": "8Gi"}
    assert container["resources"] == {"limits": amounts, "requests": amounts}


def test_nothing_without_a_pin_or_a_scoring_section(models) -> None:
    assert scoring.render(models[("ltv-forecaster", "prod")]) == []  # no version pinned
    assert scoring.render(pinned(models[("fraud-detector", "prod")])) == []  # served, not scored
