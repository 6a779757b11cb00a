"""CycloneDX 1.6 ML-BOMs of registered model versions, built from their evidence (runtime/evidence.py).

The contract between the two sides: the register step (runtime/steps/register.py) logs each new
version's ML-BOM with this module, and the compiler renders the pinned versions' ML-BOMs with it
(renderers/sbom.py), so both write the same bytes for the same version. It is the only module of
compiler/ and renderers/ that the runtime imports, so it imports nothing of mlplat: only the standard
library and, inside the functions, packageurl-python (tests/test_architecture.py checks both).

One document per version: the model (`machine-learning-model`, with its artifact's SHA-256 and a
model card: task, datasets, metrics with the gate thresholds, the spec's governance text), the
training and evaluation data (`data`, with URI and version), the training code at its git commit,
the training and serving images (digests and purls) and every Python package of the training
environment (purls), with the dependencies between them. The serial number and timestamp derive
from the version itself, so the same version always yields the same bytes.

The document is built as plain data (about 5 ms for 200 packages), not through cyclonedx-python-lib's
object model (150-260 ms: its dependency registration is quadratic in the package count), because
the compiler renders one per pin and a platform has thousands. The library stays the judge in the
tests: tests/renderers/mlbom_oracle.py builds each document through it, and the two must agree
byte for byte; the result is also checked against the strict 1.6 JSON schema. Only purls are
spelled by the library (packageurl-python), for its normalisation and escaping.
"""

from __future__ import annotations

import functools
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
    """The version's ML-BOM as plain data, in the form cyclonedx-python-lib 11 serialises it (sorted,
    deduplicated sets; tests/renderers/mlbom_oracle.py builds it through the library to prove it)."""
    model = _model_component(evidence)
    model["modelCard"] = _model_card(evidence)
    datasets = [_dataset(evidence, split) for split in ("train", "eval")]
    code = {"type": "application", "name": f"{evidence['model']}-training-code", "version": evidence["gitCommit"],
            "bom-ref": "code", "description": "training code at the commit the run recorded"}
    images = {role: _image(role, ref) for role, ref in sorted(evidence["images"].items()) if ref}
    packages = [_package(p) for p in evidence["environment"]["packages"]]
    components = _unique([*datasets, code, *images.values(), *packages])
    depends: dict[str, set[str]] = {component["bom-ref"]: set() for component in (model, *components)}
    depends["model"] |= {"data:train", "data:eval", "code", *(["image:training"] if "training" in images else [])}
    depends["code"] |= {package["bom-ref"] for package in packages}
    if "serving" in images:
        depends["image:serving"].add("model")
    registered = evidence["registeredAt"].replace("Z", "+00:00")
    return {
        "$schema": "http://cyclonedx.org/schema/bom-1.6.schema.json",
        "bomFormat": "CycloneDX",
        "specVersion": "1.6",
        "serialNumber": "urn:uuid:" + str(uuid.uuid5(SERIAL_NAMESPACE, "/".join(
            [evidence["model"], str(evidence["version"]), evidence["runId"], evidence["artifactSha256"]]))),
        "version": 1,
        "metadata": {
            "timestamp": datetime.fromisoformat(registered).isoformat(),
            "tools": {"components": [{"type": "application", "name": "mlplat", "version": TOOL_VERSION,
                                      "bom-ref": "tool:mlplat"}]},
            "authors": [{"name": owner} for owner in sorted(set(evidence["owners"]))],
            "component": model,
            "supplier": {"name": f"team {evidence['team']}"},
            "properties": _properties([("python", evidence["environment"]["python"])]),
        },
        "components": sorted(components, key=_component_order),
        "dependencies": [{"ref": ref, **({"dependsOn": sorted(on)} if on else {})}
                         for ref, on in sorted(depends.items())],
    }


