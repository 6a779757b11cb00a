"""The plain-data ML-BOM builder (renderers/mlbom.py) against cyclonedx-python-lib building the same
document (mlbom_oracle.py): the same bytes for every evidence document of the repository and the
test fixtures, and for the cases where the library orders, deduplicates or escapes something."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from renderers import mlbom
from tests.conftest import REPO
from tests.renderers import mlbom_oracle
from tests.renderers.test_sbom import strict_errors

FIXTURE = REPO / "tests" / "fixtures" / "evidence" / "tumor-classifier-v1.json"  # from a real `mlplat run`
COMMITTED = sorted((REPO / "environments").glob("*/evidence/*.json"))


def same_bytes(evidence: dict[str, Any]) -> str:
    text = mlbom.to_text(mlbom.document(evidence))
    assert text == mlbom.to_text(mlbom_oracle.document(evidence))
    return text


@pytest.mark.parametrize("path", [FIXTURE, *COMMITTED], ids=lambda p: p.name)
def test_the_same_bytes_as_the_library_for_real_evidence(path) -> None:
    assert strict_errors(same_bytes(json.loads(path.read_text()))) is None


def _edited(change) -> dict[str, Any]:
    evidence = copy.deepcopy(json.loads(FIXTURE.read_text()))
    change(evidence)
    return evidence


EDGE_CASES = {
    "no description": lambda e: e.update(description=""),
    "no serving image": lambda e: e["images"].update(serving=None),
    "an image without a tag or digest": lambda e: e["images"].update(training="registry.local:5000/team/train"),
    "a package listed twice": lambda e: e["environment"]["packages"].append(e["environment"]["packages"][0]),
    "a package name the purl normalises": lambda e: e["environment"]["packages"].append(
        {"name": "Foo_Bar.Baz", "version": "1.0+local"}),
    "owners unsorted and repeated": lambda e: e.update(owners=["@zed", "@amy", "@zed"]),
    "a repeated gate check": lambda e: e["gate"]["checks"].append(e["gate"]["checks"][0]),
    "a URI with characters to escape": lambda e: e["data"]["train"].update(uri="s3://lake/a b/[x]{y}.parquet"),
    "a timestamp with a fraction": lambda e: e.update(registeredAt="2026-10-13T09:30:00.123456Z"),
    "no risk tier": lambda e: e.update(riskTier=None),
}


@pytest.mark.parametrize("case", sorted(EDGE_CASES))
def test_the_same_bytes_as_the_library_where_it_normalises(case: str) -> None:
    same_bytes(_edited(EDGE_CASES[case]))
