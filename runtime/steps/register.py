"""register: create the model version with its lineage, then move the alias the gate decided.

Gate passed: the version becomes `champion`. Gate failed: it becomes `challenger`, for inspection,
and the champion stays. No recorded decision (the gate could not decide): nothing is registered.
"""

from __future__ import annotations

import argparse
import json
import sys

from runtime import tracking
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
        alias = CHAMPION if decision == "passed" else CHALLENGER
        client.set_registered_model_alias(name, alias, version.version)
    except Exception as exc:  # noqa: BLE001 - reported; the champion alias is only moved last
        print(f"register: failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 2
    result = {"model": name, "version": version.version, "alias": alias, "runId": args.run_id,
              "artifactSha256": version_tags.get("mlplat.artifact_sha256"), "source": source}
    (args.outputs / "version").write_text(str(version.version))
    (args.outputs / "registered.json").write_text(json.dumps(result, indent=2, sort_keys=True) + "\n")
    print(f"register: {name} version {version.version} is now {alias}", flush=True)
    return 0


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
