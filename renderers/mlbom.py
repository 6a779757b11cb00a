"""CycloneDX 1.6 ML-BOMs of registered model versions, built from their evidence (runtime/evidence.py).

The contract between the two sides: the register step (runtime/steps/register.py) logs each new
version's ML-BOM with this module, and the compiler renders the pinned versions' ML-BOMs with it
(renderers/sbom.py), so both write the same bytes for the same version. It is the only module of
compiler/ and renderers/ that the runtime imports, so it imports nothing of mlplat: only the standard
library and, inside the functions, cyclonedx-python-lib (tests/test_architecture.py checks both).

One document per version: the model (`machine-learning-model`, with its artifact's SHA-256 and a
model card: task, datasets, metrics with the gate thresholds, the spec's governance text), the
training and evaluation data (`data`, with URI and version), the training code at its git commit,
the training and serving images (digests and purls) and every Python package of the training
environment (purls), with the dependencies between them. The serial number and timestamp derive
from the version itself, so the same version always yields the same bytes. cyclonedx-python-lib 11
builds the document but has no types for `modelCard` and component `data` yet (upstream TODO), so
those two are added to its serialised output, and the result is checked against the strict 1.6
JSON schema in the tests.
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import Any

# Serial numbers are UUIDv5 in this namespace, named by the model, version, run and artifact digest.
SERIAL_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://mlplat.dev/ml-bom")
TOOL_VERSION = "0.1.0"


def to_text(bom: dict[str, Any]) -> str:
    """The exact bytes every copy of a document has (register's, the compiler's, `mlplat sbom`'s).

    The same form as compiler/spec/emit.py's to_json, which this module may not import."""
    return json.dumps(bom, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def document(evidence: dict[str, Any]) -> dict[str, Any]:
    from cyclonedx.model.bom import Bom, BomMetaData
    from cyclonedx.model.component import Component, ComponentType
    from cyclonedx.model.contact import OrganizationalContact, OrganizationalEntity
    from cyclonedx.model.tool import ToolRepository
    from cyclonedx.output.json import JsonV1Dot6

    model = _model_component(evidence)
    datasets = [_dataset(evidence, split) for split in ("train", "eval")]
    code = Component(type=ComponentType.APPLICATION, name=f"{evidence['model']}-training-code",
                     version=evidence["gitCommit"], bom_ref="code",
                     description="training code at the commit the run recorded")
    images = {role: _image(role, ref) for role, ref in sorted(evidence["images"].items()) if ref}
    packages = [_package(p) for p in evidence["environment"]["packages"]]
    bom = Bom(
        serial_number=uuid.uuid5(SERIAL_NAMESPACE, "/".join(
            [evidence["model"], str(evidence["version"]), evidence["runId"], evidence["artifactSha256"]])),
        metadata=BomMetaData(
            timestamp=datetime.fromisoformat(evidence["registeredAt"].replace("Z", "+00:00")),
            component=model,
            supplier=OrganizationalEntity(name=f"team {evidence['team']}"),
            authors=[OrganizationalContact(name=owner) for owner in evidence["owners"]],
            tools=ToolRepository(components=[Component(type=ComponentType.APPLICATION, name="mlplat",
                                                       version=TOOL_VERSION, bom_ref="tool:mlplat")]),
            properties=_properties([("python", evidence["environment"]["python"])]),
        ),
    )
    for component in (*datasets, code, *images.values(), *packages):
        bom.components.add(component)
    bom.register_dependency(model, [*datasets, code, *([images["training"]] if "training" in images else [])])
    bom.register_dependency(code, packages)
    if "serving" in images:
        bom.register_dependency(images["serving"], [model])
    serialised = json.loads(JsonV1Dot6(bom).output_as_string())
    serialised["metadata"]["component"]["modelCard"] = _model_card(evidence)
    for component in serialised["components"]:
        if component["type"] == "data":
            component["data"] = [_data_entry(evidence, component["bom-ref"].removeprefix("data:"))]
    return serialised


def _model_component(evidence: dict[str, Any]) -> Any:
    from cyclonedx.model import ExternalReference, ExternalReferenceType, HashAlgorithm, HashType, XsUri
    from cyclonedx.model.component import Component, ComponentType
    from packageurl import PackageURL

    facts = [("run-id", evidence["runId"]), ("spec-hash", evidence["specHash"]),
             ("trained-in", evidence["trainedIn"]), ("risk-tier", evidence.get("riskTier") or "unset"),
             ("framework", evidence["framework"]), ("gate", "passed" if evidence["gate"]["passed"] else "failed")]
    facts += [("gate-check", _check_text(check)) for check in evidence["gate"]["checks"]]
    return Component(
        type=ComponentType.MACHINE_LEARNING_MODEL,
        name=evidence["model"],
        version=str(evidence["version"]),
        bom_ref="model",
        description=evidence.get("description") or None,
        hashes=[HashType(alg=HashAlgorithm.SHA_256, content=evidence["artifactSha256"])],
        purl=PackageURL(type="mlflow", name=evidence["model"], version=str(evidence["version"]),
                        qualifiers={"run_id": evidence["runId"]}),
        external_references=[ExternalReference(type=ExternalReferenceType.DISTRIBUTION,
                                               url=XsUri(evidence["modelUri"]),
                                               comment="model directory; the SHA-256 covers every file in it")],
        properties=_properties(facts),
    )


def _dataset(evidence: dict[str, Any], split: str) -> Any:
    from cyclonedx.model import ExternalReference, ExternalReferenceType, XsUri
    from cyclonedx.model.component import Component, ComponentType

    data = evidence["data"][split]
    return Component(type=ComponentType.DATA, name=f"{evidence['model']}-{split}-data", version=data["version"],
                     bom_ref=f"data:{split}",
                     external_references=[ExternalReference(type=ExternalReferenceType.DISTRIBUTION,
                                                            url=XsUri(data["uri"]))])


def _image(role: str, ref: str) -> Any:
    from cyclonedx.model import HashAlgorithm, HashType
    from cyclonedx.model.component import Component, ComponentType
    from packageurl import PackageURL

    name, _, digest = ref.partition("@sha256:")
    repository, _, tag = name.rpartition(":") if ":" in name.rsplit("/", 1)[-1] else (name, "", "")
    qualifiers = {"repository_url": repository, **({"tag": tag} if tag else {})}
    return Component(
        type=ComponentType.CONTAINER, name=repository.rsplit("/", 1)[-1], version=tag or None, bom_ref=f"image:{role}",
        description=f"{role} image",
        hashes=[HashType(alg=HashAlgorithm.SHA_256, content=digest)] if digest else None,
        purl=PackageURL(type="oci", name=repository.rsplit("/", 1)[-1], version=f"sha256:{digest}",
                        qualifiers=qualifiers) if digest else None,
        properties=_properties([("image", ref)]),
    )


def _package(package: dict[str, str]) -> Any:
    from cyclonedx.model.component import Component, ComponentType
    from packageurl import PackageURL

    purl = PackageURL(type="pypi", name=package["name"], version=package["version"])
    return Component(type=ComponentType.LIBRARY, name=package["name"], version=package["version"], purl=purl,
                     bom_ref=purl.to_string())


def _properties(facts: list[tuple[str, str]]) -> list[Any]:
    from cyclonedx.model import Property

    return [Property(name=f"mlplat:{key}", value=value) for key, value in facts]


def _check_text(check: dict[str, Any]) -> str:
    return f"{check['condition']}: {'passed' if check['passed'] else 'failed'} ({check['reason']})"


def _model_card(evidence: dict[str, Any]) -> dict[str, Any]:
    card = (evidence.get("governance") or {}).get("modelCard") or {}
    thresholds: dict[str, list[str]] = {}
    for check in evidence["gate"]["checks"]:
        thresholds.setdefault(check["metric"], []).append(f"gate {_check_text(check)}")
    metrics = [{"type": name, "value": f"{value:.6g}",
                "slice": "; ".join([f"eval data {evidence['data']['eval']['version']}", *thresholds.get(name, [])])}
               for name, value in sorted(evidence["metrics"].items()) if name in quality_metrics(evidence)]
    considerations: dict[str, Any] = {}
    if card.get("intendedUse"):
        considerations["useCases"] = [card["intendedUse"]]
    limitations = [text for text in (card.get("limitations"),
                                     card.get("outOfScopeUse") and f"Out of scope: {card['outOfScopeUse']}") if text]
    if limitations:
        considerations["technicalLimitations"] = limitations
    if card.get("ethicalConsiderations"):
        considerations["ethicalConsiderations"] = [{"name": card["ethicalConsiderations"]}]
    out: dict[str, Any] = {
        "bom-ref": "model-card",
        "modelParameters": {"task": evidence["task"], "datasets": [{"ref": "data:train"}, {"ref": "data:eval"}]},
        "quantitativeAnalysis": {"performanceMetrics": metrics},
    }
    if considerations:
        out["considerations"] = considerations
    return out


def quality_metrics(evidence: dict[str, Any]) -> list[str]:
    """Metrics of the evaluation, without the run's bookkeeping (train_*, eval_rows)."""
    return sorted(name for name in evidence["metrics"] if not name.startswith("train_") and name != "eval_rows")


def _data_entry(evidence: dict[str, Any], split: str) -> dict[str, Any]:
    classification = (evidence.get("governance") or {}).get("dataClassification", "internal")
    return {"type": "dataset", "name": f"{split} split", "contents": {"url": evidence["data"][split]["uri"]},
            "classification": classification}
