"""The render cache: rendered files by the hash of their inputs (fingerprint.py), under .mlplat/cache/.

An entry lists one unit's files (a model in an environment, an environment's own objects, a model
card) with each file's path, plan metadata and SHA-256; contents are stored once each, named by
their SHA-256. Nothing read from here is trusted: an entry must parse, name its own key, match its
checksum and carry this checkout's signature (cache_dir.py), or it is
a miss and the unit is rendered again; a content is checked against its hash when it is read. The
cache lives inside the repository (gitignored) and holds only what the compiler would render again;
deleting it costs one cold compile.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from compiler.pipeline.cache_dir import CACHE_ROOT, signature, signed, usable, write_atomically

FORMAT = 1  # of the entries here and of the keys (fingerprint.py)
CACHE_DIR = f"{CACHE_ROOT}/render"
_HEX64 = re.compile(r"[0-9a-f]{64}")
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
    """A stored content does not hash to its name (the disk or someone changed it)."""


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

    def content(self, sha256: str) -> bytes:
        data = self._content(sha256).read_bytes()
        if hashlib.sha256(data).hexdigest() != sha256:
            raise CorruptContent(f"{self._content(sha256)} does not match its hash")
        return data

    def put(self, key: str, files: list[tuple[CachedFile, bytes]]) -> None:
        """Store a unit; a failure to write (a read-only or full disk) only costs the next compile."""
        if not self.enabled:
            return
        try:
            for file, content in files:
                target = self._content(file.sha256)
                if not target.is_file():
                    write_atomically(target, content)
            listed = [{name: getattr(f, name) for name in (*_META, "sha256")} for f, _ in files]
            checksum = _checksum(key, listed)
            entry = {"format": FORMAT, "key": key, "checksum": checksum, "files": listed,
                     "signature": signature(self.root, checksum.encode())}
            write_atomically(self._entry(key), json.dumps(entry, sort_keys=True).encode())
        except OSError:
            pass

    def _entry(self, key: str) -> Path:
        return self.folder / "entries" / key[:2] / f"{key}.json"

    def _content(self, sha256: str) -> Path:
        return Path(self._content_name(sha256))

    def _content_name(self, sha256: str) -> str:
        if not _HEX64.fullmatch(sha256):
            return os.path.join(self.folder, "invalid")  # a name from a broken entry never leaves the folder
        return os.path.join(self.folder, "contents", sha256[:2], sha256)


def _checksum(key: str, files: Any) -> str:
    return hashlib.sha256(json.dumps([key, files], sort_keys=True).encode()).hexdigest()
