"""Replacing environments/ as one step that a kill at any moment leaves done or undone.

The new tree is built in a fixed-name staging folder beside environments/ and exchanged with it in
one renameat2(RENAME_EXCHANGE). Where the file system has no exchange, two renames are used, and
recover() (run before any compile reads the tree) puts the old tree back after a kill between them.
Fixed names mean a kill leaves at most these two folders, which the next run clears.

The staging tree holds hard links to the files that do not change, so building it costs a link per
file, not a copy of every byte; a changed file is unlinked there and written anew, so the old tree's
file is never written through its link.
"""

from __future__ import annotations

import errno
import fcntl
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

OUTPUT_DIR = "environments"
# Where the new tree is built and, with the fallback swap, where the old one waits to be removed.
STAGING = f".{OUTPUT_DIR}.new"
BACKUP = f".{OUTPUT_DIR}.old"


def interrupted(root: Path) -> bool:
    """A kill fell between the fallback swap's renames: environments/ is gone and its old tree waits aside."""
    backup = root / BACKUP
    return backup.is_dir() and not backup.is_symlink() and not os.path.lexists(root / OUTPUT_DIR)


def recover(root: Path) -> None:
    """Undo or finish an interrupted compile: the old tree comes back where a kill fell between the two
    renames of the fallback swap; any staging or backup folder left is removed."""
    if interrupted(root):
        os.rename(root / BACKUP, root / OUTPUT_DIR)
    for name in (STAGING, BACKUP):
        leftover = root / name
        if leftover.is_symlink() or leftover.is_file():
            leftover.unlink()
        elif leftover.is_dir():
            shutil.rmtree(leftover)


@contextmanager
def locked(root: Path) -> Iterator[None]:
    """An exclusive lock on the repository folder itself (no lock file to leave behind)."""
    descriptor = os.open(root, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        yield
    finally:
        os.close(descriptor)  # releases the lock


def swap_tree(root: Path, writes: dict[str, bytes], stale: list[str]) -> None:
    out, staging = root / OUTPUT_DIR, root / STAGING
    try:
        if out.is_dir():  # regular files and folders only: unsafe_entries checked
            shutil.copytree(out, staging, copy_function=_link_or_copy)
        else:
            staging.mkdir()
        for path in stale:
            _remove(staging, path)
        for path, content in writes.items():
            target = staging / Path(path).relative_to(OUTPUT_DIR)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.unlink(missing_ok=True)  # a link to the old tree's file: never write through it
            write_file(target, content)
        _sync_tree(staging)
        if not out.is_dir():
            os.rename(staging, out)
        elif not _exchange(staging, out):
            # No exchange on this file system: two renames, which recover() completes after a kill.
            os.rename(out, root / BACKUP)
            try:
                os.rename(staging, out)
            except OSError:
                os.rename(root / BACKUP, out)
                raise
            staging = root / BACKUP
        _fsync_folder(root)
    finally:
        shutil.rmtree(staging, ignore_errors=True)  # the old tree, or a new one that never went in


def _link_or_copy(source: str, target: str) -> None:
    """A hard link to the unchanged file; a copy where the file system has none."""
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)


def _exchange(a: Path, b: Path) -> bool:
    """Swap two folders atomically (Linux renameat2 RENAME_EXCHANGE); False where that is unsupported."""
    import ctypes

    renameat2 = getattr(ctypes.CDLL(None, use_errno=True), "renameat2", None)
    if renameat2 is None:
        return False
    at_cwd, rename_exchange = -100, 2
    if renameat2(at_cwd, os.fsencode(a), at_cwd, os.fsencode(b), rename_exchange) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.EINVAL, errno.ENOSYS, errno.ENOTSUP, errno.EPERM):  # EPERM: a seccomp filter's answer
        return False
    raise OSError(code, os.strerror(code), str(a))


def write_file(target: Path, content: bytes) -> None:
    """Write a file, never through a link (O_NOFOLLOW), flushed to disk before the tree is swapped in."""
    descriptor = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o644)
    with os.fdopen(descriptor, "wb") as file:
        file.write(content)
        file.flush()
        os.fsync(file.fileno())


def _sync_tree(folder: Path) -> None:
    for path, _, _ in os.walk(folder):
        _fsync_folder(Path(path))


def _fsync_folder(folder: Path) -> None:
    descriptor = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _remove(staging: Path, path: str) -> None:
    """Delete a pruned file, then any folders it leaves empty (never the environment folder itself)."""
    target = staging / Path(path).relative_to(OUTPUT_DIR)
    target.unlink(missing_ok=True)
    parent = target.parent
    while parent != staging and parent.parent != staging and parent.is_dir() and not any(parent.iterdir()):
        parent.rmdir()
        parent = parent.parent
