"""Evidence files beside the pins: JSON read as JSON, and every problem located in the file."""

from __future__ import annotations

import io
import json
from contextlib import redirect_stdout
from pathlib import Path

import pytest

from compiler.cli import main
from compiler.spec.evidence import VersionEvidence
from tests.conftest import REPO, checked_model, copy_inputs

EVIDENCE = "environments/prod/evidence/churn-predictor-v31.json"


def validate(root: Path) -> tuple[int, str]:
    out = io.StringIO()
    with redirect_stdout(out):
        code = main(["--root", str(root), "validate"])
    return code, out.getvalue()


def test_json_numbers_keep_their_json_meaning(tmp_path: Path) -> None:
    root = copy_inputs(tmp_path / "repo")
    document = json.loads((root / EVIDENCE).read_text())
    document["metrics"]["calibration_error"] = 2e-05  # YAML 1.1 would read `2e-05` as text
    (root / EVIDENCE).write_text(json.dumps(document, indent=2))
    churn = checked_model(root, "churn-predictor", "prod")
    assert churn.evidence[31]["metrics"]["calibration_error"] == 2e-05


def test_broken_json_is_located(tmp_path: Path) -> None:
    root = copy_inputs(tmp_path / "repo")
    text = (root / EVIDENCE).read_text()
    (root / EVIDENCE).write_text(text.replace('"kind": "VersionEvidence",', '"kind": "VersionEvidence",,', 1))
    code, out = validate(root)
    assert code == 1
    assert out.startswith(f"{EVIDENCE}:") and "not valid JSON: Expecting property name" in out


def test_a_missing_field_is_located(tmp_path: Path) -> None:
    root = copy_inputs(tmp_path / "repo")
    document = json.loads((root / EVIDENCE).read_text())
    del document["gate"]
    (root / EVIDENCE).write_text(json.dumps(document, indent=2, sort_keys=True))
    code, out = validate(root)
    assert code == 1 and out.splitlines()[0].startswith(f"{EVIDENCE}:1:1: error: gate: ")


FIXTURES = sorted((REPO / "tests" / "fixtures" / "evidence").glob("*.json"))  # captured: capture.py there


@pytest.mark.parametrize("path", FIXTURES + sorted(REPO.glob("environments/*/evidence/*.json")),
                         ids=lambda p: str(p.relative_to(REPO)))
def test_evidence_round_trips_through_its_model(path: Path) -> None:
    """What the register step writes is what the compiler's model reads, type for type (the champion's
    version is a number in the registry and in the evidence)."""
    document = json.loads(path.read_text())
    assert VersionEvidence.model_validate(document).model_dump(mode="json", by_alias=True,
                                                               exclude_unset=True) == document


def test_the_captured_fixtures_cover_every_kind_of_version() -> None:
    kinds = {(doc["gate"]["passed"], doc["gate"]["champion"] is not None)
             for doc in (json.loads(path.read_text()) for path in FIXTURES)}
    assert kinds == {(True, False), (True, True), (False, True)}  # first version, later version, challenger