def _model_component(evidence: dict[str, Any]) -> dict[str, Any]:
    from packageurl import PackageURL

    facts = [("run-id", evidence["runId"]), ("spec-hash", evidence["specHash"]),
             ("trained-in", evidence["trainedIn"]), ("risk-tier", evidence.get("riskTier") or "unset"),
             ("framework", evidence["framework"]), ("gate", "passed" if evidence["gate"]["passed"] else "failed")]
    facts += [("gate-check", _check_text(check)) for check in evidence["gate"]["checks"]]
    if evidence.get("promotedFrom"):  # a copy: the same bytes as the previous environment's version
        origin = evidence["promotedFrom"]
        facts.append(("promoted-from", f"{origin['environment']} version {origin['version']} (run {origin['runId']})"))
    purl = PackageURL(type="mlflow", name=evidence["model"], version=str(evidence["version"]),
                      qualifiers={"run_id": evidence["runId"]})
    return _without_empty({
        "type": "machine-learning-model",
        "name": evidence["model"],
        "version": str(evidence["version"]),
        "bom-ref": "model",
        "description": evidence.get("description") or None,
        "hashes": [{"alg": "SHA-256", "content": evidence["artifactSha256"]}],
        "purl": purl.to_string(),
        "externalReferences": [{"type": "distribution", "url": _uri(evidence["modelUri"]),
                                "comment": "model directory; the SHA-256 covers every file in it"}],
        "properties": _properties(facts),
    })


def _dataset(evidence: dict[str, Any], split: str) -> dict[str, Any]:
    data = evidence["data"][split]
    return _without_empty({
        "type": "data", "name": f"{evidence['model']}-{split}-data", "version": data["version"],
        "bom-ref": f"data:{split}",
        "hashes": [{"alg": "SHA-256", "content": data["sha256"]}] if data.get("sha256") else None,
        "externalReferences": [{"type": "distribution", "url": _uri(data["uri"])}],
        "properties": [{"name": "mlplat:featureService", "value": data["featureService"]}]
        if data.get("featureService") else None,
        "data": [_data_entry(evidence, split)]})


def _image(role: str, ref: str) -> dict[str, Any]:
    from packageurl import PackageURL

    name, _, digest = ref.partition("@sha256:")
    repository, _, tag = name.rpartition(":") if ":" in name.rsplit("/", 1)[-1] else (name, "", "")
    qualifiers = {"repository_url": repository, **({"tag": tag} if tag else {})}
    short = repository.rsplit("/", 1)[-1]
    return _without_empty({
        "type": "container", "name": short, "version": tag or None, "bom-ref": f"image:{role}",
        "description": f"{role} image",
        "hashes": [{"alg": "SHA-256", "content": digest}] if digest else None,
        "purl": PackageURL(type="oci", name=short, version=f"sha256:{digest}", qualifiers=qualifiers).to_string()
        if digest else None,
        "properties": _properties([("image", ref)]),
    })


def _package(package: dict[str, str]) -> dict[str, str]:
    purl = _pypi_purl(package["name"], package["version"])
    return {"type": "library", "name": package["name"], "version": package["version"], "purl": purl, "bom-ref": purl}


@functools.lru_cache(maxsize=4096)
def _pypi_purl(name: str, version: str) -> str:
    """Versions share their environment's packages: each purl is spelled (normalised, escaped) once."""
    from packageurl import PackageURL

    return str(PackageURL(type="pypi", name=name, version=version).to_string())


def _properties(facts: list[tuple[str, str]]) -> list[dict[str, str]]:
    """A sorted set, as the library keeps it: equal properties are written once."""
    return [{"name": f"mlplat:{key}", "value": value} for key, value in sorted(set(facts))]


def _unique(components: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Components are a set in the library: an exact repeat (a package listed twice) is written once."""
    seen: dict[str, dict[str, Any]] = {}
    for component in components:
        seen.setdefault(json.dumps(component, sort_keys=True), component)
    return list(seen.values())


def _component_order(component: dict[str, Any]) -> tuple[Any, ...]:
    """The library's order: type, group, name, version, bom-ref, with a missing value last."""
    version = component.get("version")
    return (component["type"], component["name"], (version is None, version or ""), component["bom-ref"])


def _uri(uri: str) -> str:
    """The library's best-effort escaping of characters an IRI reference may not hold (XsUri)."""
    for char, escaped in ((" ", "%20"), ('"', "%22"), ("'", "%27"), ("[", "%5B"), ("]", "%5D"), ("<", "%3C"),
                          (">", "%3E"), ("{", "%7B"), ("}", "%7D")):
        uri = uri.replace(char, escaped)
    return uri


def _without_empty(body: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in body.items() if value is not None}


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
