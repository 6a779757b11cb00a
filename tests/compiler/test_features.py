"""Feature definitions (specs/<team>/features.yaml): the repository's two teams, growth's service and
model using payments' view, validate cleanly and are loaded with the project; the broken cases are in
the corpus (tests/fixtures/broken/features-*)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from compiler.pipeline.project import load_project
from tests.compiler.test_broken_corpus import run_validate
from tests.conftest import REPO


def test_two_teams_sharing_a_view_validate(repo_copy: Path) -> None:
    code, out = run_validate(repo_copy)
    assert code == 0, out
    project, errors = load_project(repo_copy)
    assert errors == [] and project is not None
    by_team = {f.features.metadata.team: f.features for f in project.features}
    assert sorted(by_team) == ["growth", "payments"]
    assert by_team["growth"].spec.feature_services[0].features[0].view == "customer_transactions"
    assert "customer_transactions" not in [v.name for v in by_team["growth"].spec.feature_views]  # payments' view


def test_every_error_of_every_features_file_in_one_run(repo_copy: Path) -> None:
    payments = repo_copy / "specs/payments/features.yaml"
    payments.write_text(payments.read_text().replace("ttl: 30d", "ttl: soon").replace("dtype: int64", "dtype: long"))
    growth = repo_copy / "specs/growth/features.yaml"
    growth.write_text(growth.read_text().replace("team: growth", "team: growht"))
    code, out = run_validate(repo_copy, "--format", "json")
    assert code == 1
    found = {(e["file"], e["path"]) for e in json.loads(out)["errors"]}
    assert found == {("specs/payments/features.yaml", "spec.featureViews[0].ttl"),
                     ("specs/payments/features.yaml", "spec.featureViews[0].features[0].dtype"),
                     ("specs/payments/features.yaml", "spec.featureViews[0].features[3].dtype"),
                     ("specs/growth/features.yaml", "metadata.team")}, out


def test_a_features_file_that_is_a_link_is_refused(repo_copy: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside.yaml"
    shutil.copy(REPO / "specs/payments/features.yaml", outside)
    (repo_copy / "specs/payments/features.yaml").unlink()
    (repo_copy / "specs/payments/features.yaml").symlink_to(outside)
    code, out = run_validate(repo_copy)
    assert code == 1 and "specs/payments/features.yaml:1:1" in out, out


def _deploy_on_features(repo: Path, env: str, pins: dict[str, int]) -> None:
    """Give pinned versions' evidence the features they were trained on, as the train step records them
    (runtime.features.training.service_columns over the environment's rendered definitions)."""
    from runtime.features.training import service_columns

    definitions = json.loads((repo / f"environments/{env}/features/definitions.json").read_text())
    for model, version in pins.items():
        service = {"chargeback-risk": "chargeback_features", "churn-predictor": "churn_features"}[model]
        path = repo / f"environments/{env}/evidence/{model}-v{version}.json"
        evidence = json.loads(path.read_text())
        evidence["features"] = service_columns(definitions, service)[0]
        path.write_text(json.dumps(evidence, indent=2) + "\n")


def test_removing_or_retyping_a_feature_a_deployed_version_uses_names_the_versions(repo_copy: Path) -> None:
    _deploy_on_features(repo_copy, "prod", {"chargeback-risk": 4, "churn-predictor": 31})
    assert run_validate(repo_copy)[0] == 0  # what they were trained on is all still there
    payments = repo_copy / "specs/payments/features.yaml"
    text = payments.read_text()
    removed = text.replace("        - name: avg_amount_30d\n          dtype: float64\n"
                           "          description: Average transaction amount over the last 30 days.\n", "")
    retyped = removed.replace("name: txn_count_7d\n          dtype: int64",
                              "name: txn_count_7d\n          dtype: float64")
    assert retyped != removed != text
    payments.write_text(retyped)
    code, out = run_validate(repo_copy)
    assert code == 1
    assert out.splitlines() == [
        "specs/payments/features.yaml:24:9: error: spec.featureViews[0].features: feature 'avg_amount_30d' was "
        "removed from view 'customer_transactions', but deployed versions are served with it: chargeback-risk v4 "
        "(prod)",
        "  hint: keep it until those versions are replaced by ones trained without it (retrain and promote them)",
        "specs/payments/features.yaml:25:18: error: spec.featureViews[0].features[0].dtype: feature "
        "customer_transactions:txn_count_7d was int64 when deployed versions were trained on it, not float64: "
        "chargeback-risk v4 (prod), churn-predictor v31 (prod)",
        "  hint: a new type is a new feature: add it beside the old one under a new name",
        "2 errors in 1 file"], out


def test_a_removed_view_that_a_deployed_version_uses_is_located_at_its_pin(repo_copy: Path) -> None:
    _deploy_on_features(repo_copy, "prod", {"churn-predictor": 31})
    (repo_copy / "specs/growth/features.yaml").unlink()  # growth's service goes, and so would payments' view
    payments = repo_copy / "specs/payments/features.yaml"
    payments.write_text(payments.read_text().replace("customer_transactions", "customer_payments"))
    churn = repo_copy / "specs/growth/churn-predictor/model.yaml"
    churn.write_text(churn.read_text().replace("featureService: churn_features", "featureService: chargeback_features"))
    code, out = run_validate(repo_copy, "--format", "json")
    found = [(e["file"], e["path"], e["message"]) for e in json.loads(out)["errors"]]
    assert ("environments/prod/releases.yaml", "releases.churn-predictor", "feature view 'customer_transactions' is "
            "not defined in any features.yaml, but deployed versions are served with it: churn-predictor v31 (prod)"
            ) in found, out
    assert code == 1


def test_plan_lists_feature_changes_and_the_models_they_affect(repo_copy: Path) -> None:
    from tests.compiler.test_promotion import run
    from tests.conftest import init_git

    repository = init_git(repo_copy)
    payments = repo_copy / "specs/payments/features.yaml"
    payments.write_text(payments.read_text().replace("ttl: 30d", "ttl: 14d").replace(
        "name: txn_amount_7d\n          dtype: float64", "name: txn_amount_7d\n          dtype: float32"))
    growth = repo_copy / "specs/growth/features.yaml"
    growth.write_text(growth.read_text().replace("features: [txn_count_7d, days_active_30d]",
                                                 "features: [txn_count_7d, days_active_30d, avg_amount_30d]"))
    assert run(repo_copy, "compile")[0] == 0
    repository.git.add("--all")
    repository.index.commit("shorter TTL, a narrower type, one more churn feature")
    code, out = run(repo_copy, "plan", "--base", "HEAD~1")
    assert code == 0, out
    dev = out[out.index("dev:\n"):out.index("prod:\n")]
    assert ("  ~ FeastDefinitions/features/definitions.json  (environments/dev/features/definitions.json)\n"
            "      feature customer_transactions:txn_amount_7d float64 -> float32 (affects chargeback-risk)\n"
            "      view customer_transactions ttl 30d -> 14d (affects chargeback-risk, churn-predictor)\n"
            "      service churn_features +customer_transactions:avg_amount_30d (affects churn-predictor)\n"
            ) in dev, out
