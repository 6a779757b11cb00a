"""The writer touches only regular files under environments/ that it generated, never follows a link,
and a kill at any moment of a compile leaves the old tree or the new one, with nothing stray."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from compiler.pipeline import tree_swap
from compiler.pipeline.write import INDEX
from tests.compiler.test_write import run, tree
from tests.conftest import REPO, copy_repo

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


def change_another_spec(root: Path) -> None:
    spec = root / "specs/platform/tumor-classifier/model.yaml"
    spec.write_text(spec.read_text().replace("epochs: 60,", "epochs: 61,"))


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
    # where an earlier compile left a spare tree (.mlplat/cache/tree) to build the staging tree from
    "taking the spare": "tree_swap._take = dies_after(tree_swap._take)",
    "mirroring the spare": "tree_swap._mirror = dies_after(tree_swap._mirror)",
    "keeping the old tree as the spare": "tree_swap._keep = dies_after(tree_swap._keep)",
}
WITH_A_SPARE = {"taking the spare", "mirroring the spare", "keeping the old tree as the spare"}
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
    if moment in WITH_A_SPARE:
        change_another_spec(repo_copy)
        assert run(repo_copy, "compile")[0] == 0 and (repo_copy / tree_swap.SPARE).is_dir()
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


def test_a_tampered_spare_is_mirrored_never_trusted_or_followed(repo_copy: Path, victim: Path) -> None:
    """The spare tree an exchange left (.mlplat/cache/tree) with a changed file, an extra file, a folder
    where a file was and the reverse, links to outside files and folders and a FIFO: the next compile
    writes exactly a cold compile's tree, and nothing outside the repository is read or written."""
    change_another_spec(repo_copy)
    assert run(repo_copy, "compile")[0] == 0
    spare = repo_copy / tree_swap.SPARE
    [manifest, *_] = sorted(spare.glob("dev/apps/*/*/*.yaml"))
    manifest.unlink()
    manifest.write_text("kind: Tampered\n")  # a new inode with other bytes
    (spare / "dev/extra.yaml").write_text("kind: Extra\n")
    folder = next(p for p in sorted((spare / "staging/apps").iterdir()) if p.is_dir())
    shutil.rmtree(folder)
    folder.write_text("a file where a folder was\n")
    index = spare / "GENERATED.sha256"
    index.unlink()
    index.mkdir()
    (spare / "prod/argocd").rename(spare / "prod/argocd-moved")
    (spare / "prod/argocd").symlink_to(victim.parent, target_is_directory=True)
    (spare / "dev/victim.yaml").symlink_to(victim)
    os.mkfifo(spare / "dev/pipe")
    change_a_spec(repo_copy)
    cold = copy_repo(repo_copy.parent / "cold")
    change_another_spec(cold)
    change_a_spec(cold)
    assert run(cold, "compile")[0] == 0
    before = {p: p.read_bytes() for p in victim.parent.rglob("*")}

    code, out = run(repo_copy, "compile")
    assert code == 0, out
    assert tree(repo_copy) == tree(cold)
    assert sorted(p.name for p in (repo_copy / "environments").rglob("*") if p.is_symlink() or p.is_fifo()) == []
    assert {p: p.read_bytes() for p in victim.parent.rglob("*")} == before
    assert run(repo_copy, "compile", "--check")[0] == 0


def test_a_spare_that_is_a_link_is_not_used(repo_copy: Path, victim: Path) -> None:
    spare = repo_copy / tree_swap.SPARE
    spare.parent.mkdir(parents=True)
    outside = victim.parent / "tree"
    shutil.copytree(repo_copy / "environments", outside)
    spare.symlink_to(outside, target_is_directory=True)
    before = {p: p.read_bytes() for p in victim.parent.rglob("*") if p.is_file()}
    change_a_spec(repo_copy)
    assert run(repo_copy, "compile")[0] == 0
    assert {p: p.read_bytes() for p in victim.parent.rglob("*") if p.is_file()} == before
    assert spare.is_symlink()  # left as it was: not the compiler's to remove


@pytest.mark.parametrize("syncfs", [True, False])
def test_with_a_spare_a_compile_links_and_syncs_only_what_changed(repo_copy: Path, monkeypatch: pytest.MonkeyPatch,
                                                                  syncfs: bool) -> None:
    """The spare is the tree before the last compile: building the next tree from it links again only
    what that compile changed; one syncfs flushes it, or without one, the written files and only the
    folders around this one's changes. (The first compile that writes has no spare: it makes one of the
    tree it wrote.)"""
    if not syncfs:
        monkeypatch.setattr(tree_swap, "_sync_file_system", lambda folder: False)
    change_another_spec(repo_copy)
    assert run(repo_copy, "compile")[0] == 0
    spare = repo_copy / tree_swap.SPARE
    assert {p.split("/", 1)[1]: data for p, data in tree(repo_copy).items()} == \
        {p.relative_to(spare).as_posix(): p.read_bytes() for p in spare.rglob("*") if p.is_file()}
    edit = repo_copy / "specs/platform/tumor-classifier/model.yaml"
    edit.write_text(edit.read_text().replace("epochs: 61,", "epochs: 62,"))
    assert run(repo_copy, "compile")[0] == 0
    relinked = sorted(p.split("/", 1)[1] for p, data in tree(repo_copy).items()
                      if (spare / p.split("/", 1)[1]).read_bytes() != data)
    links, synced, fsyncs = [], [], []
    real_link, real_sync, real_fsync = os.link, tree_swap._fsync_folder, os.fsync
    monkeypatch.setattr(os, "link", lambda a, b, **k: (links.append(b), real_link(a, b, **k))[1])
    monkeypatch.setattr(tree_swap, "_fsync_folder", lambda folder: (synced.append(folder), real_sync(folder))[1])
    monkeypatch.setattr(os, "fsync", lambda fd: (fsyncs.append(fd), real_fsync(fd))[1])
    change_a_spec(repo_copy)
    code, out = run(repo_copy, "compile")
    assert code == 0, out
    assert relinked and sorted(Path(b).relative_to(repo_copy / tree_swap.STAGING).as_posix() for b in links) == relinked
    if syncfs:
        assert synced == [repo_copy]  # the exchange's own folder, after it
        assert len(fsyncs) == 1  # that folder's: no file or other folder is synced one by one
    else:
        folders = sum(1 for p in (repo_copy / "environments").rglob("*") if p.is_dir())
        assert 1 < len(synced) < folders / 2


def test_with_a_spare_a_retired_model_takes_its_folders_with_it(repo_copy: Path) -> None:
    """A checkout copied with its caches (so every file of the spare is a copy, and every folder is linked
    again), then a model retired: its folders, mirrored first, go with its files."""
    change_another_spec(repo_copy)
    assert run(repo_copy, "compile")[0] == 0
    copied = repo_copy.parent / "copied"
    shutil.copytree(repo_copy, copied)
    shutil.rmtree(copied / "specs/growth/ltv-forecaster")
    cold = copy_repo(repo_copy.parent / "cold")
    change_another_spec(cold)
    shutil.rmtree(cold / "specs/growth/ltv-forecaster")
    assert run(cold, "compile")[0] == 0
    code, out = run(copied, "compile")
    assert code == 0, out
    assert tree(copied) == tree(cold) and not list((copied / "environments").glob("*/apps/growth/ltv-*"))
