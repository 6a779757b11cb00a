"""`python -m runtime verify`: check a release pin against the model registry; every doubt fails.

Reads one JSON request on stdin:
    {"model": ..., "pin": {version, runId, modelUri, artifactSha256, specHash, gate}, "gates": [...],
     "baseline": <the pin live now, or null>, "evidence": <the committed evidence to compare, or null>,
     "requireDataDigests": <the environment's policy: the data's digests recorded, no label reused>}
or, in place of "pin", "describe": <a version, or "champion">, to check the registry's own record of it;
or "source": {version, runId, artifactSha256}, to check in the previous environment's registry the
version a copy came from: it exists, was made by that run, passed its gate there, is not archived, and
its artifact has that digest (the copy's bytes are the source's);
and prints {"model", "version", "passed", "checks": [{"name", "passed", "detail"}], "facts",
"provenance"}, where "facts" (with "describe") holds that record as a pin and its logged evidence, and
"provenance" the version's mlplat.promoted_from.* tags (environment, version, run_id, artifact_sha256),
empty for a version trained in this registry. Exit 0 when every check passed, 1 otherwise (MLflow
unreachable included: the gate fails closed).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

from runtime import artifact, tracking
from runtime.data.digests import digest_checks
from runtime.fetch import logged_evidence
from runtime.steps.gate import judge


class Fatal(Exception):
    """A check whose failure makes the later ones meaningless."""


def verify(client: Any, tracking_uri: str, request: dict[str, Any]) -> list[dict[str, Any]]:
    from mlflow.exceptions import MlflowException

    model, pin = request["model"], request["pin"]
    checks: list[dict[str, Any]] = []

    def check(name: str, passed: bool, detail: str, fatal: bool = False) -> None:
        checks.append({"name": name, "passed": bool(passed), "detail": detail})
        if fatal and not passed:
            raise Fatal(detail)

    try:
        try:
            version = client.get_model_version(model, str(pin["version"]))
        except MlflowException as exc:
            if exc.error_code == "RESOURCE_DOES_NOT_EXIST":
                check("version exists", False, f"{model} version {pin['version']} does not exist in the registry "
                      "(never registered, or deleted)", fatal=True)
            raise
        answered = (version.name, str(version.version))
        check("version exists", answered == (model, str(pin["version"])),
              f"{model} version {version.version}, registered from run {version.run_id}"
              if answered == (model, str(pin["version"])) else
              f"asked for {model} version {pin['version']}, the registry answered with {answered[0]} version "
              f"{answered[1]}", fatal=True)
        tags = version.tags
        # What Seldon downloads (the pin's modelUri) must be what is verified below (the version's source).
        same_source = pin.get("modelUri") == version.source
        check("model uri", same_source, f"the version's source is {version.source}" + (
            "" if same_source else f"; the pin's modelUri {pin.get('modelUri')} is not it"))
        same_run = version.run_id == pin["runId"]
        check("run id", same_run, f"registry run {version.run_id}" + ("" if same_run else f" != pinned {pin['runId']}"))
        recorded = tags.get("mlplat.artifact_sha256")
        check("artifact digest recorded", recorded == pin["artifactSha256"],
              f"registry records {recorded}" + ("" if recorded == pin["artifactSha256"] else
                                                f", the pin says {pin['artifactSha256']}"))
        with tempfile.TemporaryDirectory(prefix="mlplat-verify-") as tmp:
            try:
                import mlflow.artifacts

                local = Path(mlflow.artifacts.download_artifacts(artifact_uri=version.source, dst_path=tmp,
                                                                 tracking_uri=tracking_uri))
                actual = artifact.digest(local)
            except Exception as exc:  # noqa: BLE001 - a missing artifact fails the pin
                check("artifact intact", False, f"cannot read the artifact at {version.source}: {exc}", fatal=True)
            check("artifact intact", actual == pin["artifactSha256"],
                  f"artifact sha256 {actual}" + ("" if actual == pin["artifactSha256"] else " differs from the pin"))
        spec_hash = tags.get("mlplat.spec_hash")
        same_spec = spec_hash == pin["specHash"]
        check("spec hash", same_spec,
              f"trained from spec {spec_hash}" + ("" if same_spec else f", pinned {pin['specHash']}"))
        gate, stage = tags.get("mlplat.gate"), version.current_stage
        check("stage", gate == "passed" and stage != "Archived",
              f"registered with gate {gate!r}, stage {stage!r}" + ("" if gate == "passed" and stage != "Archived"
                                                                  else "; only versions that passed may be pinned"))
        if request.get("requireDataDigests"):
            for name, passed, detail in digest_checks(client, model, version):
                check(name, passed, detail)
        if request.get("evidence") is not None:
            logged = logged_evidence(version.run_id)
            differing = _differences(logged, request["evidence"]) if logged is not None else ["(none logged)"]
            check("evidence", not differing,
                  "the committed evidence equals what the register step logged" if not differing else
                  f"the committed evidence differs from what the register step logged in: {', '.join(differing)}")
        metrics = dict(client.get_run(version.run_id).data.metrics)
        baseline, baseline_version = None, None
        if request.get("baseline"):
            base = request["baseline"]
            try:
                baseline = dict(client.get_run(base["runId"]).data.metrics)
                baseline_version = str(base["version"])
            except MlflowException as exc:
                check("pinned version readable", False, f"cannot read the metrics of the version live now "
                      f"(v{base['version']}, run {base['runId']}): {exc.error_code}", fatal=True)
        for result in judge(request.get("gates", []), metrics, baseline, baseline_version):
            check(f"gate {result.condition}", result.passed, result.reason)
    except Fatal:
        pass
    except Exception as exc:  # noqa: BLE001 - MLflow unreachable or failing: fail closed
        checks.append({"name": "registry reachable", "passed": False,
                       "detail": f"MLflow at {tracking_uri} did not answer: {type(exc).__name__}: {exc}"[:500]})
    return checks


def verify_source(client: Any, tracking_uri: str, model: str, source: dict[str, Any]) -> list[dict[str, Any]]:
    """The checks of a copy's source version (the module's docstring)."""
    import mlflow.artifacts
    from mlflow.exceptions import MlflowException

    checks: list[dict[str, Any]] = []

    def check(name: str, passed: bool, detail: str) -> None:
        checks.append({"name": f"source {name}", "passed": bool(passed), "detail": detail})

    wanted = str(source["version"])
    try:
        try:
            version = client.get_model_version(model, wanted)
        except MlflowException as exc:
            if exc.error_code == "RESOURCE_DOES_NOT_EXIST":
                check("version exists", False, f"{model} version {wanted} does not exist in the source registry")
                return checks
            raise
        check("version exists", True, f"{model} version {wanted} at {tracking_uri}")
        check("run id", version.run_id == source["runId"], f"registered from run {version.run_id}"
              + ("" if version.run_id == source["runId"] else f", the copy names run {source['runId']}"))
        gate, stage = version.tags.get("mlplat.gate"), version.current_stage
        check("stage", gate == "passed" and stage != "Archived", f"gate {gate!r}, stage {stage!r} there")
        with tempfile.TemporaryDirectory(prefix="mlplat-verify-source-") as tmp:
            actual = artifact.digest(Path(mlflow.artifacts.download_artifacts(
                artifact_uri=version.source, dst_path=tmp, tracking_uri=tracking_uri)))
        same = actual == source["artifactSha256"]
        check("artifact identical", same, f"the source's artifact has sha256 {actual}" + (
            ", the copy's bytes are the same" if same else f"; the copy's is {source['artifactSha256']}"))
    except Exception as exc:  # noqa: BLE001 - the source registry unreachable or failing: fail closed
        check("registry reachable", False,
              f"MLflow at {tracking_uri} did not answer: {type(exc).__name__}: {exc}"[:500])
    return checks


def provenance(client: Any, model: str, version: str) -> dict[str, str]:
    """The version's mlplat.promoted_from.* tags, by their last word (empty: trained in this registry)."""
    tags = client.get_model_version(model, version).tags
    prefix = "mlplat.promoted_from."
    return {key[len(prefix):]: value for key, value in tags.items() if key.startswith(prefix)}


