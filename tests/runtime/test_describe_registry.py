"""`mlplat describe` with the session's registry, where the reference model was trained and registered once."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.runtime.conftest import MODEL, mlplat

pytestmark = pytest.mark.xdist_group("registry")


def test_describe_lists_the_registered_versions_with_aliases_and_gates(project: Path, first_run) -> None:
    assert first_run.returncode == 0, first_run.stdout + first_run.stderr
    described = mlplat(project, "describe", MODEL, "--format", "json")
    assert described.returncode == 0, described.stderr
    versions = json.loads(described.stdout)["registry"]["versions"]
    first = next(v for v in versions if v["version"] == 1)
    assert first["gate"] == "passed" and len(first["artifactSha256"]) == 64
    assert first["metrics"]["roc_auc"] >= 0.97  # the spec's gate, which it passed
    assert sum("champion" in v["aliases"] for v in versions) == 1
    text = mlplat(project, "describe", MODEL).stdout
    assert "VERSION  ALIASES" in text and "roc_auc" in text.split("VERSION", 1)[1]
