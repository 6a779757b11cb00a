"""Where the compiler's caches live, and the one form of their entries.

A cache is the compiler's own earlier output, so it is kept where no commit can put a file: in the
checkout's git directory, .git/mlplat/cache/. A branch can commit anything in the work tree, .mlplat/
included, but nothing in .git/, so an entry there needs no signature. A folder that is no git checkout
(a copy: no branch can be checked out into it) keeps its caches in .mlplat/cache/. A worktree, whose
.git is a file naming a git directory elsewhere, keeps none: that directory is outside the folder, and
nothing outside the repository is written. In CI (CI=true, as GitHub Actions sets it) or with
MLPLAT_CACHE=off nothing is read or written.

Every entry of every cache is one JSON file, `<kind>/<key[:2]>/<key>.json`, holding
{"format": FORMAT, "key": key, "value": ...}, written to a temporary name and renamed into place. It is
good when it parses, has this FORMAT and names its own key; anything else is a miss, and a miss costs
time only (what a cache would have answered is computed again).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from compiler.spec.paths import CACHE_ROOT

FORMAT = 3
GIT_CACHE = "mlplat/cache"  # inside the git directory


def usable(root: Path, folder: str) -> bool:
    """False in CI or where caching is switched off, and where a link is on the way to `folder` (below
    `root`): reading or writing through it would reach outside the repository."""
    if os.environ.get("CI", "").lower() == "true" or os.environ.get("MLPLAT_CACHE", "").lower() == "off":
        return False
    parts = Path(folder).parts
    return not any(root.joinpath(*parts[:depth]).is_symlink() for depth in range(1, len(parts) + 1))


def cache_folder(root: Path) -> Path | None:
    """Where `root`'s caches live; None where none may be kept (CI, switched off, a link on the way)."""
    git = root / ".git"
    if git.is_dir() and not git.is_symlink():
        return git / GIT_CACHE if usable(root, f".git/{GIT_CACHE}") else None
    if os.path.lexists(git):  # a worktree's .git file, or a link: its git directory is elsewhere
        return None
    return root / CACHE_ROOT if usable(root, CACHE_ROOT) else None


def write_atomically(target: Path, content: bytes) -> None:
    """A temporary file renamed into place: a killed run leaves no half-written entry under the name."""
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    temporary.write_bytes(content)
    os.replace(temporary, target)


class Entries:
    """One cache's entries (`kind`: specs, render, plans) of the repository at `root`."""

    def __init__(self, root: Path, kind: str) -> None:
        base = cache_folder(root)
        self.folder = base / kind if base is not None else None

    @property
    def enabled(self) -> bool:
        return self.folder is not None

    def get(self, key: str) -> Any | None:
        """The value stored under `key`, or None for a missing, damaged or misfiled entry."""
        found = self.get_stamped(key)
        return found[0] if found is not None else None

    def has(self, key: str) -> bool:
        """Whether an entry is stored under `key` (good or not: get says)."""
        return self.folder is not None and self._path(self.folder, key).is_file()

    def drop(self, key: str) -> None:
        """Remove the entry under `key`, if any."""
        if self.folder is not None:
            try:
                self._path(self.folder, key).unlink(missing_ok=True)
            except OSError:
                pass

    def get_stamped(self, key: str) -> tuple[Any, int] | None:
        """The value stored under `key` and the time (ns) its entry was written, by the file system's clock."""
        if self.folder is None:
            return None
        try:
            with open(self._path(self.folder, key), "rb") as file:
                written = os.fstat(file.fileno()).st_mtime_ns
                entry = json.loads(file.read())
        except (OSError, ValueError):  # UnicodeDecodeError is a ValueError
            return None
        good = isinstance(entry, dict) and entry.get("format") == FORMAT and entry.get("key") == key
        return (entry.get("value"), written) if good else None

    def put(self, key: str, value: Any) -> None:
        try:
            text = json.dumps(value, separators=(",", ":"), allow_nan=False)
        except (TypeError, ValueError):  # nothing JSON holds exactly: not kept, as a full disk keeps nothing
            return
        self.put_json(key, text)

    def put_json(self, key: str, value: str) -> None:
        """Store `value`, JSON text already; a cache that cannot be written (a full or read-only disk) costs
        the next run its time, nothing else."""
        if self.folder is None:
            return
        body = f'{{"format":{FORMAT},"key":{json.dumps(key)},"value":{value}}}'
        try:
            write_atomically(self._path(self.folder, key), body.encode())
        except OSError:
            pass

    @staticmethod
    def _path(folder: Path, key: str) -> Path:
        return folder / key[:2] / f"{key}.json"
