"""The render cache: rendered files by the hash of their inputs (fingerprint.py; the cache `render`).

An entry lists one unit's files (a model in an environment, an environment's own objects, a model
card) with each file's path, plan metadata and SHA-256. The bytes themselves are not stored again:
a compile writes every file it renders into the tree, so a cached file's content is read where the
tree holds it (environments/ or the spare tree the last compile replaced, tree_swap.py) and used only
if it hashes to the entry's SHA-256; where neither does (a hand edit, another branch's output), the
unit is rendered again (plan.py). Storing 14,000 contents a second time cost a cold compile seconds,
and they are needed only for the few files a write or a diff reads.

An entry is store.py's (in the checkout's git directory, where no commit reaches); one that does not
list files as written here is a miss and the unit is rendered again. The cache holds only what the
compiler would render again; deleting it costs one cold compile.
"""

from __future__ import annotations

import hashlib
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from compiler.pipeline.incremental.store import Entries
from compiler.pipeline.tree_swap import OUTPUT_DIR, SPARE

FORMAT = 2  # of the keys (fingerprint.py)
KIND = "render"
_META = ("path", "environment", "kind", "name", "namespace", "source", "renderer")


@dataclass(frozen=True)
class CachedFile:
    """What a plan knows of a file besides its bytes (plan.PlannedFile adds the bytes)."""

    path: str
    environment: str
    kind: str
    name: str
    namespace: str
    source: str
    renderer: str
    sha256: str


class CorruptContent(Exception):
    """A cached file's content is not where the tree should hold it, or not what its hash says."""


class RenderCache:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.entries = Entries(root, KIND)
        self.folder = self.entries.folder
        self.enabled = self.entries.enabled
        self.hits = 0
        self.misses = 0

    def get(self, key: str) -> list[CachedFile] | None:
        """The unit's files, or None: absent, unreadable, foreign or incomplete entries are misses."""
        files = self._read(key) if self.enabled else None
        if files is None:
            self.misses += 1
        else:
            self.hits += 1
        return files

    def _read(self, key: str) -> list[CachedFile] | None:
        listed = self.entries.get(key)
        if not isinstance(listed, list):
            return None
        try:
            files = [CachedFile(**{name: item[name] for name in (*_META, "sha256")}) for item in listed]
        except (TypeError, KeyError):  # not a list of files
            return None
        if not all(isinstance(v, str) for f in files for v in vars(f).values()):
            return None
        return files  # a content that is missing or damaged when read is rendered again (plan.py)

    def content(self, path: str, sha256: str) -> bytes:
        """The file's bytes from the tree (or the spare tree), if they hash to `sha256`."""
        places = [path]
        if path.startswith(f"{OUTPUT_DIR}/"):
            places.append(f"{SPARE}/{path.removeprefix(f'{OUTPUT_DIR}/')}")
        for place in places:
            data = _read_no_links(self.root, place)
            if data is not None and hashlib.sha256(data).hexdigest() == sha256:
                return data
        raise CorruptContent(f"{path} is not in the tree as the render cache lists it")

    def put(self, key: str, files: list[CachedFile]) -> None:
        """Store a unit; a failure to write (a read-only or full disk) only costs the next compile."""
        if self.enabled:
            self.entries.put(key, [{name: getattr(f, name) for name in (*_META, "sha256")} for f in files])


def _read_no_links(root: Path, path: str) -> bytes | None:
    """A regular file's bytes below `root`, opened a component at a time without following a link (the
    tree is the working copy: a branch can commit links there), or None."""
    parts = path.split("/")
    if any(part in ("", ".", "..") for part in parts):
        return None
    opened: list[int] = []
    try:
        opened.append(os.open(root, os.O_RDONLY | os.O_DIRECTORY))
        for folder in parts[:-1]:
            opened.append(os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=opened[-1]))
        # O_NONBLOCK: a fifo put where a file was expected must not hang the compile
        opened.append(os.open(parts[-1], os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK, dir_fd=opened[-1]))
        if not stat.S_ISREG(os.fstat(opened[-1]).st_mode):
            return None
        with os.fdopen(opened.pop(), "rb") as file:
            return file.read()
    except OSError:
        return None
    finally:
        for descriptor in opened:
            os.close(descriptor)
