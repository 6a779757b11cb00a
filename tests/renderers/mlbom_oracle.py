"""The reference ML-BOM builder: the same document built through cyclonedx-python-lib's object model.

renderers/mlbom.py builds ML-BOMs as plain data, because cyclonedx-python-lib costs 150-260 ms per
document (its dependency registration is quadratic in the package count) and the compiler renders
thousands. The library stays the judge: tests/renderers/test_mlbom_oracle.py checks that both
builders give the same bytes for every evidence document the tests have, so a difference in how
the library orders, deduplicates or escapes anything is found here, not in an auditor's tool.
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import Any

from renderers.mlbom import SERIAL_NAMESPACE, TOOL_VERSION, _check_text, _data_entry, _model_card


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
