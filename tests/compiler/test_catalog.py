"""`mlplat catalog`: the site's files from the repository, escaped and deterministic, written whole; and the
adoption figures and registry versions after real promotions of a first and second version."""

from __future__ import annotations

import json
import shutil
import statistics
from datetime import datetime
from pathlib import Path

import git
import pytest

from tests.compiler.test_promotion import (  # noqa: F401 - fixtures
    MODEL,
    Registry,
    compiled,
    evidence_for,
    model_dir,
    run,
    store,
)
from tests.conftest import REPO, committed_branch, init_git

NO_REGISTRY = "sqlite:///{}/absent/registry.db"


def build(root: Path, output: Path, tracking_uri: str | None = None) -> dict[str, bytes]:
    code, out = run(root, "catalog", "--output", str(output),
                    "--tracking-uri", tracking_uri or NO_REGISTRY.format(output.parent))
    assert code == 0, out
    return {p.relative_to(output).as_posix(): p.read_bytes() for p in sorted(output.rglob("*")) if p.is_file()}


def test_a_page_per_model_and_team_the_same_bytes_every_time(tmp_path: Path) -> None:
    first = build(REPO, tmp_path / "one")
    assert build(REPO, tmp_path / "two") == first
    models = sorted(p.parent.name for p in (REPO / "specs").glob("*/*/model.yaml"))
    assert sorted(p.removeprefix("models/").removesuffix(".html") for p in first if p.startswith("models/")) == models
    assert len(models) == 6
    assert {p for p in first if p.startswith("teams/")} == {f"teams/{t}.html" for t in
                                                            ("growth", "payments", "platform", "search")}
    assert first["files/environments/model-cards/payments/fraud-detector.md"] == \
        (REPO / "environments/model-cards/payments/fraud-detector.md").read_bytes()
    data = json.loads(first["catalog.json"])
    fraud = next(m for m in data["models"] if m["name"] == "fraud-detector")
    assert fraud["environments"]["prod"]["serves"]["candidate"] == {"role": "canary", "version": 13, "traffic": 5}
    assert fraud["versionsFrom"] == "evidence"  # no registry: the committed evidence of pinned versions
    assert [v["version"] for v in fraud["versions"]] == [12, 13]
    mlboms = sorted(p.relative_to(REPO).as_posix() for p in (REPO / "environments").glob("*/sbom/fraud-detector-v*"))
    assert len(mlboms) == 3 and fraud["links"]["mlboms"] == mlboms
    page = first["models/fraud-detector.html"].decode()
    assert "canary version 13: 5%" in page and "gate &#8805; 0.92" in page and "@maria-lopez" in page
    assert f'{fraud["monthlyCost"]:,.2f}' in first["index.html"].decode()


def test_a_models_ml_boms_are_its_own_not_those_of_a_model_its_name_begins() -> None:
    from types import SimpleNamespace

    from compiler.catalog.data import _mlboms

    artifacts = {"environments/prod/sbom/churn-v3.cdx.json", "environments/prod/sbom/churn-v2-v1.cdx.json",
                 "environments/staging/sbom/churn-v4.cdx.json", "environments/prod/evidence/churn-v3.json"}
    churn = [SimpleNamespace(name="churn", environment="prod", evidence={3: {}}),
             SimpleNamespace(name="churn", environment="staging", evidence={4: {}, 5: {}})]  # v5: not in the plan
    churn_v2 = [SimpleNamespace(name="churn-v2", environment="prod", evidence={1: {}})]
    assert _mlboms(churn, artifacts) == ["environments/prod/sbom/churn-v3.cdx.json",
                                         "environments/staging/sbom/churn-v4.cdx.json"]
    assert _mlboms(churn_v2, artifacts) == ["environments/prod/sbom/churn-v2-v1.cdx.json"]


def test_spec_text_is_escaped_on_every_page(tmp_path: Path) -> None:
    from tests.conftest import copy_repo

    root = copy_repo(tmp_path / "repo")
    spec = root / "specs/payments/fraud-detector/model.yaml"
    hostile = '"<script>alert(1)</script><img src=x onerror=alert(2)>"'
    spec.write_text(spec.read_text().replace("Card-not-present fraud scoring for checkout", hostile))
    site = build(root, tmp_path / "site")
    for path in ("index.html", "models/fraud-detector.html"):
        page = site[path].decode()
        assert "&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror=alert(2)&gt;" in page
        assert "<script>alert" not in page and "<img src=x" not in page


def test_a_folder_that_is_not_a_catalog_is_refused_and_an_old_catalog_replaced_whole(tmp_path: Path) -> None:
    output = tmp_path / "site"
    output.mkdir()
    (output / "notes.txt").write_text("mine")
    code, out = run(REPO, "catalog", "--output", str(output), "--tracking-uri", NO_REGISTRY.format(tmp_path))
    assert code == 2 and "is not empty and holds no earlier catalog" in out, out
    assert [p.name for p in output.iterdir()] == ["notes.txt"]
    shutil.rmtree(output)
    build(REPO, output)
    (output / "models" / "retired-model.html").write_text("old")
    build(REPO, output)
    assert not (output / "models" / "retired-model.html").exists()  # replaced, not merged
    assert sorted(p.name for p in tmp_path.iterdir()) == ["site"]  # nothing staged is left beside it
    code, out = run(REPO, "catalog", "--output", str(tmp_path / "other"), "--registry-env", "qa")
    assert code == 2 and "no environment 'qa' (environments: dev, staging, prod)" in out, out
    assert not (tmp_path / "other").exists()


