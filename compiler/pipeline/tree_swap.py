"""Replacing environments/ as one step that a kill at any moment leaves done or undone.

The new tree is built in a fixed-name staging folder beside environments/ and exchanged with it in
one renameat2(RENAME_EXCHANGE). Where the file system has no exchange, two renames are used, and
recover() (run before any compile reads the tree) puts the old tree back after a kill between them.
Fixed names mean a kill leaves at most these two folders, which the next run clears.

The staging tree holds hard links to the files that do not change, so building it costs a link per
file, not a copy of every byte; a changed file is unlinked there and written anew, so the old tree's
file is never written through its link.

Where the caches are used (compiler/pipeline/incremental/store.py), the tree an exchange replaced is kept as a
spare (.mlplat/cache/tree) instead of being removed, and the next compile builds its staging tree from
it: the spare is made to hold exactly environments/' entries, each file the same inode (a folder's
listing compared, and only what differs linked, unlinked or made), and then the changes are applied.
Nothing in the spare is trusted: a file that is not environments/' own file is replaced by a link to
it, and links and special files are removed, never followed. So a compile that changes a few files
costs a few, not 3,000 new folders and 15,000 links made and removed again.

Before the exchange the new tree is flushed to disk with one syncfs(2); where there is none, each
written file is synced, and then only the folders whose entries changed.
"""

from __future__ import annotations

import errno
import fcntl
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from compiler.pipeline.incremental import store
from compiler.spec.paths import CACHE_ROOT, OUTPUT_DIR

# Where the new tree is built and, with the fallback swap, where the old one waits to be removed.
STAGING = f".{OUTPUT_DIR}.new"
BACKUP = f".{OUTPUT_DIR}.old"
SPARE = f"{CACHE_ROOT}/tree"  # the tree the last exchange replaced, kept to build the next one from


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


def swap_tree(root: Path, writes: dict[str, bytes], stale: list[str]) -> list[str]:
    """Returns the files of the tree that were linked again (their change time moved; file_hashes.py)."""
    out, staging = root / OUTPUT_DIR, root / STAGING
    spare = root / SPARE if store.usable(root, SPARE) else None
    linked: list[str] = []
    try:
        if out.is_dir() and spare is not None and _take(spare, staging):
            touched = _mirror(str(out), str(staging), os.lstat(out).st_dev == os.lstat(staging).st_dev, linked)
        elif out.is_dir():  # regular files and folders only: unsafe_entries checked
            shutil.copytree(out, staging, copy_function=lambda source, target: _link_or_copy(source, target, linked))
            touched = None
        else:
            staging.mkdir()
            touched = None
        for path in stale:
            _remove(staging, path)
        made: set[Path] = set()
        for path, content in writes.items():
            target = staging / Path(path).relative_to(OUTPUT_DIR)
            if target.parent not in made:  # one mkdir per folder, not per file
                target.parent.mkdir(parents=True, exist_ok=True)
                made.add(target.parent)
            target.unlink(missing_ok=True)  # a link to the old tree's file: never write through it
            write_file(target, content, sync=False)
        if not _sync_file_system(staging):
            _sync_each(staging, writes, stale, touched)
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
        if spare is not None and _keep(staging, spare) and touched is None:
            # there was no spare: the tree replaced becomes one, brought up to date now, so that the next
            # compile links again only what this one wrote, not every file
            try:
                _mirror(str(out), str(spare), os.lstat(out).st_dev == os.lstat(spare).st_dev, linked)
            except OSError:  # the tree is in; a spare that could not be made is no spare
                shutil.rmtree(spare, ignore_errors=True)
    finally:
        shutil.rmtree(staging, ignore_errors=True)  # the old tree, or a new one that never went in (or kept)
    prefix = len(str(out)) + 1
    return [f"{OUTPUT_DIR}/{path[prefix:]}" for path in linked]


def _take(spare: Path, staging: Path) -> bool:
    """The spare moved to the staging folder's place; False where there is none (or it cannot move)."""
    if spare.is_symlink() or not spare.is_dir():
        return False
    try:
        os.rename(spare, staging)
    except OSError:  # another file system, say
        return False
    return True


def _keep(old_tree: Path, spare: Path) -> bool:
    """The tree just replaced, kept as the next compile's spare."""
    try:
        spare.parent.mkdir(parents=True, exist_ok=True)
        os.rename(old_tree, spare)
    except OSError:
        return False
    return True


