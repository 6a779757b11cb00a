"""Where the team's code is, and which commit it is: what the train step records as the run's lineage.

In a workflow pod the code is Argo's clone of the platform repository (renderers/argo.py) and
MLPLAT_CODE_DIR is the spec's folder inside it; with `mlplat run` it is the spec's folder in the work
tree. MLPLAT_GIT_COMMIT is what was asked for: a commit, or a branch (scheduled and drift-triggered
runs), whose head the clone then holds. The clone's own HEAD is the truth, read without a git binary
(the runtime image has none).
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

UNKNOWN = "unknown"
_SHA = re.compile(r"^[0-9a-f]{40}(-dirty)?$")


class CodeError(Exception):
    """The checked-out code is not the commit the run was asked to train from."""


def make_importable() -> None:
    """Put the team's code (MLPLAT_CODE_DIR) first on the import path: the entry point lives there, and
    so do any classes a pickled scikit-learn model refers to."""
    code_dir = os.environ.get("MLPLAT_CODE_DIR")
    if code_dir and code_dir not in sys.path:
        sys.path.insert(0, code_dir)


def commit_of_run(requested: str | None, code_dir: str | None) -> str:
    """The commit a run trains from: the checkout's HEAD, which must agree with a requested commit."""
    checkout = checkout_commit(Path(code_dir)) if code_dir else None
    if requested and _SHA.match(requested):
        if checkout and checkout != requested[:40]:
            raise CodeError(f"the code at {code_dir} is commit {checkout}, not the requested {requested}")
        return requested
    if checkout:
        return checkout
    if requested and requested != UNKNOWN:
        raise CodeError(f"git-commit {requested!r} is not a commit, and there is no checkout at "
                        f"{code_dir or '(MLPLAT_CODE_DIR unset)'} to resolve it in")
    return UNKNOWN


def checkout_commit(start: Path) -> str | None:
    """HEAD's commit of the git work tree holding `start`, or None outside one."""
    for folder in (start, *start.parents):
        dot_git = folder / ".git"
        if dot_git.is_file():  # a linked work tree or submodule: "gitdir: <path>"
            target = dot_git.read_text().strip().removeprefix("gitdir:").strip()
            return _head(Path(folder, target))
        if dot_git.is_dir():
            return _head(dot_git)
    return None


def _head(git_dir: Path) -> str | None:
    head = (git_dir / "HEAD").read_text().strip()
    if not head.startswith("ref:"):
        return head  # detached, as Argo's clone at a revision is
    ref = head.removeprefix("ref:").strip()
    common = _common_dir(git_dir)
    for base in (git_dir, common):
        loose = base / ref
        if loose.is_file():
            return loose.read_text().strip()
    packed = common / "packed-refs"
    if packed.is_file():
        for line in packed.read_text().splitlines():
            sha, _, name = line.partition(" ")
            if name == ref:
                return sha
    return None  # a branch without commits


def _common_dir(git_dir: Path) -> Path:
    common = git_dir / "commondir"
    return (git_dir / common.read_text().strip()).resolve() if common.is_file() else git_dir
