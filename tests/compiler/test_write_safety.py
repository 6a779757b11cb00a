"""The writer touches only regular files under environments/ that it generated, never follows a link,
and a kill at any moment of a compile leaves the old tree or the new one, with nothing stray."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from compiler.pipeline import tree_swap
from compiler.pipeline.write import INDEX
from tests.compiler.test_write import run, tree
from tests.conftest import REPO

ENTRIES = [".github", "environments", "platform", "specs"]
CACHE = ".mlplat"  # the compiler's caches (gitignored): not a leftover, and no part of the tree


def leftovers(root: Path) -> list[str]:
    return sorted(p.name for p in root.iterdir() if p.name != CACHE)


@pytest.fixture
def victim(tmp_path: Path) -> Path:
    """A file outside the repository copy (tmp_path/repo) that nothing may touch."""
    path = tmp_path / "victim" / "important.txt"
    path.parent.mkdir()
    path.write_text("keep me\n")
    return path


def change_a_spec(root: Path) -> None:
    spec = root / "specs/growth/churn-predictor/model.yaml"
    spec.write_text(spec.read_text().replace("max_depth: 8", "max_depth: 9"))


@pytest.mark.parametrize("listed", ["environments/../../victim/important.txt", "{victim}",
                                    "environments//dev/../../../victim/important.txt"])
def test_an_index_line_naming_a_file_outside_environments_deletes_nothing(repo_copy: Path, victim: Path,
                                                                           listed: str) -> None:
    index = repo_copy / INDEX
    index.write_text(index.read_text() + f"{'0' * 64}  {listed.format(victim=victim)}\n")
    code, out = run(repo_copy, "compile")
    assert code == 0, out
    assert victim.read_text() == "keep me\n"
    assert "  deleted " not in out
    assert run(repo_copy, "compile", "--check")[0] == 0


@pytest.mark.parametrize("link", ["environments/prod/argocd/root.yaml", "environments/staging",
                                  ".github/CODEOWNERS", "environments"])
def test_a_link_in_the_way_is_refused_and_nothing_is_read_or_written_through_it(
        repo_copy: Path, victim: Path, link: str) -> None:
    target = repo_copy / link
    moved = victim.parent / "moved"
    target.rename(moved)  # what the link points at: the real content, kept outside
    target.symlink_to(moved, target_is_directory=moved.is_dir())
    if moved.is_dir():
        (moved / "README").write_text("outside\n")
    else:
        moved.write_text("secret contents outside the repository\n")
    change_a_spec(repo_copy)
    before = {p: p.read_bytes() for p in victim.parent.rglob("*") if p.is_file()}

    code, out = run(repo_copy, "compile")
    assert code == 1 and f"{link} is a symbolic link" in out  # from the loader where it reads through it
    assert {p: p.read_bytes() for p in victim.parent.rglob("*") if p.is_file()} == before  # nothing written there

    code, out = run(repo_copy, "compile", "--check")
    assert code == 1
    assert f"{link}: is a symbolic link or a special file" in out or f"{link} is a symbolic link" in out
    assert "secret contents" not in out


def test_a_fifo_under_environments_is_refused_not_read(repo_copy: Path) -> None:
    os.mkfifo(repo_copy / "environments/dev/pipe")  # reading it would block the compile for ever
    code, out = run(repo_copy, "compile")
    assert code == 1 and "environments/dev/pipe is a symbolic link or special file" in out


def test_leftovers_of_a_killed_compile_are_cleared_and_never_block(repo_copy: Path) -> None:
    for name in (tree_swap.STAGING, tree_swap.BACKUP):
        (repo_copy / name / "dev").mkdir(parents=True)
        (repo_copy / name / "dev" / "half-written.yaml").write_text("x")
    reported = run(repo_copy, "compile", "--check")[1].splitlines()
    assert [line.split(":")[0] for line in reported if "interrupted compile" in line] == [
        tree_swap.STAGING, tree_swap.BACKUP]
    change_a_spec(repo_copy)
    assert run(repo_copy, "compile")[0] == 0
    assert leftovers(repo_copy) == ENTRIES
    assert run(repo_copy, "compile", "--check")[0] == 0


# Each kill point: (what to patch in the killed compile, when to kill). The child sends itself SIGKILL
# there, as a power cut or an OOM kill would end it: no finally blocks, no cleanup.
KILLS = {
    "copying the old tree": "shutil.copytree = dies_after(shutil.copytree)",
    "writing the first file": "tree_swap.write_file = dies_after(tree_swap.write_file)",
    "right after the exchange": "tree_swap._exchange = dies_after(tree_swap._exchange)",
    "between the fallback's renames": "tree_swap._exchange = lambda a, b: False\n"
                                      "os.rename = dies_after(os.rename)",
    "after the fallback's renames": "tree_swap._exchange = lambda a, b: False\n"
                                    "os.rename = dies_after(os.rename, calls=2)",
    "removing the old tree": "shutil.rmtree = dies_after(shutil.rmtree)",
}
CHILD = """
import os, shutil, signal, sys
from compiler.pipeline import tree_swap
from compiler.cli import main

def dies_after(function, calls=1):
    count = [0]
    def wrapped(*args, **kwargs):
        result = function(*args, **kwargs)
        count[0] += 1
        if count[0] == calls:
            os.kill(os.getpid(), signal.SIGKILL)
        return result
    return wrapped

{patch}
main(["--root", sys.argv[1], "compile"])
"""


@pytest.mark.parametrize("moment", list(KILLS))
def test_a_kill_at_any_moment_leaves_the_old_or_the_new_tree(repo_copy: Path, moment: str) -> None:
    old = tree(repo_copy)
    change_a_spec(repo_copy)
    child = subprocess.run([sys.executable, "-c", CHILD.format(patch=KILLS[moment]), str(repo_copy)],
                           cwd=REPO, capture_output=True, text=True)
    assert child.returncode == -signal.SIGKILL, child.stderr
    killed = tree(repo_copy) if (repo_copy / "environments").is_dir() else None

    if moment == "between the fallback's renames":  # the one state where environments/ is missing
        assert killed is None
        code, out = run(repo_copy, "validate")
        assert code == 1 and "environments/ is missing: a compile was killed" in out
    assert run(repo_copy, "compile")[0] == 0
    new = tree(repo_copy)
    assert new != old
    assert killed in (old, new, None)
    assert leftovers(repo_copy) == ENTRIES
