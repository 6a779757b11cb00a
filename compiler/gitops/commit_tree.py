"""A commit made beside the work tree: `mlplat promote`, `rollback` and `canary --commit` build their commit
without touching the work tree, the index or HEAD, and create its branch with one ref update.

The tree is HEAD's, read into a temporary index (GIT_INDEX_FILE under .mlplat/commit/, gitignored), with
the changed files written as git objects and the removed ones dropped; then `git write-tree`, `git
commit-tree` and `git update-ref` with the zero id as the old value, which creates the branch only where
it does not exist. A kill at any moment leaves the repository as it was (unreferenced objects, which git
collects, and at most a temporary index, which the next commit removes) or the branch complete.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from compiler.gitops.gitbase import GitError
from compiler.local.leftovers import remove_left_behind
from compiler.spec.paths import COMMIT_SCRATCH

SCRATCH = COMMIT_SCRATCH
ZERO = "0" * 40


def commit_files(root: Path, branch: str, message: str, changes: dict[str, bytes | None]) -> str:
    """A commit on HEAD with `changes` (path relative to `root` -> new bytes, or None to remove the file),
    as the new branch `branch`; the commit's id. GitError where the branch exists or git fails."""
    scratch = root / SCRATCH
    if any(root.joinpath(*Path(SCRATCH).parts[:depth]).is_symlink() for depth in (1, 2)):
        raise GitError(f"{SCRATCH} is a symbolic link: nothing is written through it")
    scratch.mkdir(parents=True, exist_ok=True)
    remove_left_behind(scratch, r"commit-(?P<pid>\d+)-.+")
    work = Path(tempfile.mkdtemp(prefix=f"commit-{os.getpid()}-", dir=scratch))
    env = {**os.environ, "GIT_INDEX_FILE": str(work / "index")}
    try:
        head = _git(root, "rev-parse", "--verify", "HEAD^{commit}").strip()
        prefix = _git(root, "rev-parse", "--show-prefix").strip()
        _git(root, "read-tree", head, env=env)
        contents = {path: content for path, content in changes.items() if content is not None}
        written = sorted(contents)
        for index, path in enumerate(written):  # the new contents as files, for one hash-object of them all
            (work / f"{index}.blob").write_bytes(contents[path])
        names = "".join(f"{work / f'{index}.blob'}\n" for index in range(len(written)))
        blobs = _git(root, "hash-object", "-w", "--stdin-paths", stdin=names).split() if written else []
        entries = [f"100644 {blob}\t{prefix}{path}\n" for path, blob in zip(written, blobs, strict=True)]
        entries += [f"0 {ZERO}\t{prefix}{path}\n" for path, content in sorted(changes.items()) if content is None]
        _git(root, "update-index", "--index-info", stdin="".join(entries), env=env)
        tree = _git(root, "write-tree", env=env).strip()
        commit = _git(root, "commit-tree", tree, "-p", head, "-F", "-", stdin=message).strip()
        _git(root, "update-ref", "-m", f"mlplat: {message.splitlines()[0]}", f"refs/heads/{branch}", commit, ZERO)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return commit


def branch_exists(root: Path, branch: str) -> bool:
    done = subprocess.run(["git", "-C", str(root), "rev-parse", "--verify", "--quiet", f"refs/heads/{branch}"],
                          capture_output=True)
    return done.returncode == 0


def _git(root: Path, *args: str, stdin: str | None = None, env: dict[str, str] | None = None) -> str:
    try:
        done = subprocess.run(["git", "-C", str(root), *args], input=stdin, capture_output=True, text=True, env=env)
    except OSError as exc:
        raise GitError(f"git could not be run: {exc}") from exc
    if done.returncode != 0:
        raise GitError(f"git {args[0]} failed: {done.stderr.strip()[-500:]}")
    return done.stdout
