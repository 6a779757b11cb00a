"""The plan of a whole project by the hash of its inputs (the cache `plans`, store.py).

Most compiles, `--check`s and bases of `mlplat plan` see inputs that an earlier clean compile saw
already. Their plan is that compile's plan: its list of files with their hashes, the contents read
from the tree it wrote (render_cache.py), and nothing is loaded, checked or rendered. The key hashes
the code that loads, checks and renders (fingerprint.project_code_version) and every input file as
bytes: all of platform/ and specs/ (the training code beside each spec too, which the check parses),
and each environment's releases.yaml and evidence/. A link or special file among them, or a compile
interrupted mid-swap, gives no key: the full path reports them. Entries are written only for a
project without errors; a bad entry is a miss.

The inputs are hashed in two kinds: a team's model folders (specs/<team>/<folder>/...), and everything
else with the code (the common digest). A plan is stored by parts (plan_files.PlanParts): each team's
part under the common digest and that team's, the shared files in the plan's own entry, and for each
common digest a pointer to the latest plan stored with it. So a compile after a change inside one team's
folders finds the plan it starts from (project_plan.py), and writes that team's part alone.
"""

from __future__ import annotations

import functools
import hashlib
import os
import re
import stat
from collections.abc import Callable
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from compiler.pipeline.incremental import fingerprint
from compiler.pipeline.incremental.file_hashes import FileHashes
from compiler.pipeline.incremental.render_cache import CachedFile, CorruptContent, RenderCache
from compiler.pipeline.incremental.store import Entries
from compiler.pipeline.plan_files import Plan, PlannedFile, PlanParts, TeamPart
from compiler.pipeline.tree_swap import BACKUP, OUTPUT_DIR

KIND = "plans"
FORMAT = 2  # of the digest
INPUT_FOLDERS = ("platform", "specs")
_HEX64 = re.compile(r"[0-9a-f]{64}")
_FIELDS = tuple(f.name for f in fields(CachedFile))
# a team's part planned again (the team, the other teams' models), or None where it cannot be alone
TeamPlan = Callable[[str, frozenset[str]], Plan | None]
TEAMS_ALONE_AT_MOST = 4  # teams of one stored plan planned again alone; past that, the whole project once


@dataclass(frozen=True)
class ProjectPlan:
    """A clean project's plan by parts, and what `compile` and `validate` say about the project."""

    parts: PlanParts

    @functools.cached_property
    def plan(self) -> Plan:
        return self.parts.plan()

    @property
    def models(self) -> int:
        return self.parts.models

    @property
    def environments(self) -> int:
        return self.parts.environments


@dataclass(frozen=True)
class InputDigests:
    """The inputs' digests: `whole` keys the memo; `common` hashes the code and every input outside a model's
    folder, and `teams` each team's model folders (specs/<team>/<folder>/...), which its part of the plan
    depends on, with the common inputs (project_plan.py plans a changed team alone)."""

    whole: str
    common: str
    teams: dict[str, str]


def inputs_digest(root: Path, hashes: FileHashes | None = None) -> InputDigests | None:
    """SHA-256 of the code and of every input file (path and bytes); None where the inputs hold a link or
    a special file, or a compile was interrupted: then only the full path says the right thing. The files
    are hashed through `hashes` (a record of what an earlier run read) where given."""
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
    hashes = hashes or FileHashes(root, "inputs")
    found = []
    for path in paths:
        sha256 = hashes.sha256(path)
        if sha256 is None:  # gone while listed
            return None
        found.append((path, sha256))
    return _digests(found)


def files_digest(files: dict[str, bytes]) -> InputDigests:
    """inputs_digest of a folder holding exactly `files` (relative path -> bytes: a commit's blobs, so no
    file stands where a folder does), computed without writing them: `mlplat plan` asks the memo for a
    base commit's plan before it exports the commit."""
    return _digests([(path, hashlib.sha256(content).hexdigest()) for path, content in files.items()
                     if read_by_inputs_digest(path)])


