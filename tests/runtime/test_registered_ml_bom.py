"""The register step's evidence and ML-BOM for a real local run: valid, tied to the artifact's digest, the same
bytes from every path (the run, `mlplat sbom`, a fresh render), and a tampered artifact refused."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator

from compiler.spec.evidence import VersionEvidence
from renderers import mlbom
from runtime import artifact
from tests.runtime.conftest import MODEL, mlplat, registry, sqlite_uri

# The session's trained registry (tests/runtime/conftest.py) is shared: one worker runs these files.
pytestmark = pytest.mark.xdist_group("registry")


@pytest.fixture(scope="module")
def logged(project: Path, first_run) -> dict:
    """The version 1 run's evidence and ML-BOM, as the register step logged them."""
    from mlflow.artifacts import download_artifacts, load_text

    assert first_run.returncode == 0, first_run.stderr
    client = registry(sqlite_uri(project))
    version = client.get_model_version(MODEL, "1")
    local = Path(download_artifacts(artifact_uri=version.source, tracking_uri=sqlite_uri(project)))
    run_artifacts = client.get_run(version.run_id).info.artifact_uri
    return {"version": version, "digest": artifact.digest(local), "directory": local,
            "evidence": json.loads(load_text(f"{run_artifacts}/mlplat/evidence.json")),
            "bom": load_text(f"{run_artifacts}/mlplat/bom.cdx.json")}


def test_the_logged_ml_bom_is_valid_and_names_the_artifact(logged: dict) -> None:
    assert JsonStrictValidator(SchemaVersion.V1_6).validate_str(logged["bom"]) is None
    bom = json.loads(logged["bom"])
    assert bom["metadata"]["component"]["hashes"] == [{"alg": "SHA-256", "content": logged["digest"]}]
    assert logged["version"].tags["mlplat.artifact_sha256"] == logged["digest"]


def test_the_evidence_is_what_the_compiler_accepts(logged: dict) -> None:
    evidence = VersionEvidence.model_validate(logged["evidence"])
    assert (evidence.version, evidence.run_id, evidence.artifact_sha256) == (1, logged["version"].run_id,
                                                                             logged["digest"])
    assert evidence.gate.passed and evidence.metrics["roc_auc"] >= 0.97
    names = {p.name for p in evidence.environment.packages}
    assert {"torch", "mlflow", "scikit-learn", "numpy"} <= names  # the training environment, with versions


def test_every_path_gives_the_same_bytes(project: Path, logged: dict, tmp_path: Path) -> None:
    assert mlbom.to_text(mlbom.document(logged["evidence"])) == logged["bom"]
    result = mlplat(project, "sbom", MODEL, "--version", "1")
    assert result.returncode == 0, result.stderr
    assert result.stdout == logged["bom"]
    written = tmp_path / "bom.json"
    assert mlplat(project, "sbom", MODEL, "--version", "1", "--output", str(written)).returncode == 0
    assert written.read_text() == logged["bom"]


def test_a_tampered_artifact_is_refused(project: Path, logged: dict) -> None:
    stored = Path(logged["version"].source.removeprefix("file://")) / "mlplat-model.json"
    original = stored.read_bytes()
    stored.write_bytes(original.replace(b'"framework"', b'"framework" ', 1))
    try:
        result = mlplat(project, "sbom", MODEL, "--version", "1")
    finally:
        stored.write_bytes(original)
    assert result.returncode == 1 and result.stdout == ""
    assert "downloaded artifact has sha256" in result.stderr and logged["digest"] in result.stderr
