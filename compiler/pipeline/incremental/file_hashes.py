"""Each file's SHA-256, read again only where the file's stat changed since it was last hashed (the
cache `hashes`, store.py).

A compile hashes two sets of files: its inputs, for the plan memo's key (plan_memo.py), and the tree it
wrote, to find what changed (write.py). At a thousand models that is some 3,000 and 17,000 files, about
150 MB, on every compile. A record remembers, for each file hashed, its device, inode, size, modification
and change times and SHA-256; a file whose stat is the same is not read again.

As in git's index, a file changed within the same tick of the file system's clock as it was recorded can
keep its stat. So an entry is trusted only where both of the file's times are older than the record itself
(the record file's own modification time, from the same clock): a "racily clean" file is hashed again,
and the next record, written later, trusts it. No clock is read.
"""

from __future__ import annotations

import hashlib
import os
import stat
from pathlib import Path

from compiler.pipeline.incremental.store import Entries

KIND = "hashes"


class FileHashes:
    """One record (`name`: inputs, or the tree written) of the files below `root`, by relative path, kept
    in root's caches; with `recorded=False` none is read or kept (every file is hashed)."""

    def __init__(self, root: Path, name: str, recorded: bool = True) -> None:
        self.root = root
        self._prefix = f"{root}{os.sep}"  # joined as strings: os.path.join costs more than a stat here
        self.entries = Entries(root, KIND) if recorded else None
        self.key = hashlib.sha256(f"file-hashes\0{name}".encode()).hexdigest()
        self._record: dict[str, tuple[str, str]] | None = None  # path -> (signature, SHA-256), as loaded
        self._written = 0  # when the record was written (ns, the file system's clock)
        self._seen: dict[str, tuple[str, str]] = {}
        self._new = False  # a file hashed anew, or the set of files changed: the record is worth writing

    def sha256(self, path: str) -> str | None:
        """The SHA-256 of the file at `path` (followed as open() follows it); None where nothing can be read
        there (no such file, a folder)."""
        full = self._prefix + path
        try:
            status = os.stat(full)
        except (FileNotFoundError, NotADirectoryError):
            return None
        if stat.S_ISDIR(status.st_mode):
            return None
        if not stat.S_ISREG(status.st_mode):  # never recorded (callers refuse special files before this)
            return _hash(full)
        signature = _signature(status)
        known = self._loaded().get(path)
        if known is not None and known[0] == signature and max(status.st_mtime_ns, status.st_ctime_ns) < self._written:
            self._seen[path] = known
            return known[1]
        sha256 = _hash(full)
        if sha256 is not None and _recordable(path):
            self._seen[path] = (signature, sha256)
            self._new = True
        return sha256

    def written(self, path: str, sha256: str) -> None:
        """`path` was just written with content of this hash (recorded without reading it back)."""
        try:
            status = os.stat(self._prefix + path)
        except OSError:
            self._seen.pop(path, None)
            return
        self._seen[path] = (_signature(status), sha256)
        self._new = True

    def linked(self, path: str) -> None:
        """`path` gained or lost a hard link (the writer's spare tree): its change time moved, its content did
        not. It keeps its hash where nothing else of its stat moved."""
        known = self._seen.get(path)
        try:
            status = os.stat(self._prefix + path)
        except OSError:
            return
        signature = _signature(status)
        if known is not None and known[0].rsplit(":", 1)[0] == signature.rsplit(":", 1)[0]:
            self._seen[path] = (signature, known[1])
            self._new = True

    def relinked(self, paths: list[str]) -> None:
        """This record, not otherwise read this run, after the writer linked `paths` anew (inputs kept in
        environments/, such as releases.yaml and evidence): where nothing but their change time moved, their
        entries follow it. Entries the record did not trust are left out of what is written back."""
        if not paths:
            return
        self._seen = {path: entry for path, entry in self._loaded().items() if _times(entry[0]) < self._written}
        for path in paths:
            if path in self._seen:
                self.linked(path)
        self.save()

    def save(self) -> None:
        """Keep what this run saw for the next one (nothing is written where nothing changed)."""
        if self.entries is None or not (self._new or self._seen.keys() != self._loaded().keys()):
            return
        self.entries.put(self.key, "".join(f"{path}\t{signature}\t{sha256}\n"
                                           for path, (signature, sha256) in self._seen.items()))

    def _loaded(self) -> dict[str, tuple[str, str]]:
        """The record as last saved: a line per file, `path TAB signature TAB sha256` (one string, which
        JSON reads at C speed: 17,000 small lists cost several times more)."""
        if self._record is None:
            self._record = {}
            stamped = self.entries.get_stamped(self.key) if self.entries is not None else None
            if stamped is not None and isinstance(stamped[0], str):
                try:
                    self._record = {path: (signature, sha256) for path, signature, sha256
                                    in (line.split("\t") for line in stamped[0].split("\n")[:-1])}
                    self._written = stamped[1]
                except ValueError:  # a damaged record: every file is hashed again
                    self._record = {}
        return self._record


def _times(signature: str) -> int:
    """The later of a signature's two times."""
    *_, modified, changed = signature.split(":")
    return max(int(modified), int(changed)) if modified.isdigit() and changed.isdigit() else 2**63


def _signature(status: os.stat_result) -> str:
    """What a file's content is taken to be the same by: device, inode, size, modification and change time."""
    return f"{status.st_dev}:{status.st_ino}:{status.st_size}:{status.st_mtime_ns}:{status.st_ctime_ns}"


def _recordable(path: str) -> bool:
    """A path the record's lines can hold (a team may name its files anything; those are hashed each time)."""
    return "\t" not in path and "\n" not in path


def _hash(full: str) -> str | None:
    try:
        with open(full, "rb") as file:
            return hashlib.file_digest(file, "sha256").hexdigest()
    except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
        return None
