"""A base commit's inputs (compiler/gitops/gitbase.py), as `mlplat plan --base` and the gate read them."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import git
import pytest

from compiler.gitops import gitbase
from compiler.pipeline.incremental.plan_memo import files_digest, inputs_digest
from tests.conftest import copy_repo


@pytest.fixture
def nested(tmp_path: Path) -> tuple[Path, git.Repo]:
    """The project in a folder of a larger repository, committed, then changed in the work tree."""
    outer = tmp_path / "outer"
    root = copy_repo(outer / "project")
    (outer / "README.md").write_text("not the project's\n")
    (root / "specs/growth/churn-predictor/__pycache__").mkdir()
    (root / "specs/growth/churn-predictor/__pycache__/train.cpython-311.pyc").write_bytes(b"\0committed by mistake")
    (root / "environments/dev/evidence/nested").mkdir(parents=True)
    (root / "environments/dev/evidence/nested/x.json").write_text("{}")
    (root / "specs/growth/link.yaml").symlink_to("churn-predictor/model.yaml")
    repository = git.Repo.init(outer, initial_branch="main")
    repository.git.add("--all")
    repository.git.commit("-m", "base", "--author", "Test <test@example.com>",
                          env={"GIT_COMMITTER_NAME": "Test", "GIT_COMMITTER_EMAIL": "test@example.com"})
    spec = root / "specs/growth/churn-predictor/model.yaml"
    spec.write_text(spec.read_text().replace("max_depth: 8", "max_depth: 9"))  # not committed
    (root / "specs/growth/uncommitted").mkdir()
    (root / "specs/growth/uncommitted/model.yaml").write_text("kind: Model\n")
    return root, repository


def committed_inputs(repository: git.Repo, prefix: str) -> dict[str, bytes]:
    """The oracle: GitPython's own walk of the commit's tree."""
    return {item.path[len(prefix):]: item.data_stream.read() for item in repository.head.commit.tree.traverse()
            if item.type == "blob" and item.path.startswith(prefix) and gitbase.is_input(item.path[len(prefix):])}


def test_the_export_is_the_commits_inputs_and_leaves_nothing_behind(nested: tuple[Path, git.Repo],
                                                                    tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    root, repository = nested
    system_temp = tmp_path / "system-temp"
    system_temp.mkdir()
    monkeypatch.setenv("TMPDIR", str(system_temp))
    monkeypatch.setattr(tempfile, "tempdir", None)
    with gitbase.exported_inputs(root, "HEAD") as base:
        exported = {p.relative_to(base).as_posix(): p.read_bytes() for p in base.rglob("*") if p.is_file()}
        assert base.parent == root / gitbase.BASE_DIR
    expected = committed_inputs(repository, "project/")
    assert exported == expected
    assert "environments/prod/releases.yaml" in exported and "specs/growth/uncommitted/model.yaml" not in exported
    assert b"max_depth: 8" in exported["specs/growth/churn-predictor/model.yaml"]
    assert not any(p.startswith("environments/dev/apps/") for p in exported)  # rendered output is not input
    assert list((root / gitbase.BASE_DIR).iterdir()) == [] and list(system_temp.iterdir()) == []


def test_an_unknown_revision_or_no_repository_is_a_clear_error(nested: tuple[Path, git.Repo],
                                                               tmp_path: Path) -> None:
    root, _ = nested
    with pytest.raises(gitbase.GitError, match="unknown revision 'no-such-branch'"):
        with gitbase.exported_inputs(root, "no-such-branch"):
            pass
    alone = copy_repo(tmp_path / "alone")
    with pytest.raises(gitbase.GitError, match="is not inside a git repository"):
        with gitbase.exported_inputs(alone, "HEAD"):
            pass


def test_a_linked_scratch_folder_is_refused(nested: tuple[Path, git.Repo], tmp_path: Path) -> None:
    root, _ = nested
    outside = tmp_path / "outside"
    outside.mkdir()
    shutil.rmtree(root / ".mlplat", ignore_errors=True)
    (root / ".mlplat").symlink_to(outside, target_is_directory=True)
    with pytest.raises(gitbase.GitError, match="symbolic link"):
        with gitbase.exported_inputs(root, "HEAD"):
            pass
    assert list(outside.iterdir()) == []


def test_the_digest_of_a_commits_files_is_that_of_their_export(nested: tuple[Path, git.Repo]) -> None:
    """What lets `mlplat plan` ask the memo for the base without writing it: the same key either way,
    with a committed __pycache__, a nested evidence folder and a link among the files."""
    root, _ = nested
    files = gitbase.read_inputs(root, "HEAD")
    assert "specs/growth/link.yaml" in files and "environments/dev/evidence/nested/x.json" not in files
    with gitbase.exported_inputs(root, "HEAD") as base:
        assert files_digest(files) == inputs_digest(base)
