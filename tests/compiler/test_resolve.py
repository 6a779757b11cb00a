from __future__ import annotations

from pathlib import Path

from compiler.pipeline.check import check_project
from compiler.pipeline.resolve import merge
from tests.conftest import REPO


def test_merge_mappings_by_key_and_replaces_everything_else() -> None:
    base = {"a": {"b": 1, "c": [1, 2]}, "d": "x"}
    assert merge(base, {"a": {"c": [3]}, "d": None}) == {"a": {"b": 1, "c": [3]}, "d": None}
    assert base == {"a": {"b": 1, "c": [1, 2]}, "d": "x"}


def models_by_env(root: Path = REPO) -> dict[tuple[str, str], object]:
    checked, errors = check_project(root)
    assert errors == []
    return {(m.name, m.environment): m for m in checked.models}


def test_overlays_apply_per_environment() -> None:
    models = models_by_env()
    dev, staging, prod = (models[("fraud-detector", env)] for env in ("dev", "staging", "prod"))
    assert dev.spec.training.resources.gpus == 0
    assert dev.spec.training.resources.cpu == "4"
    assert dev.spec.training.resources.gpu_type == "h100"  # kept from the spec, unused with 0 GPUs
    assert dev.spec.training.schedule is None
    assert dev.spec.training.hyperparameters == {"lr": 0.001, "epochs": 2, "batch_size": 512, "hidden_units": 256}
    assert dev.spec.serving.rollout.strategy == "direct"
    assert staging.spec.training.resources.gpus == 1
    assert staging.spec.training.resources.memory == "128Gi"
    assert prod.spec.training.resources.gpus == 2
    assert prod.spec.training.schedule == "0 3 * * *"
    assert [s.traffic for s in prod.spec.serving.rollout.canary_steps()] == [5, 25, 50, 100]
    assert dev.spec.serving.rollout.steps is None  # the overlay's null removes the spec's steps


def test_resolution_applies_platform_defaults_and_names() -> None:
    model = models_by_env()[("chargeback-risk", "prod")]
    assert model.training_image.startswith("ghcr.io/acme/mlplat-runtime:0.1.0@sha256:")
    assert model.serving_image.startswith("ghcr.io/acme/mlplat-serving:0.1.0@sha256:")
    assert model.namespace == "ml-payments-prod"
    assert model.cluster.name == "gpu-prod-eu"
    assert model.names.training_schedule == "chargeback-risk-train"
    assert model.labels["mlplat.io/environment"] == "prod"


def test_spec_hash_ignores_formatting_but_not_content(repo_copy: Path) -> None:
    before = models_by_env(repo_copy)[("ltv-forecaster", "dev")].spec_hash
    spec = repo_copy / "specs/growth/ltv-forecaster/model.yaml"
    spec.write_text("# a new comment\n" + spec.read_text())
    assert models_by_env(repo_copy)[("ltv-forecaster", "dev")].spec_hash == before
    spec.write_text(spec.read_text().replace("max_leaf_nodes: 63", "max_leaf_nodes: 31"))
    assert models_by_env(repo_copy)[("ltv-forecaster", "dev")].spec_hash != before