def _mirror(source: str, target: str, one_device: bool, linked: list[str]) -> set[str]:
    """Make folder `target` hold exactly `source`'s entries, each file a hard link to source's own, and
    return the folders whose entries changed. Nothing of `target` is followed: what is neither the same
    file (device and inode) nor a folder beside a folder is removed and linked, or made, anew. The inodes
    come with the listing; `one_device`: the two trees are on one device, so no file's is asked for.
    The source's files linked are added to `linked`."""
    touched: set[str] = set()
    have = {entry.name: entry for entry in os.scandir(target)}
    for entry in os.scandir(source):
        kept = have.pop(entry.name, None)
        path = os.path.join(target, entry.name)
        if entry.is_dir(follow_symlinks=False):
            if kept is not None and not kept.is_dir(follow_symlinks=False):
                _delete(kept)
                kept = None
            if kept is None:
                os.mkdir(path)
                touched.add(target)
            touched |= _mirror(entry.path, path, one_device, linked)
            continue
        if kept is not None:
            if kept.is_file(follow_symlinks=False) and _same_file(kept, entry, one_device):
                continue
            _delete(kept)
        _link_or_copy(entry.path, path, linked)
        touched.add(target)
    for left in have.values():  # in the spare only
        _delete(left)
        touched.add(target)
    return touched


def _same_file(a: os.DirEntry, b: os.DirEntry, one_device: bool) -> bool:
    """Whether two entries are one file: the same inode, on the same device. A file is on its tree's
    device (only a mount inside environments/, which takes root and no compile makes, is not), so the
    devices are asked of each file only where the two trees' differ."""
    if a.inode() != b.inode():
        return False
    if one_device:
        return True
    first, second = a.stat(follow_symlinks=False), b.stat(follow_symlinks=False)
    return first.st_dev == second.st_dev


def _delete(entry: os.DirEntry) -> None:
    if entry.is_dir(follow_symlinks=False):
        shutil.rmtree(entry.path)  # does not follow links inside
    else:
        os.unlink(entry.path)  # a file, a link itself (not its target), a special file


def _folders_above(staging: Path, folder: Path) -> list[str]:
    """The folders from a written or removed file's `folder` (under environments/) up to the staging
    folder: any of them may have gained or lost an entry."""
    folders = []
    parent = staging / folder.relative_to(OUTPUT_DIR)
    while parent != staging.parent:
        if parent.is_dir():
            folders.append(str(parent))
        parent = parent.parent
    return folders


def _link_or_copy(source: str, target: str, linked: list[str]) -> None:
    """A hard link to the unchanged file (noted in `linked`); a copy where the file system has none."""
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)
    else:
        linked.append(source)


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


def write_file(target: Path, content: bytes, *, sync: bool = True) -> None:
    """Write a file, never through a link (O_NOFOLLOW); flushed to disk unless the caller syncs it later."""
    descriptor = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o644)
    with os.fdopen(descriptor, "wb") as file:
        file.write(content)
        if sync:
            file.flush()
            os.fsync(file.fileno())


def _sync_file_system(folder: Path) -> bool:
    """Flush everything written below `folder` with one syncfs(2) of its file system (Linux), instead of
    an fsync per file and folder: 14,000 fsyncs cost seconds. False where there is no syncfs."""
    import ctypes

    syncfs = getattr(ctypes.CDLL(None, use_errno=True), "syncfs", None)
    if syncfs is None:
        return False
    descriptor = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        if syncfs(descriptor) == 0:
            return True
    finally:
        os.close(descriptor)
    code = ctypes.get_errno()
    if code in (errno.ENOSYS, errno.EPERM):  # EPERM: a seccomp filter's answer
        return False
    raise OSError(code, os.strerror(code), str(folder))


def _sync_each(staging: Path, writes: dict[str, bytes], stale: list[str], touched: set[str] | None) -> None:
    """Without syncfs: each written file, then the folders whose entries changed (all of them where the
    tree was copied rather than mirrored from the spare, whose other folders were synced when made)."""
    for path in writes:
        descriptor = os.open(staging / Path(path).relative_to(OUTPUT_DIR), os.O_RDONLY | os.O_NOFOLLOW)
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)
    if touched is None:
        _sync_tree(staging)
        return
    for folder in {Path(path).parent for path in (*writes, *stale)}:
        touched.update(_folders_above(staging, folder))
    for name in sorted(touched):
        if os.path.isdir(name):  # not a folder that a pruned model's files took with them
            _fsync_folder(Path(name))


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
