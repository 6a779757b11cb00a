"""Shared fixtures: the repository root, and scratch copies of it for tests that write."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SHARED_SCHEMAS = REPO.parent / "shared" / "schemas"
# Set MLPLAT_UPDATE_GOLDEN=1 to rewrite expected outputs (then review their diff like code).
UPDATE_GOLDEN = os.environ.get("MLPLAT_UPDATE_GOLDEN") == "1"


def copy_inputs(target: Path) -> Path:
    """A copy of what the compiler reads: platform/, specs/, each environment's releases.yaml and evidence/."""
    shutil.copytree(REPO / "platform", target / "platform")
    shutil.copytree(REPO / "specs", target / "specs")
    for source in [*(REPO / "environments").glob("*/releases.yaml"), *(REPO / "environments").glob("*/evidence/*")]:
        destination = target / source.relative_to(REPO)
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(source, destination)
    return target


def copy_repo(target: Path) -> Path:
    """A copy of the repository's inputs and committed output that a test may change."""
    shutil.copytree(REPO / "platform", target / "platform")
    shutil.copytree(REPO / "specs", target / "specs")
    shutil.copytree(REPO / "environments", target / "environments")
    (target / ".github").mkdir()
    shutil.copy(REPO / ".github" / "CODEOWNERS", target / ".github" / "CODEOWNERS")
    return target


@pytest.fixture
def repo_copy(tmp_path: Path) -> Path:
    return copy_repo(tmp_path / "repo")


def check_golden(path: Path, actual: str | bytes) -> None:
    """Compare with a golden file, or rewrite it when MLPLAT_UPDATE_GOLDEN=1."""
    data = actual.encode() if isinstance(actual, str) else actual
    if UPDATE_GOLDEN:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    assert path.is_file(), f"no golden file {path}; run with MLPLAT_UPDATE_GOLDEN=1 and review it"
    assert data.decode() == path.read_text("utf-8"), f"output differs from {path}"