def read_by_inputs_digest(path: str) -> bool:
    """Whether inputs_digest reads a file at this path (relative to the repository): below platform/ or
    specs/ (not in __pycache__), an environment's releases.yaml, or below its evidence/."""
    parts = path.split("/")
    if parts[0] in INPUT_FOLDERS:
        return len(parts) > 1 and "__pycache__" not in parts[1:-1]
    if parts[0] != OUTPUT_DIR:
        return False
    return (len(parts) == 3 and parts[2] == "releases.yaml") or (len(parts) >= 4 and parts[2] == "evidence")


def _digests(hashes: list[tuple[str, str]]) -> InputDigests:
    by_team: dict[str, list[tuple[str, str]]] = {}
    common: list[tuple[str, str]] = []
    for path, sha256 in hashes:
        parts = path.split("/", 3)
        if parts[0] == "specs" and len(parts) == 4:  # a file in a folder of a team's folder
            by_team.setdefault(parts[1], []).append((path, sha256))
        else:
            common.append((path, sha256))
    head = f"{FORMAT}\n{fingerprint.project_code_version()}\n"
    common_digest = _combined(head, common)
    teams = {team: _combined(head, found) for team, found in sorted(by_team.items())}
    whole = _combined(head, [("", common_digest), *teams.items()])  # "": no team's folder has that name
    return InputDigests(whole, common_digest, teams)


def _combined(head: str, hashes: list[tuple[str, str]]) -> str:
    digest = hashlib.sha256(head.encode())
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
    """Plans by their inputs' whole digest, and for each common digest the latest plan stored with it: a
    project whose common inputs are those of an earlier clean compile is planned from that compile's plan
    and the teams that changed since (project_plan.py)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.entries = Entries(root, KIND)
        self.enabled = self.entries.enabled

    def get(self, digest: str, cache: RenderCache, full_plan: Callable[[], Plan],
            team_plan: TeamPlan | None = None) -> ProjectPlan | None:
        """The stored plan, its contents read through `cache` when asked for. A content the tree no longer
        holds is planned again: a team's by `team_plan` where given (the team, and the other teams' models),
        else, and for the shared files, by `full_plan`. None where there is no good entry."""
        found = self._stored(digest, cache, full_plan, team_plan)
        return found[0] if found is not None else None

    def latest(self, common: str, cache: RenderCache, full_plan: Callable[[], Plan],
               team_plan: TeamPlan | None = None) -> tuple[ProjectPlan, dict[str, str]] | None:
        """The plan last stored with these common inputs, and its teams' digests."""
        pointer = self.entries.get(_latest_key(common)) if self.enabled else None
        if not (isinstance(pointer, str) and _HEX64.fullmatch(pointer)):
            return None
        found = self._stored(pointer, cache, full_plan, team_plan)
        return (found[0], found[1]) if found is not None and found[2] == common else None

    def put(self, digests: InputDigests, planned: ProjectPlan) -> None:
        """Store a clean project's plan (every file is a render cache unit's, its content found as theirs):
        each team's part under its own key, written where it is not stored yet, so that a compile after a
        one-spec change writes one team's part, and the plan's own entry listing them."""
        parts = planned.parts
        if not self.enabled or not parts.teams.keys() <= digests.teams.keys():
            return  # a team with a model has files in its folder: otherwise the plan is not the inputs'
        empty = TeamPart((), (), (), ())
        for team, digest in digests.teams.items():
            key = _team_key(digests.common, team, digest)
            if not self.entries.has(key):
                part = parts.teams.get(team, empty)
                self.entries.put(key, {"names": list(part.names), "environments": list(part.environments),
                                       "notes": [list(note) for note in part.notes], "files": _rows(part.files)})
        self.entries.put(digests.whole, {"environments": parts.environments, "common": digests.common,
                                         "shared": _rows(parts.shared), "teams": digests.teams})
        self.entries.put(_latest_key(digests.common), digests.whole)

    def _stored(self, digest: str, cache: RenderCache, full_plan: Callable[[], Plan], team_plan: TeamPlan | None
                ) -> tuple[ProjectPlan, dict[str, str], str] | None:
        entry = self.entries.get(digest) if self.enabled else None
        if not (isinstance(entry, dict) and isinstance(entry.get("environments"), int)
                and isinstance(entry.get("common"), str) and isinstance(entry.get("teams"), dict)
                and all(isinstance(d, str) for d in entry["teams"].values())):
            return None
        fallback = _Once(full_plan)
        shared = _files(entry.get("shared"), cache, fallback)
        if shared is None:
            return None
        teams: dict[str, TeamPart] = {}

        def others(team: str) -> frozenset[str]:  # asked only once every part is read
            return frozenset(name for other, part in teams.items() if other != team for name in part.names)

        alone = [TEAMS_ALONE_AT_MOST]  # how many more teams may be planned alone (shared by them)
        for team, digest in entry["teams"].items():
            key = _team_key(entry["common"], team, digest)
            again = fallback if team_plan is None else _TeamOnce(team, team_plan, others, fallback, alone)
            part = _team_part(self.entries.get(key), cache, again)
            if part is None:
                self.entries.drop(key)  # put writes a part only where none is stored
                return None
            if part.names:  # a folder of code without a model.yaml counts in the digests only
                teams[team] = part
        return ProjectPlan(PlanParts(shared, teams, entry["environments"])), entry["teams"], entry["common"]


