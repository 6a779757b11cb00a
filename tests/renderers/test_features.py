"""Each environment's Feast files: golden output, Feast's own RepoConfig accepting feature_store.yaml,
the definitions of every team in one document, and nothing for a platform without features."""

from __future__ import annotations

import json

import pytest
import yaml

from compiler.spec.emit import to_json, to_yaml
from renderers import features
from tests.conftest import REPO, check_golden

GOLDEN = REPO / "tests" / "golden" / "features"


def rendered(checked, env: str) -> dict[str, features.Manifest]:
    environment = next(e for e in checked.environments if e.env.name == env)
    loaded = [(f.doc.file, f.features) for f in checked.project.features]
    return {m.path: m for m in features.render(environment, loaded)}


@pytest.mark.parametrize("env", ["dev", "staging", "prod"])
def test_golden(checked, env: str) -> None:
    files = rendered(checked, env)
    assert sorted(files) == ["apps/payments/features/cronworkflow-customer-transactions-materialize.yaml",
                            "features/definitions.json", "features/feature_store.yaml"]
    store = files["features/feature_store.yaml"]
    check_golden(GOLDEN / f"{env}-feature_store.yaml", to_yaml(store.body, store.source))
    check_golden(GOLDEN / f"{env}-definitions.json", to_json(files["features/definitions.json"].body))


@pytest.mark.parametrize("env", ["dev", "staging", "prod"])
def test_feast_accepts_the_feature_store_yaml(checked, env: str, tmp_path) -> None:
    repo_config = pytest.importorskip("feast.repo_config")
    text = to_yaml(rendered(checked, env)["features/feature_store.yaml"].body, "platform/platform.yaml").decode()
    config = repo_config.RepoConfig(**yaml.safe_load(text), repo_path=str(tmp_path))
    assert config.project == f"acme_ml_{env}"
    assert config.online_store.type == ("redis" if env == "prod" else "sqlite")


def test_every_team_s_definitions_in_one_document(checked) -> None:
    body = rendered(checked, "dev")["features/definitions.json"].body
    assert {kind: [(item["team"], item["name"]) for item in items] for kind, items in body.items()} == {
        "entities": [("payments", "customer")],
        "sources": [("payments", "transactions")],
        "featureViews": [("payments", "customer_transactions")],
        "featureServices": [("payments", "chargeback_features"), ("growth", "churn_features")],  # by name
    }
    assert json.loads(to_json(body)) == body


def test_a_source_reads_its_environments_own_location(checked) -> None:
    uris = {env: rendered(checked, env)["features/definitions.json"].body["sources"][0]["uri"]
            for env in ("dev", "staging", "prod")}
    assert uris == {"dev": "example://customer-transactions", "staging": "example://customer-transactions",
                    "prod": "s3://lake/payments/customer_transactions/"}


def test_nothing_without_features(checked) -> None:
    environment = checked.environments[0]
    assert features.render(environment, []) == []