def test_what_a_killed_catalog_left_beside_its_output_is_removed(tmp_path: Path) -> None:
    """Killed between its renames, a catalog left `<output>.previous-<pid>` (the site it was replacing) or
    `<output>.partial-<pid>`; the next run removes those of processes that are gone, and nothing else."""
    import os
    import subprocess
    import sys

    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    left = [tmp_path / f"site.previous-{gone.pid}", tmp_path / f"site.partial-{gone.pid}"]
    for folder in left:
        (folder / "models").mkdir(parents=True)
    mine = tmp_path / f"site.partial-{os.getppid()}"  # a running process's
    mine.mkdir()
    build(REPO, tmp_path / "site")
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["site", mine.name])


def test_adoption_and_registry_versions_after_real_promotions(tmp_path: Path, compiled: Path, store: Path,  # noqa: F811
                                                              model_dir: Path,  # noqa: F811
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """The base's pins are edited by hand; version 1 reaches dev by hand and staging and prod through
    `mlplat promote`, version 2 all three through it. Commit times are set, registration times are the
    evidence's: production waited 3 days for version 1 and 1 day for version 2."""
    from compiler.pipeline.check import check_project

    def on(day: str) -> None:
        for name in ("GIT_AUTHOR_DATE", "GIT_COMMITTER_DATE"):
            monkeypatch.setenv(name, f"{day}T00:00:00+0000")

    root = tmp_path / "repo"
    shutil.copytree(compiled, root)
    on("2026-11-01")
    repository = init_git(root)
    checked, _ = check_project(root)
    registry = Registry(tmp_path / "mlflow", next(m.spec_hash for m in checked.models if m.name == MODEL), store,
                        model_dir)

    def register(registered_at: str) -> dict:
        pin = registry.register()
        registry.client.log_dict(pin["runId"], {**evidence_for(pin), "registeredAt": registered_at},
                                 "mlplat/evidence.json")
        return pin

    def promote(version: str, env: str, day: str) -> None:
        on(day)
        args = ["promote", MODEL, "--to", env, "--version", version, "--tracking-uri", registry.uri]
        code, out = run(root, *args, *(["--approved-by", "@ines-moreau"] if env == "prod" else []))
        assert code == 0, out
        repository.git.merge("--ff-only", committed_branch(out))  # as its pull request merges

    pin = register("2026-11-20T00:00:00Z")
    on("2026-11-21")
    code, out = run(root, "promote", MODEL, "--to", "dev", "--version", "1", "--tracking-uri", registry.uri)
    assert code == 0, out
    hand = repository.commit(committed_branch(out))  # the same pin, committed again by a person without the trailer
    repository.git.checkout(hand.hexsha, "--", ".")
    repository.index.commit("pin tumor-classifier 1 in dev by hand")
    promote("1", "staging", "2026-11-22")
    promote("1", "prod", "2026-11-23")
    register("2026-11-24T00:00:00Z")
    for env in ("dev", "staging", "prod"):
        promote("2", env, "2026-11-25")
    assert pin["version"] == 1

    site = build(root, tmp_path / "site", registry.uri)
    data = json.loads(site["catalog.json"])
    ours = [(d["environment"], d["version"], d["throughPlatform"]) for d in data["deployments"] if d["model"] == MODEL]
    assert ours == [("dev", 1, False), ("staging", 1, True), ("prod", 1, True),
                    ("dev", 2, True), ("staging", 2, True), ("prod", 2, True)]
    example = [d for d in data["deployments"] if d["model"] != MODEL]
    assert example and not any(d["throughPlatform"] for d in example)  # the example's pins came by hand
    adoption = data["adoption"]
    assert (adoption["deployments"], adoption["throughPlatform"]) == (len(example) + 6, 5)
    base = datetime.fromisoformat("2026-11-01T00:00:00+00:00")
    waits = [3 * 86400.0, 1 * 86400.0] + [  # and the example's prod pins, committed with the base
        (base - datetime.fromisoformat(json.loads((root / f"environments/prod/evidence/{d['model']}-v{d['version']}"
                                                          ".json").read_text())["registeredAt"])).total_seconds()
        for d in example if d["environment"] == "prod"]
    assert adoption["medianRegistrationToProductionSeconds"] == statistics.median(waits)
    tumor = next(m for m in data["models"] if m["name"] == MODEL)
    assert tumor["versionsFrom"] == "registry"
    assert [(v["version"], v["aliases"], v["deployedIn"]) for v in tumor["versions"]] == [
        (1, [], []), (2, [], ["dev", "staging", "prod"])]
    assert tumor["versions"][1]["data"]["train"]["sha256"] == "1" * 64  # the run's lineage tags
    page = site["models/tumor-classifier.html"].decode()
    assert "sha256 111111111111" in page and "dev, staging, prod" in page
    assert git.Repo(root).is_dirty(untracked_files=True) is False  # the catalog wrote nothing into the repository
