"""The plan of a whole project by the hash of its inputs (the cache `plans`, store.py).

Most compiles, `--check`s and bases of `mlplat plan` see inputs that an earlier clean compile saw
already. Their plan is that compile's plan: its list of files with their hashes, the contents read
from the tree it wrote (render_cache.py), and nothing is loaded, checked or rendered. The key hashes
the code that loads, checks and renders (fingerprint.project_code_version) and every input file as
bytes: all of platform/ and specs/ (the training code beside each spec too, which the check parses),
and each environment's releases.yaml and evidence/. A link or special file among them, or a compile
interrupted mid-swap, gives no key: the full path reports them. Entries are written only for a
project without errors; a bad entry is a miss.
"""

from __future__ import annotations

import hashlib
import os
import re
import stat
from collections.abc import Callable
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from compiler.pipeline.incremental import fingerprint
from compiler.pipeline.incremental.render_cache import CachedFile, CorruptContent, RenderCache
from compiler.pipeline.incremental.store import Entries
from compiler.pipeline.plan_files import Plan, PlannedFile
from compiler.pipeline.tree_swap import BACKUP, OUTPUT_DIR

KIND = "plans"
FORMAT = 1  # of the digest
INPUT_FOLDERS = ("platform", "specs")
_HEX64 = re.compile(r"[0-9a-f]{64}")
_FIELDS = tuple(f.name for f in fields(CachedFile))


@dataclass(frozen=True)
class ProjectPlan:
    """A clean project's plan, and what `compile` and `validate` say about the project."""

    plan: Plan
    models: int
    environments: int


def inputs_digest(root: Path) -> str | None:
    """SHA-256 of the code and of every input file (path and bytes); None where the inputs hold a link or
    a special file, or a compile was interrupted: then only the full path says the right thing."""
    if os.path.lexists(root / BACKUP):
        return None
    paths: list[str] = []
    for folder in INPUT_FOLDERS:
        if not _regular_files(root, folder, paths):
            return None
    output = root / OUTPUT_DIR
    if os.path.lexists(output):
        if not _is_dir(output):
            return None
        for env in sorted(os.listdir(output)):
            if not _is_dir(output / env):
                continue  # a file beside the environments (the index, notes): not read by the check
            releases = f"{OUTPUT_DIR}/{env}/releases.yaml"
            if os.path.lexists(root / releases):
                if not _is_file(root / releases):
                    return None
                paths.append(releases)
            if not _regular_files(root, f"{OUTPUT_DIR}/{env}/evidence", paths):
                return None
    hashes = []
    for path in paths:
        with open(os.path.join(root, path), "rb") as file:
            hashes.append((path, hashlib.file_digest(file, "sha256").hexdigest()))
    return _combined(hashes)


def files_digest(files: dict[str, bytes]) -> str:
    """inputs_digest of a folder holding exactly `files` (relative path -> bytes: a commit's blobs, so no
    file stands where a folder does), computed without writing them: `mlplat plan` asks the memo for a
    base commit's plan before it exports the commit."""
    return _combined([(path, hashlib.sha256(content).hexdigest()) for path, content in files.items()
                      if _read_by_inputs_digest(path.split("/"))])


def _read_by_inputs_digest(parts: list[str]) -> bool:
    """Whether inputs_digest reads a file at this path: below platform/ or specs/ (not in __pycache__),
    an environment's releases.yaml, or below its evidence/."""
    if parts[0] in INPUT_FOLDERS:
        return len(parts) > 1 and "__pycache__" not in parts[1:-1]
    if parts[0] != OUTPUT_DIR:
        return False
    return (len(parts) == 3 and parts[2] == "releases.yaml") or (len(parts) >= 4 and parts[2] == "evidence")


def _combined(hashes: list[tuple[str, str]]) -> str:
    digest = hashlib.sha256(f"{FORMAT}\n{fingerprint.project_code_version()}\n".encode())
    for path, sha256 in sorted(hashes):
        digest.update(f"{path}\0{sha256}\n".encode())
    return digest.hexdigest()


def _regular_files(root: Path, folder: str, found: list[str]) -> bool:
    """Add the files below `folder` (absent is empty); False where a link or special file is there."""
    top = root / folder
    if not os.path.lexists(top):
        return True
    if not _is_dir(top):
        return False
    pending = [folder]
    while pending:
        here = pending.pop()
        with os.scandir(os.path.join(root, here)) as entries:
            for entry in entries:
                relative = f"{here}/{entry.name}"
                if entry.is_dir(follow_symlinks=False):
                    if entry.name != "__pycache__":  # written by whoever ran the code, never read by the check
                        pending.append(relative)
                elif entry.is_file(follow_symlinks=False):
                    found.append(relative)
                else:
                    return False
    return True


def _is_dir(path: Path) -> bool:
    return stat.S_ISDIR(os.lstat(path).st_mode)


def _is_file(path: Path) -> bool:
    return stat.S_ISREG(os.lstat(path).st_mode)


class PlanMemo:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.entries = Entries(root, KIND)
        self.enabled = self.entries.enabled

    def get(self, digest: str, cache: RenderCache, full_plan: Callable[[], Plan]) -> ProjectPlan | None:
        """The stored plan, its contents read through `cache` when asked for; `full_plan` stands in for a
        content that the tree no longer holds. None where there is no good entry."""
        entry = self._read(digest) if self.enabled else None
        if entry is None:
            return None
        fallback = _Once(full_plan)
        files = tuple(PlannedFile(**dict(zip(_FIELDS, row, strict=True)),
                                  read=_reader(cache, row[0], row[-1], fallback)) for row in entry["files"])
        return ProjectPlan(Plan(files, tuple(entry["notes"])), entry["models"], entry["environments"])

    def put(self, digest: str, planned: ProjectPlan) -> None:
        """Store a clean project's plan (every file is a render cache unit's, its content found as theirs)."""
        if self.enabled:
            self.entries.put(digest, {"models": planned.models, "environments": planned.environments,
                                      "notes": list(planned.plan.notes),
                                      "files": [[getattr(f, name) for name in _FIELDS] for f in planned.plan.files]})

    def _read(self, digest: str) -> dict[str, Any] | None:
        entry = self.entries.get(digest)
        good = (isinstance(entry, dict)
                and isinstance(entry.get("models"), int) and isinstance(entry.get("environments"), int)
                and isinstance(entry.get("notes"), list) and all(isinstance(n, str) for n in entry["notes"])
                and isinstance(entry.get("files"), list)
                and all(isinstance(row, list) and len(row) == len(_FIELDS) and all(isinstance(v, str) for v in row)
                        and _HEX64.fullmatch(row[-1]) for row in entry["files"]))
        return entry if good else None


class _Once:
    """The full plan, built the first time a memo's content cannot be read."""

    def __init__(self, build: Callable[[], Plan]) -> None:
        self.build = build
        self.plan: dict[str, PlannedFile] | None = None

    def content(self, path: str) -> bytes | None:
        if self.plan is None:
            self.plan = self.build().by_path()
        found = self.plan.get(path)
        return found.content if found is not None else None


def _reader(cache: RenderCache, path: str, sha256: str, fallback: _Once) -> Callable[[], bytes]:
    def read() -> bytes:
        try:
            return cache.content(path, sha256)
        except CorruptContent:  # not in the tree as it was: the full plan renders it again
            again = fallback.content(path)
            if again is None or hashlib.sha256(again).hexdigest() != sha256:
                raise CorruptContent(f"the plan memo disagrees with the specs for {path}; delete "
                                     f"{cache.folder} and compile again") from None
            return again

    return read
