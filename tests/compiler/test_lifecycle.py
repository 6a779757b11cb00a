"""The lifecycle past version 1, with the real commands on a real git repository and a real SQLite
registry: train v1, promote it to dev, train v2 (gated against champion v1), promote it to dev and
to staging, roll dev back to v1. Each pin is merged as its pull request would be, and every
committed piece of evidence validates and round-trips through its model."""

from __future__ import annotations

import json
from pathlib import Path

import git
import pytest

from compiler.spec.evidence import VersionEvidence
from tests.conftest import copy_repo, init_git, merge_committed, move_artifact_stores
from tests.runtime.conftest import MODEL, mlplat, ok, sqlite_uri


def pins(root: Path, env: str) -> dict[str, int]:
    import yaml

    releases = yaml.safe_load((root / f"environments/{env}/releases.yaml").read_text())["releases"]
    return {name: release["version"] for name, release in releases.items()}


def evidence(root: Path, env: str, version: int) -> dict:
    document = json.loads((root / f"environments/{env}/evidence/{MODEL}-v{version}.json").read_text())
    model = VersionEvidence.model_validate(document)
    assert model.model_dump(mode="json", by_alias=True, exclude_unset=True) == document  # types round-trip
    return document


@pytest.fixture
def platform_repo(tmp_path: Path) -> Path:
    """The repository with dev's and staging's artifact store on this disk (one store for both, as the
    one SQLite registry serves both environments here)."""
    root = copy_repo(tmp_path / "repo")
    move_artifact_stores(root, (tmp_path / "store").as_uri(), ("dev", "staging"))
    (root / ".gitignore").write_text("/.mlplat/\n")
    ok(mlplat(root, "compile"))
    init_git(root)
    return root


def test_promote_promote_rollback_across_versions(platform_repo: Path) -> None:
    root = platform_repo
    tracking = sqlite_uri(root)
    trained_at = [git.Repo(root).head.commit.hexsha]
    assert "version 1 as champion" in ok(mlplat(root, "run", MODEL, "--env", "dev"))
    merge_committed(root, ok(mlplat(root, "promote", MODEL, "--to", "dev", "--tracking-uri", tracking)))
    assert pins(root, "dev") == {MODEL: 1}

    trained_at.append(git.Repo(root).head.commit.hexsha)  # main, with v1's pin merged
    second = ok(mlplat(root, "run", MODEL, "--env", "dev"))
    assert "vs champion v1" in second and "version 2 as champion" in second
    merge_committed(root, ok(mlplat(root, "promote", MODEL, "--to", "dev", "--tracking-uri", tracking)))
    merge_committed(root, ok(mlplat(root, "promote", MODEL, "--to", "staging", "--version", "2",
                                    "--tracking-uri", tracking)))
    assert pins(root, "dev") == {MODEL: 2} and pins(root, "staging")[MODEL] == 2

    merge_committed(root, ok(mlplat(root, "rollback", MODEL, "--env", "dev", "--tracking-uri", tracking)))
    assert pins(root, "dev") == {MODEL: 1} and pins(root, "staging") == {"fraud-detector": 13, MODEL: 2}
    ok(mlplat(root, "validate"))
    ok(mlplat(root, "compile", "--check"))

    first, later = evidence(root, "dev", 1), evidence(root, "staging", 2)
    assert evidence(root, "dev", 2) == later
    assert first["gate"]["champion"] is None and later["gate"]["champion"] == 1  # an int, as MLflow returns it
    assert [first["gitCommit"], later["gitCommit"]] == trained_at
    assert later["environment"]["lock"]["file"] == "requirements.lock"
    log = git.Repo(root).git.log("--format=%s", "main")
    assert log.splitlines()[:4] == [f"roll back {MODEL} in dev from version 2 to 1",
                                    f"promote {MODEL} version 2 to staging", f"promote {MODEL} version 2 to dev",
                                    f"promote {MODEL} version 1 to dev"]
