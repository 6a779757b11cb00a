"""`mlplat list` and `mlplat describe` from the repository: what each environment serves, the spec in brief,
and a registry that is not there yet (described as such, and not created)."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import REPO, check_golden, copy_repo
from tests.runtime.conftest import mlplat


def test_list_shows_what_each_environment_serves() -> None:
    listed = mlplat(REPO, "list", "--format", "json")
    assert listed.returncode == 0, listed.stderr
    found = {row["model"]: row for row in json.loads(listed.stdout)["models"]}
    assert found["fraud-detector"]["serves"] == {
        "dev": None, "staging": {"version": 13, "candidate": None, "rollout": "canary"},
        "prod": {"version": 12, "candidate": {"version": 13, "traffic": 5}, "rollout": "canary"}}
    assert found["chargeback-risk"]["serves"]["prod"]["candidate"] == {"version": 5, "traffic": None}  # shadow
    assert set(found["ltv-forecaster"]["serves"].values()) == {None}  # scored in batch, never served
    assert (found["query-ranker"]["team"], found["query-ranker"]["task"]) == ("search", "ranking")
    text = mlplat(REPO, "list")
    check_golden(REPO / "tests/golden/cli/list.txt", text.stdout)


def test_describe_without_a_registry_says_so_and_creates_none(tmp_path: Path) -> None:
    root = copy_repo(tmp_path)
    described = mlplat(root, "describe", "fraud-detector", "--format", "json")
    assert described.returncode == 0, described.stderr
    summary = json.loads(described.stdout)
    assert summary["owners"] == ["@maria-lopez", "@dev-patel"] and summary["riskTier"] == "high"
    prod = summary["environments"]["prod"]
    assert prod["pinned"]["version"] == 12 and prod["pinned"]["candidate"] == {"version": 13, "traffic": 5}
    assert prod["pinned"]["approvedBy"] == ["@maria-lopez"]
    assert {"metric": "roc_auc", "maxRegressionVsChampion": 0.005} in prod["gates"]
    assert summary["registry"]["versions"] == [] and "no registry yet" in summary["registry"]["error"]
    assert not (root / ".mlplat" / "mlflow.db").exists()
    text = mlplat(root, "describe", "fraud-detector").stdout
    assert "    prod     serves 12 (canary 13 at 5%), approved by @maria-lopez\n" in text
    assert "roc_auc at most 0.005 worse than the champion" in text


def test_describe_an_unknown_model_names_the_known_ones() -> None:
    described = mlplat(REPO, "describe", "fraud-detektor")
    assert described.returncode == 2
    assert "no model 'fraud-detektor' (models: churn-predictor, ltv-forecaster, chargeback-risk" in described.stderr


def test_a_model_scored_in_batch_says_what_it_scores() -> None:
    import dataclasses

    from compiler.cli.inventory import _describe_text
    from compiler.pipeline.check import check_project
    from compiler.reports import inventory
    from compiler.spec.releases import Release

    checked, errors = check_project(REPO, remember=False)
    assert errors == []
    pin = Release(version=7, runId="0" * 32, modelUri="gs://a/model", artifactSha256="ab" * 32, specHash="cd" * 32,
                  gate="passed")
    environments = tuple(dataclasses.replace(env, models=tuple(
        dataclasses.replace(m, release=pin) if (m.name, m.environment) == ("ltv-forecaster", "prod") else m
        for m in env.models)) for env in checked.environments)
    pinned = dataclasses.replace(checked, environments=environments)
    [row] = [r for r in inventory.model_rows(pinned) if r["model"] == "ltv-forecaster"]
    assert row["serves"]["prod"] == {"version": 7, "candidate": None, "rollout": "batch"}
    summary = {**inventory.model_summary(pinned, "ltv-forecaster"), "registry": {"uri": "x", "versions": []}}
    assert "    prod     version 7 scores gs://acme-growth/ltv/customers.parquet in batch (0 6 2 * *)\n" in (
        _describe_text(summary))
