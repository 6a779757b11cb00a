"""The record of file hashes (incremental/file_hashes.py): a file whose stat is what was recorded is not read
again, and nothing else is trusted: a changed file, one as new as the record itself (racily clean), a
damaged record, a name the record cannot hold. Time is the file system's own: the tests move the record's
stamp or wait for the file system's clock to tick (an event), never for a duration."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from compiler.pipeline.incremental import file_hashes
from compiler.pipeline.incremental.file_hashes import FileHashes
from compiler.pipeline.incremental.store import Entries

FUTURE = 2**62  # ns: a record stamped after every file here


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The files actually read and hashed from here on."""
    seen: list[str] = []
    real = file_hashes._hash

    def counted(full: str) -> str | None:
        seen.append(os.path.basename(full))
        return real(full)

    monkeypatch.setattr(file_hashes, "_hash", counted)
    return seen


def saved(root: Path, names: list[str], stamp: int | None = FUTURE) -> None:
    """Hash `names`, keep the record, and move its stamp (None: leave the file system's)."""
    hashes = FileHashes(root, "test")
    for name in names:
        hashes.sha256(name)
    hashes.save()
    if stamp is not None:
        os.utime(record_path(root), ns=(stamp, stamp))


def record_path(root: Path) -> Path:
    entries = Entries(root, file_hashes.KIND)
    assert entries.folder is not None
    key = FileHashes(root, "test").key
    return entries.folder / key[:2] / f"{key}.json"


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def tick(path: Path) -> None:
    """Rewrite `path` until its change time moves past what it was: the file system's clock has ticked."""
    before = path.stat().st_ctime_ns
    while path.stat().st_ctime_ns == before:
        path.write_bytes(path.read_bytes())


def test_a_recorded_file_is_not_read_again(tmp_path: Path, reads: list[str]) -> None:
    (tmp_path / "a").write_bytes(b"one")
    (tmp_path / "b").write_bytes(b"two")
    saved(tmp_path, ["a", "b"])
    reads.clear()
    hashes = FileHashes(tmp_path, "test")
    assert (hashes.sha256("a"), hashes.sha256("b")) == (sha(b"one"), sha(b"two"))
    assert reads == []
    assert hashes.sha256("missing") is None and hashes.sha256(".") is None


@pytest.mark.parametrize("edit", ["other bytes, other size", "same size, in place, time put back", "replaced"])
def test_a_changed_file_is_read_again(tmp_path: Path, reads: list[str], edit: str) -> None:
    path = tmp_path / "a"
    path.write_bytes(b"one")
    saved(tmp_path, ["a"])
    before = path.stat()
    if edit == "other bytes, other size":
        path.write_bytes(b"three")
    elif edit == "same size, in place, time put back":  # only the change time can tell
        tick(path)
        with open(path, "r+b") as file:
            file.write(b"ONE")
        os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
        assert (path.stat().st_size, path.stat().st_mtime_ns) == (before.st_size, before.st_mtime_ns)
    else:  # a new file renamed over it, as editors and git do
        (tmp_path / "new").write_bytes(b"ONE")
        os.replace(tmp_path / "new", path)
    reads.clear()
    assert FileHashes(tmp_path, "test").sha256("a") == sha(path.read_bytes())
    assert reads == ["a"]


def test_a_file_as_new_as_its_record_is_read_again(tmp_path: Path, reads: list[str]) -> None:
    """Racily clean: changed within the tick the record was written in, its stat could be unchanged."""
    path = tmp_path / "a"
    path.write_bytes(b"one")
    saved(tmp_path, ["a"], stamp=None)
    newest = max(path.stat().st_mtime_ns, path.stat().st_ctime_ns)
    os.utime(record_path(tmp_path), ns=(newest, newest))
    reads.clear()
    hashes = FileHashes(tmp_path, "test")
    assert hashes.sha256("a") == sha(b"one") and reads == ["a"]


@pytest.mark.parametrize("damage", ["garbage", "a short line", "not text"])
def test_a_damaged_record_trusts_nothing(tmp_path: Path, reads: list[str], damage: str) -> None:
    (tmp_path / "a").write_bytes(b"one")
    saved(tmp_path, ["a"])
    value = {"garbage": "\x00\x01", "a short line": "a\tonly-two\n", "not text": ["a"]}[damage]
    Entries(tmp_path, file_hashes.KIND).put(FileHashes(tmp_path, "test").key, value)
    os.utime(record_path(tmp_path), ns=(FUTURE, FUTURE))
    reads.clear()
    assert FileHashes(tmp_path, "test").sha256("a") == sha(b"one")
    assert reads == ["a"]


def test_a_name_the_record_cannot_hold_is_hashed_each_time(tmp_path: Path, reads: list[str]) -> None:
    (tmp_path / "tab\there").write_bytes(b"one")
    (tmp_path / "plain").write_bytes(b"two")
    saved(tmp_path, ["tab\there", "plain"])
    reads.clear()
    hashes = FileHashes(tmp_path, "test")
    assert hashes.sha256("tab\there") == sha(b"one") and hashes.sha256("plain") == sha(b"two")
    assert reads == ["tab\there"]


def test_without_a_record_every_file_is_read_and_nothing_is_kept(tmp_path: Path, reads: list[str]) -> None:
    (tmp_path / "a").write_bytes(b"one")
    hashes = FileHashes(tmp_path, "test", recorded=False)
    assert hashes.sha256("a") == sha(b"one")
    hashes.save()
    assert not os.path.lexists(tmp_path / ".mlplat")


def test_after_a_compile_the_inputs_digest_reads_only_what_changed(repo_copy: Path, reads: list[str]) -> None:
    """A compile keeps the record of its inputs: the next digest reads the one spec that changed."""
    from compiler.pipeline.incremental.plan_memo import inputs_digest
    from compiler.pipeline.incremental.store import cache_folder
    from tests.compiler.test_render_cache import FRAUD, edit, run

    assert run(repo_copy, "compile")[0] == 0
    for entry in (cache_folder(repo_copy) / file_hashes.KIND).rglob("*.json"):
        os.utime(entry, ns=(FUTURE, FUTURE))
    edit(repo_copy, FRAUD, "epochs: 20", "epochs: 25")
    reads.clear()
    assert inputs_digest(repo_copy) is not None
    assert reads == ["model.yaml"]
