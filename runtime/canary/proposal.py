"""A release change proposed through git: clone the platform repository, let mlplat's compiler make the
commit, push it as a new `mlplat/*` branch. Used by the canary step and the training workflow's propose
step (runtime/propose.py).

The token (GIT_USERNAME / GIT_PASSWORD, from the Secret platform.yaml names as repository.pushSecret)
reaches git through a credential helper that reads the environment, so it is never written to disk, to
the remote's URL or to a log. The commit is made by the compiler installed in this image, with the
clone's files as data (`python -I -m compiler`: nothing in the clone can stand in for it).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

# `git credential` protocol: answer "get" with the environment's token; nothing is stored.
_HELPER = '!f() { test "$1" = get && printf "username=%s\\npassword=%s\\n" "$GIT_USERNAME" "$GIT_PASSWORD"; }; f'
BOT = {"GIT_AUTHOR_NAME": "mlplat[bot]", "GIT_AUTHOR_EMAIL": "mlplat-bot@users.noreply.github.com",
       "GIT_COMMITTER_NAME": "mlplat[bot]", "GIT_COMMITTER_EMAIL": "mlplat-bot@users.noreply.github.com"}


class ProposalError(Exception):
    """The change could not be committed or pushed; the message says why."""


class Refused(ProposalError):
    """mlplat refused the change (the pins moved on, a gate, the promotion order); nothing was pushed."""


class Clone:
    """A shallow clone of `branch`, refreshed to the remote's head before each use."""

    def __init__(self, url: str, branch: str, path: Path):
        self.url, self.branch, self.path = url, branch, path

    def git(self, *args: str, cwd: Path | None = None) -> str:
        helper = ["-c", "credential.helper=", "-c", f"credential.helper={_HELPER}"] \
            if os.environ.get("GIT_PASSWORD") else []
        result = subprocess.run(["git", *helper, *args], cwd=cwd or self.path, capture_output=True, text=True,
                                env={**os.environ, **BOT, "GIT_TERMINAL_PROMPT": "0"}, timeout=300)
        if result.returncode != 0:
            raise ProposalError(f"git {args[0]} failed: {result.stderr.strip().splitlines()[-1:]}")
        return result.stdout

    def refresh(self) -> None:
        if not (self.path / ".git").is_dir():
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.git("clone", "--quiet", "--depth", "1", "--branch", self.branch, self.url, str(self.path),
                     cwd=self.path.parent)
            return
        self.git("fetch", "--quiet", "--depth", "1", "origin", self.branch)
        self.git("checkout", "--quiet", "--force", "-B", self.branch, "FETCH_HEAD")
        self.git("clean", "--quiet", "-fdx")

    def remote_has(self, branch: str) -> bool:
        return bool(self.git("ls-remote", "--heads", "origin", branch).strip())

    def push(self, branch: str) -> None:
        self.git("push", "--quiet", "origin", f"refs/heads/{branch}:refs/heads/{branch}")


def compiler(clone: Clone, *args: str) -> subprocess.CompletedProcess[str]:
    """mlplat's compiler (this image's) on the clone."""
    env = {key: value for key, value in os.environ.items() if key not in ("GIT_USERNAME", "GIT_PASSWORD")}
    return subprocess.run([sys.executable, "-I", "-m", "compiler", "--root", str(clone.path), *args],
                          capture_output=True, text=True, env={**env, **BOT}, timeout=600)


def commit_and_push(clone: Clone, *compiler_args: str) -> str | None:
    """Run `mlplat <compiler_args>` (which commits on a new branch) in the clone and push the branch; the
    branch, or None where the remote has it already (proposed by an earlier run, waiting for its merge)."""
    done = compiler(clone, *compiler_args)
    print(done.stdout, end="")
    if done.returncode != 0:
        raise Refused(f"mlplat {compiler_args[0]} refused: {done.stderr.strip()}")
    # mlplat commits beside the work tree (HEAD stays): the branch is the one its first line names
    made = re.search(r"^committed [0-9a-f]+ on branch (\S+);", done.stdout, re.MULTILINE)
    if made is None:
        raise ProposalError(f"mlplat {compiler_args[0]} did not say which branch it committed to: "
                            f"{done.stdout[:200]!r}")
    branch = made.group(1)
    if clone.remote_has(branch):
        print(f"{branch} is on the remote already: proposed before, waiting for its pull request")
        return None
    clone.push(branch)
    print(f"pushed {branch} to {clone.url}")
    return branch


def propose(clone: Clone, model: str, environment: str, decision_file: Path) -> str | None:
    """The canary decision in decision_file, committed and pushed."""
    try:
        return commit_and_push(clone, "canary", model, "--env", environment, "--decision", str(decision_file),
                               "--commit")
    except ProposalError as exc:
        print(f"canary: {exc}", file=sys.stderr)
        raise SystemExit(2) from exc
