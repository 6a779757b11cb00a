"""Feature definitions (specs/<team>/features.yaml): the two teams of tests/fixtures/features, one using
the other's view, validate cleanly and are loaded with the project; the broken cases are in the corpus
(tests/fixtures/broken/features-*)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from compiler.pipeline.project import load_project
from tests.compiler.test_broken_corpus import run_validate
from tests.conftest import REPO

FIXTURE = REPO / "tests" / "fixtures" / "features"


def with_features(repo: Path) -> Path:
    shutil.copytree(FIXTURE / "specs", repo / "specs", dirs_exist_ok=True)
    return repo


def test_two_teams_sharing_a_view_validate(repo_copy: Path) -> None:
    code, out = run_validate(with_features(repo_copy))
    assert code == 0, out
    project, errors = load_project(repo_copy)
    assert errors == [] and project is not None
    by_team = {f.features.metadata.team: f.features for f in project.features}
    assert sorted(by_team) == ["growth", "payments"]
    assert by_team["growth"].spec.feature_services[0].features[0].view == "customer_transactions"


def test_every_error_of_every_features_file_in_one_run(repo_copy: Path) -> None:
    with_features(repo_copy)
    payments = repo_copy / "specs/payments/features.yaml"
    payments.write_text(payments.read_text().replace("ttl: 30d", "ttl: soon").replace("dtype: int64", "dtype: long"))
    growth = repo_copy / "specs/growth/features.yaml"
    growth.write_text(growth.read_text().replace("team: growth", "team: growht"))
    code, out = run_validate(repo_copy, "--format", "json")
    assert code == 1
    found = {(e["file"], e["path"]) for e in json.loads(out)["errors"]}
    assert found == {("specs/payments/features.yaml", "spec.featureViews[0].ttl"),
                     ("specs/payments/features.yaml", "spec.featureViews[0].features[0].dtype"),
                     ("specs/growth/features.yaml", "metadata.team")}, out


def test_a_features_file_that_is_a_link_is_refused(repo_copy: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside.yaml"
    shutil.copy(FIXTURE / "specs/payments/features.yaml", outside)
    (repo_copy / "specs/payments/features.yaml").unlink()
    (repo_copy / "specs/payments/features.yaml").symlink_to(outside)
    code, out = run_validate(repo_copy)
    assert code == 1 and "specs/payments/features.yaml:1:1" in out, out
