"""runtime/code.py: the commit a run records is the checkout's, read from .git without a git binary."""

from __future__ import annotations

from pathlib import Path

import pytest

from runtime.code import CodeError, checkout_commit, commit_of_run
from tests.conftest import init_git


@pytest.fixture
def checkout(tmp_path: Path) -> tuple[Path, str]:
    root = tmp_path / "repo"
    (root / "specs" / "team" / "model").mkdir(parents=True)
    (root / "specs" / "team" / "model" / "model.yaml").write_text("x: 1\n")
    repository = init_git(root)
    return root, repository.head.commit.hexsha


def test_branch_detached_and_packed_refs(checkout: tuple[Path, str]) -> None:
    root, sha = checkout
    code_dir = root / "specs" / "team" / "model"
    assert checkout_commit(code_dir) == sha  # HEAD -> refs/heads/main, a loose ref
    import git

    repository = git.Repo(root)
    repository.git.pack_refs("--all")
    assert not (root / ".git" / "refs" / "heads" / "main").exists()
    assert checkout_commit(code_dir) == sha  # from packed-refs
    repository.git.checkout("--detach", sha)
    assert (root / ".git" / "HEAD").read_text().strip() == sha  # as Argo's clone at a revision leaves it
    assert checkout_commit(code_dir) == sha


def test_the_checkout_decides_and_must_agree_with_a_requested_commit(checkout: tuple[Path, str]) -> None:
    root, sha = checkout
    code_dir = str(root / "specs" / "team" / "model")
    assert commit_of_run("main", code_dir) == sha  # a scheduled run: the branch head
    assert commit_of_run(sha, code_dir) == sha
    assert commit_of_run(sha + "-dirty", code_dir) == sha + "-dirty"  # `mlplat run` in an edited work tree
    with pytest.raises(CodeError, match=f"is commit {sha}, not the requested 0{{40}}"):
        commit_of_run("0" * 40, code_dir)


def test_outside_a_checkout(tmp_path: Path) -> None:
    assert checkout_commit(tmp_path) is None
    assert commit_of_run(None, str(tmp_path)) == "unknown"
    assert commit_of_run("1" * 40, None) == "1" * 40
    with pytest.raises(CodeError, match="'main' is not a commit, and there is no checkout"):
        commit_of_run("main", str(tmp_path))
