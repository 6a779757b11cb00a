"""Scratch folders a killed mlplat process left behind: each is named with the id of the process that made
it, and a later run removes those whose process is gone (a running one's are left alone)."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path


def remove_left_behind(parent: Path, pattern: str) -> list[Path]:
    """Remove the entries of `parent` whose whole name matches `pattern` (a regular expression with a group
    `pid`) and whose process no longer runs; the removed ones."""
    removed: list[Path] = []
    if not parent.is_dir():
        return removed
    for entry in parent.iterdir():
        match = re.fullmatch(pattern, entry.name)
        if match and not entry.is_symlink() and not _alive(int(match.group("pid"))):
            shutil.rmtree(entry, ignore_errors=True)
            removed.append(entry)
    return removed


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError):  # another user's process; a number no process has
        return pid < 2**22
    return True
