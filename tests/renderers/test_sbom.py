"""CycloneDX 1.6 ML-BOMs: golden output for the reference model's registered version, strict schema
validation of every document, the same bytes across runs, and the contents an auditor checks."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator

from renderers import mlbom, sbom
from tests.conftest import REPO, check_golden

FIXTURE = REPO / "tests" / "fixtures" / "evidence" / "tumor-classifier-v1.json"  # from a real `mlplat run`
GOLDEN = REPO / "tests" / "golden" / "sbom" / "tumor-classifier-v1.cdx.json"
EVIDENCE = json.loads(FIXTURE.read_text())


def strict_errors(text: str) -> object:
    return JsonStrictValidator(SchemaVersion.V1_6).validate_str(text)


def test_golden_ml_bom_of_the_registered_reference_model() -> None:
    text = mlbom.to_text(mlbom.document(EVIDENCE))
    check_golden(GOLDEN, text)
    assert strict_errors(text) is None


def test_every_compiled_ml_bom_passes_the_strict_schema() -> None:
    documents = sorted(REPO.glob("environments/*/sbom/*.cdx.json"))
    assert len(documents) == 6
    for path in documents:
        assert strict_errors(path.read_text()) is None, path


def test_the_validator_rejects_a_broken_document() -> None:
    broken = mlbom.document(EVIDENCE)
    broken["metadata"]["component"]["modelCard"]["quantitativeAnalysis"]["performanceMetrics"][0]["value"] = 0.9
    assert strict_errors(mlbom.to_text(broken)) is not None  # the guard can fail, so the tests above can too


def test_same_version_same_bytes_in_separate_processes() -> None:
    code = ("import json, sys; from renderers import mlbom; "
            f"sys.stdout.write(mlbom.to_text(mlbom.document(json.load(open({str(FIXTURE)!r})))))")
    outputs = [subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO,
                              env={**os.environ, "PYTHONHASHSEED": seed}).stdout for seed in ("0", "4242")]
    assert outputs[0] == outputs[1] == GOLDEN.read_text()


def test_serial_and_timestamp_derive_from_the_version() -> None:
    bom = mlbom.document(EVIDENCE)
    assert bom["serialNumber"] == "urn:uuid:454c8f8b-fe7c-5f85-84aa-ca3505c04ddd"
    assert bom["metadata"]["timestamp"].startswith(EVIDENCE["registeredAt"].removesuffix("Z"))
    other = mlbom.document({**EVIDENCE, "version": 2})
    assert other["serialNumber"] != bom["serialNumber"]


def components(bom: dict) -> dict[str, dict]:
    return {c["bom-ref"]: c for c in bom["components"]}


def test_the_model_its_data_code_images_and_packages() -> None:
    bom = mlbom.document(EVIDENCE)
    model = bom["metadata"]["component"]
    assert (model["type"], model["name"], model["version"]) == ("machine-learning-model", "tumor-classifier", "1")
    assert model["hashes"] == [{"alg": "SHA-256", "content": EVIDENCE["artifactSha256"]}]
    assert model["purl"] == f"pkg:mlflow/tumor-classifier@1?run_id={EVIDENCE['runId']}"
    card = model["modelCard"]
    assert card["modelParameters"]["task"] == "binary-classification"
    metrics = {m["type"]: m for m in card["quantitativeAnalysis"]["performanceMetrics"]}
    assert metrics["roc_auc"]["value"] == "0.993711"
    assert "gate roc_auc min 0.97: passed" in metrics["roc_auc"]["slice"]
    assert "train_seconds" not in metrics and "eval_rows" not in metrics
    assert card["considerations"]["useCases"] == [EVIDENCE["governance"]["modelCard"]["intendedUse"]]
    found = components(bom)
    train = found["data:train"]
    assert (train["type"], train["version"]) == ("data", "wdbc-1995")
    assert train["data"][0]["contents"]["url"] == "sklearn://breast_cancer?split=train&holdout=0.25&seed=0"
    assert found["code"]["version"] == EVIDENCE["gitCommit"]
    image = found["image:training"]
    assert image["hashes"][0]["content"] == EVIDENCE["images"]["training"].split("@sha256:")[1]
    assert image["purl"].startswith("pkg:oci/mlplat-runtime@sha256:")
    packages = [c for c in bom["components"] if c["type"] == "library"]
    assert len(packages) == len(EVIDENCE["environment"]["packages"]) > 100
    torch = found["pkg:pypi/torch@2.13.0%2Bcpu"]
    assert (torch["name"], torch["version"]) == ("torch", "2.13.0+cpu")
    depends = {d["ref"]: d.get("dependsOn", []) for d in bom["dependencies"]}
    assert depends["model"] == ["code", "data:eval", "data:train", "image:training"]
    assert depends["image:serving"] == ["model"]
    assert len(depends["code"]) == len(packages)


def test_compiled_ml_boms_record_the_pinned_digest(checked) -> None:
    for model in checked.models:
        for pin in (model.release, model.release.candidate if model.release else None):
            if pin is None:
                continue
            path = REPO / "environments" / model.environment / sbom.path(model.name, pin.version)
            bom = json.loads(path.read_text())
            assert bom["metadata"]["component"]["hashes"][0]["content"] == pin.artifact_sha256


def test_ml_boms_live_where_argo_cd_never_syncs(checked) -> None:
    [manifest] = sbom.render(next(m for m in checked.models if m.name == "churn-predictor"
                                  and m.environment == "prod"))
    assert manifest.path == "sbom/churn-predictor-v31.cdx.json" and not manifest.kubernetes
    applications = REPO / "environments" / "prod" / "argocd" / "applications"
    assert all("sbom" not in p.read_text() for p in applications.glob("*.yaml"))
