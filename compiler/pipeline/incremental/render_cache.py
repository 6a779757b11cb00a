"""The render cache: rendered files by the hash of their inputs (fingerprint.py), under .mlplat/cache/.

An entry lists one unit's files (a model in an environment, an environment's own objects, a model
card) with each file's path, plan metadata and SHA-256. The bytes themselves are not stored again:
a compile writes every file it renders into the tree, so a cached file's content is read where the
tree holds it (environments/ or the spare tree the last compile replaced, tree_swap.py) and used only
if it hashes to the entry's SHA-256; where neither does (a hand edit, another branch's output), the
unit is rendered again (plan.py). Storing 14,000 contents a second time cost a cold compile seconds,
and they are needed only for the few files a write or a diff reads.

Nothing read from here is trusted: an entry must parse, name its own key, match its checksum and
carry this checkout's signature (cache_dir.py), or it is a miss and the unit is rendered again. The
cache lives inside the repository (gitignored) and holds only what the compiler would render again;
deleting it costs one cold compile.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from compiler.pipeline.incremental.cache_dir import CACHE_ROOT, signature, signed, usable, write_atomically
from compiler.pipeline.tree_swap import OUTPUT_DIR, SPARE

FORMAT = 2  # of the entries here and of the keys (fingerprint.py)
CACHE_DIR = f"{CACHE_ROOT}/render"
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
        self.folder = root / CACHE_DIR
        self.enabled = usable(root, CACHE_DIR)
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
        try:
            entry = json.loads(self._entry(key).read_bytes())
            if not (isinstance(entry, dict) and entry.get("format") == FORMAT and entry.get("key") == key
                    and entry.get("checksum") == _checksum(key, entry.get("files"))
                    and signed(self.root, entry["checksum"].encode(), entry.get("signature"))):
                return None
            files = [CachedFile(**{name: item[name] for name in (*_META, "sha256")}) for item in entry["files"]]
        except (OSError, ValueError, TypeError, KeyError):
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
        if not self.enabled:
            return
        try:
            listed = [{name: getattr(f, name) for name in (*_META, "sha256")} for f in files]
            checksum = _checksum(key, listed)
            entry = {"format": FORMAT, "key": key, "checksum": checksum, "files": listed,
                     "signature": signature(self.root, checksum.encode())}
            write_atomically(self._entry(key), json.dumps(entry, sort_keys=True).encode())
        except OSError:
            pass

    def _entry(self, key: str) -> Path:
        return self.folder / "entries" / key[:2] / f"{key}.json"


def _checksum(key: str, files: Any) -> str:
    return hashlib.sha256(json.dumps([key, files], sort_keys=True).encode()).hexdigest()


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
