"""register: create the model version with its lineage, then move the alias the gate decided.

Gate passed: the version becomes `champion`. Gate failed: it becomes `challenger`, for inspection,
and the champion stays. No recorded decision (the gate could not decide): nothing is registered.
Before the alias moves, the version's evidence (runtime/evidence.py) and its CycloneDX ML-BOM
(renderers/mlbom.py, the one module of the compiler's side that the runtime imports) are logged to
the run and written to the step's outputs.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from runtime import environment, evidence, tracking
from runtime.resolved import ResolvedSpec
from runtime.steps.gate import CHAMPION

CHALLENGER = "challenger"


def run(spec: ResolvedSpec, args: argparse.Namespace) -> int:
    client = tracking.client(args.tracking_uri)
    try:
        run_info = tracking.finished_run(client, args.run_id)
        tags = run_info.data.tags
        decision = tags.get("mlplat.gate")
        if decision not in ("passed", "failed"):
            print(f"register: run {args.run_id} has no gate decision; nothing registered", file=sys.stderr)
            return 2
        name = spec.registered_model
        _ensure_registered_model(client, name, spec)
        version_tags = {k: v for k, v in tags.items() if k.startswith("mlplat.")}
        version_tags["mlplat.run_id"] = args.run_id
        source = f"{run_info.info.artifact_uri.rstrip('/')}/{tracking.ARTIFACT_PATH}"
        version = client.create_model_version(name, source, run_id=args.run_id, tags=version_tags,
                                              description=f"{spec.name} trained in {spec.environment}")
        record = _record_evidence(client, spec, run_info, version, args.outputs)
        alias = CHAMPION if decision == "passed" else CHALLENGER
        client.set_registered_model_alias(name, alias, version.version)
    except Exception as exc:  # noqa: BLE001 - reported; the champion alias is only moved last
        print(f"register: failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 2
    print(f"register: evidence and ML-BOM logged to the run ({evidence.BOM_PATH}, serial {record['serialNumber']})",
          flush=True)
    result = {"model": name, "version": version.version, "alias": alias, "runId": args.run_id,
              "artifactSha256": version_tags.get("mlplat.artifact_sha256"), "source": source}
    (args.outputs / "version").write_text(str(version.version))
    (args.outputs / "alias").write_text(alias)
    (args.outputs / "registered.json").write_text(json.dumps(result, indent=2, sort_keys=True) + "\n")
    print(f"register: {name} version {version.version} is now {alias}", flush=True)
    return 0


def _record_evidence(client: Any, spec: ResolvedSpec, run_info: Any, version: Any, outputs: Path) -> dict[str, Any]:
    """Evidence and ML-BOM of the new version, on its run and in the step's outputs; returns the BOM."""
    import mlflow.artifacts

    from renderers import mlbom

    trained_in = json.loads(mlflow.artifacts.load_text(f"{run_info.info.artifact_uri.rstrip('/')}/"
                                                       f"{environment.RECORD_PATH}"))
    facts = evidence.build(spec, run_info, version, trained_in)
    bom = mlbom.document(facts)
    client.log_dict(run_info.info.run_id, facts, evidence.RECORD_PATH)
    client.log_text(run_info.info.run_id, mlbom.to_text(bom), evidence.BOM_PATH)
    (outputs / "evidence.json").write_text(json.dumps(facts, indent=2, sort_keys=True) + "\n", "utf-8")
    (outputs / "bom.cdx.json").write_text(mlbom.to_text(bom), "utf-8")
    return bom


def _ensure_registered_model(client, name: str, spec: ResolvedSpec) -> None:
    from mlflow.exceptions import MlflowException

    try:
        client.get_registered_model(name)
    except MlflowException as exc:
        if exc.error_code != "RESOURCE_DOES_NOT_EXIST":
            raise
        try:
            client.create_registered_model(name, tags={"mlplat.team": spec.team},
                                           description=spec.raw.get("description", ""))
        except MlflowException as race:
            if race.error_code != "RESOURCE_ALREADY_EXISTS":
                raise
