"""Where the caches live (compiler/pipeline/incremental/store.py) and the one form of their entries: in the
checkout's git directory, where no commit reaches; in .mlplat/cache/ of a folder that is no checkout;
nowhere for a worktree (its git directory lies outside the folder), in CI, or through a link."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from compiler.pipeline.incremental.store import FORMAT, Entries, cache_folder


@pytest.fixture(autouse=True)
def caching_on(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.delenv("MLPLAT_CACHE", raising=False)


def test_a_checkout_keeps_its_caches_in_its_git_directory(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    assert cache_folder(tmp_path) == tmp_path / ".git" / "mlplat" / "cache"


def test_a_folder_that_is_no_checkout_keeps_them_in_mlplat(tmp_path: Path) -> None:
    assert cache_folder(tmp_path) == tmp_path / ".mlplat" / "cache"


def test_a_worktree_or_a_linked_git_directory_keeps_none(tmp_path: Path) -> None:
    (tmp_path / "main.git").mkdir()
    worktree = tmp_path / "worktree"
    worktree.mkdir()
    (worktree / ".git").write_text(f"gitdir: {tmp_path / 'main.git'}\n")
    assert cache_folder(worktree) is None
    linked = tmp_path / "linked"
    linked.mkdir()
    os.symlink(tmp_path / "main.git", linked / ".git")
    assert cache_folder(linked) is None


@pytest.mark.parametrize("switch", [("CI", "true"), ("MLPLAT_CACHE", "off")])
def test_ci_keeps_none(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, switch: tuple[str, str]) -> None:
    (tmp_path / ".git").mkdir()
    monkeypatch.setenv(*switch)
    assert cache_folder(tmp_path) is None
    Entries(tmp_path, "specs").put("a" * 64, {"x": 1})
    assert not (tmp_path / ".git" / "mlplat").exists()


def test_an_entry_is_read_back_only_in_its_own_form(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    entries = Entries(tmp_path, "render")
    key, other = "ab" + "0" * 62, "cd" + "0" * 62
    entries.put(key, [{"path": "environments/dev/x.yaml"}])
    assert entries.get(key) == [{"path": "environments/dev/x.yaml"}]
    path = tmp_path / ".git" / "mlplat" / "cache" / "render" / "ab" / f"{key}.json"
    written = {"format": FORMAT, "key": key, "value": [{"path": "environments/dev/x.yaml"}]}
    assert json.loads(path.read_text()) == written
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temporary file left beside it
    (tmp_path / ".git" / "mlplat" / "cache" / "render" / "cd").mkdir()
    (path.parent.parent / "cd" / f"{other}.json").write_bytes(path.read_bytes())  # filed under another key
    assert entries.get(other) is None
    path.write_text(json.dumps({"format": FORMAT - 1, "key": key, "value": []}))  # another version's
    assert entries.get(key) is None
    path.write_bytes(b"\xff\xfe")
    assert entries.get(key) is None
    assert entries.get("ef" + "0" * 62) is None  # never written


def test_a_cache_that_cannot_be_written_costs_nothing_else(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "mlplat").write_text("a file where the cache's folder would be\n")
    entries = Entries(tmp_path, "plans")
    entries.put("ab" + "0" * 62, {"models": 1})  # no error
    assert entries.get("ab" + "0" * 62) is None


def test_a_value_json_cannot_hold_exactly_is_not_kept(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    entries = Entries(tmp_path, "plans")
    entries.put("ab" + "0" * 62, {"score": float("nan")})  # no error
    assert entries.get("ab" + "0" * 62) is None and not (tmp_path / ".git" / "mlplat").exists()