def _team_key(common: str, team: str, digest: str) -> str:
    """A team's part depends on the common inputs (the code among them) and its own folders' files."""
    return hashlib.sha256(f"team\0{common}\0{team}\0{digest}".encode()).hexdigest()


def _latest_key(common: str) -> str:
    return hashlib.sha256(f"latest\0{common}".encode()).hexdigest()


def _rows(files: tuple[PlannedFile, ...]) -> list[list[str]]:
    return [[getattr(f, name) for name in _FIELDS] for f in files]


def _team_part(stored: Any, cache: RenderCache, fallback: _Once | _TeamOnce) -> TeamPart | None:
    if not (isinstance(stored, dict) and _strings(stored.get("names"))
            and _strings(stored.get("environments")) and isinstance(stored.get("notes"), list)
            and all(isinstance(n, list) and len(n) == 3 and type(n[0]) is int and isinstance(n[1], str)
                    and isinstance(n[2], str) for n in stored["notes"])):
        return None
    files = _files(stored.get("files"), cache, fallback)
    if files is None:
        return None
    return TeamPart(files, tuple((n[0], n[1], n[2]) for n in stored["notes"]), tuple(stored["names"]),
                    tuple(stored["environments"]))


def _strings(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


def _files(rows: Any, cache: RenderCache, fallback: _Once | _TeamOnce) -> tuple[PlannedFile, ...] | None:
    """A stored list of files, each read through `cache` when asked for; None where the list is damaged."""
    if type(rows) is not list:
        return None
    files = []
    for row in rows:  # 17,000 rows at a thousand models: checked in one pass, fields by position
        if type(row) is not list or len(row) != len(_FIELDS) or set(map(type, row)) != {str} \
                or not _HEX64.fullmatch(row[-1]):
            return None
        path, environment, kind, name, namespace, source, renderer, sha256 = row
        files.append(PlannedFile(path, environment, kind, name, namespace, source, renderer, sha256,
                                 _reader(cache, path, sha256, fallback)))
    return tuple(files)


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


class _TeamOnce:
    """A team's files planned again once: the team alone, while `alone` allows and the whole project has not
    been planned again already; else from the whole project's plan (`whole`), which every team shares. Each
    team alone loads the platform, features and releases again and keeps its own plan: past a few teams,
    planning the whole project once costs less, in memory above all."""

    def __init__(self, team: str, team_plan: TeamPlan, others: Callable[[str], frozenset[str]], whole: _Once,
                 alone: list[int]) -> None:
        self.team, self.team_plan, self.others, self.whole, self.alone = team, team_plan, others, whole, alone
        self.plan: dict[str, PlannedFile] | None = None

    def content(self, path: str) -> bytes | None:
        if self.plan is None and self.whole.plan is None and self.alone[0] > 0:
            self.alone[0] -= 1
            planned = self.team_plan(self.team, self.others(self.team))
            self.plan = planned.by_path() if planned is not None else None
        if self.plan is None:
            return self.whole.content(path)
        found = self.plan.get(path)
        return found.content if found is not None else None


def _reader(cache: RenderCache, path: str, sha256: str, fallback: _Once | _TeamOnce) -> Callable[[], bytes]:
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