def _differences(logged: Any, committed: Any, path: str = "") -> list[str]:
    """Dotted paths of the fields where two JSON documents differ (at most 10)."""
    if isinstance(logged, dict) and isinstance(committed, dict):
        found = []
        for key in sorted(set(logged) | set(committed)):
            found += _differences(logged.get(key), committed.get(key), f"{path}.{key}" if path else key)
        return found[:10]
    if isinstance(logged, list) and isinstance(committed, list) and len(logged) == len(committed):
        return [d for i, (a, b) in enumerate(zip(logged, committed, strict=True))
                for d in _differences(a, b, f"{path}[{i}]")][:10]
    return [] if logged == committed and type(logged) is type(committed) else [path or "(the document)"]


def facts(client: Any, model: str, version: str) -> dict[str, Any]:
    """What the registry says of a version ("champion": the aliased one), as a pin and its logged
    evidence: what `mlplat promote` commits."""
    found = (client.get_model_version_by_alias(model, "champion") if version == "champion"
             else client.get_model_version(model, version))
    tags = found.tags
    return {"pin": {"version": int(found.version), "runId": found.run_id, "modelUri": found.source,
                    "artifactSha256": tags.get("mlplat.artifact_sha256"), "specHash": tags.get("mlplat.spec_hash"),
                    "gate": tags.get("mlplat.gate")},
            "evidence": logged_evidence(found.run_id)}


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m runtime verify")
    parser.add_argument("--tracking-uri", required=True)
    args = parser.parse_args(argv)
    request = json.load(sys.stdin)
    client = tracking.client(args.tracking_uri)
    if request.get("source"):  # the version a copy came from, in the previous environment's registry
        checks = verify_source(client, args.tracking_uri, request["model"], request["source"])
        passed = bool(checks) and all(c["passed"] for c in checks)
        print(json.dumps({"model": request["model"], "version": request["source"]["version"], "passed": passed,
                          "checks": checks, "facts": None, "provenance": {}}))
        return 0 if passed else 1
    described = None
    if request.get("describe"):  # the pin is what the registry says of the version: promote's case
        try:
            described = facts(client, request["model"], str(request["describe"]))
        except Exception as exc:  # noqa: BLE001 - reported as the one failed check
            missing = getattr(exc, "error_code", "") == "RESOURCE_DOES_NOT_EXIST"
            detail = (f"{request['model']} version {request['describe']} does not exist in the registry (never "
                      "registered, or deleted)" if missing else
                      f"cannot read {request['model']} version {request['describe']} from MLflow at "
                      f"{args.tracking_uri}: {type(exc).__name__}: {exc}"[:500])
            checks = [{"name": "version exists", "passed": False, "detail": detail}]
            print(json.dumps({"model": request["model"], "passed": False, "checks": checks}))
            return 1
        request = {**request, "pin": described["pin"]}
    checks = verify(client, args.tracking_uri, request)
    passed = bool(checks) and all(c["passed"] for c in checks)
    try:
        origin = provenance(client, request["model"], str(request["pin"]["version"])) if passed else {}
    except Exception:  # noqa: BLE001 - read just now by verify; a failure here is reported as no provenance
        origin = {}
    print(json.dumps({"model": request["model"], "version": request["pin"]["version"], "passed": passed,
                      "checks": checks, "facts": described, "provenance": origin}))
    return 0 if passed else 1
