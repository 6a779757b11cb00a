"""`python -m runtime copy-version export|import`: one registered version carried from one environment's
registry and artifact store into the next one's, the same bytes, so that a version is trained once.

`mlplat promote` runs the two halves in two processes, each with the credentials of one environment only
(compiler/gitops/registry_copy.py), through a folder on the promoting machine:

- export (source registry): the version must have passed its gate and not be archived; its artifact is
  downloaded and must have the digest its tag records; the folder gets the artifact, and version.json
  with the version's tags, its run's lineage tags, parameters and metrics, and its logged evidence and
  training-environment record.
- import (target registry): the folder's artifact must still have that digest; a version copied from the
  same source run before is reused (a second promote of the same version copies nothing). Otherwise a run
  is made in the model's experiment (artifacts under the target's store) with the source run's tags,
  parameters and metrics and the provenance tags `mlplat.promoted_from.{environment,version,run_id}`, the
  artifact is logged, and a version is registered from it with the source version's tags. Its evidence is
  the source's with the new version, run and location and `promotedFrom`, logged with its ML-BOM. Last,
  the artifact is downloaded again from the target store: a digest that differs deletes the version and
  fails the copy.

Each half prints one JSON object and exits 0, or prints its reason on stderr and exits 2.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from runtime import artifact, environment, evidence, tracking
from runtime.fetch import logged_evidence

MANIFEST = "version.json"
PROVENANCE = "mlplat.promoted_from."  # + environment, version, run_id, artifact_sha256
# What a copied run keeps of the source run's tags: mlplat's lineage and the commit MLflow shows
KEPT_RUN_TAGS = ("mlplat.", "mlflow.source.git.commit")


class CopyError(Exception):
    """The version cannot be copied; the message says why."""


def export(client: Any, tracking_uri: str, model: str, version: str, folder: Path) -> dict[str, Any]:
    import mlflow.artifacts

    found = client.get_model_version(model, version)
    tags = dict(found.tags)
    digest = tags.get("mlplat.artifact_sha256")
    if tags.get("mlplat.gate") != "passed" or found.current_stage == "Archived":
        raise CopyError(f"{model} version {version} did not pass its gate (gate {tags.get('mlplat.gate')!r}, stage "
                        f"{found.current_stage!r}); only versions that passed are copied")
    if not digest:
        raise CopyError(f"{model} version {version} has no mlplat.artifact_sha256 tag: its bytes cannot be checked")
    recorded = logged_evidence(found.run_id)
    if recorded is None:
        raise CopyError(f"{model} version {version} has no evidence on its run ({evidence.RECORD_PATH})")
    local = Path(mlflow.artifacts.download_artifacts(artifact_uri=found.source, dst_path=str(folder),
                                                     tracking_uri=tracking_uri))
    if local.name != tracking.ARTIFACT_PATH:
        local = local.rename(folder / tracking.ARTIFACT_PATH)
    actual = artifact.digest(local)
    if actual != digest:
        raise CopyError(f"{model} version {version}'s artifact at {found.source} has sha256 {actual}, its tag "
                        f"records {digest}: not copied")
    run = client.get_run(found.run_id)
    try:
        trained_in = json.loads(mlflow.artifacts.load_text(f"runs:/{found.run_id}/{environment.RECORD_PATH}"))
    except Exception:  # noqa: BLE001 - versions registered before the record existed have none
        trained_in = None
    manifest = {
        "model": model, "version": int(found.version), "runId": found.run_id, "source": found.source,
        "artifactSha256": digest, "versionTags": {k: v for k, v in tags.items() if k.startswith("mlplat.")},
        "experiment": client.get_experiment(run.info.experiment_id).name,
        "runTags": {k: v for k, v in run.data.tags.items() if k.startswith(KEPT_RUN_TAGS)},
        "params": dict(run.data.params), "metrics": dict(run.data.metrics),
        "evidence": recorded, "trainedIn": trained_in,
    }
    (folder / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True), "utf-8")
    return {key: manifest[key] for key in ("model", "version", "runId", "artifactSha256")}


def import_(client: Any, tracking_uri: str, folder: Path, *, source_environment: str, environment_name: str,
            artifact_root: str | None) -> dict[str, Any]:
    manifest = json.loads((folder / MANIFEST).read_text("utf-8"))
    model, digest = manifest["model"], manifest["artifactSha256"]
    model_dir = folder / tracking.ARTIFACT_PATH
    if artifact.digest(model_dir) != digest:
        raise CopyError(f"the exported artifact in {model_dir} no longer has sha256 {digest}")
    provenance = {f"{PROVENANCE}environment": source_environment, f"{PROVENANCE}version": str(manifest["version"]),
                  f"{PROVENANCE}run_id": manifest["runId"], f"{PROVENANCE}artifact_sha256": digest}
    earlier = _earlier_copy(client, model, provenance)
    if earlier is not None:
        return _result(earlier, manifest, copied=False)
    _ensure_registered_model(client, model, manifest)
    experiment = tracking.experiment_id(client, manifest["experiment"], artifact_root)
    run_id = client.create_run(experiment, tags={**manifest["runTags"], **provenance},
                               run_name=f"{model}-{environment_name}-from-{source_environment}").info.run_id
    try:
        from mlflow.entities import Metric, Param

        now = int(datetime.now(UTC).timestamp() * 1000)
        client.log_batch(run_id, metrics=[Metric(k, float(v), now, 0) for k, v in sorted(manifest["metrics"].items())],
                         params=[Param(k, v) for k, v in sorted(manifest["params"].items())])
        client.log_artifacts(run_id, str(model_dir), tracking.ARTIFACT_PATH)
        if manifest["trainedIn"] is not None:
            client.log_dict(run_id, manifest["trainedIn"], environment.RECORD_PATH)
        client.set_terminated(run_id, "FINISHED")
        source = f"{client.get_run(run_id).info.artifact_uri.rstrip('/')}/{tracking.ARTIFACT_PATH}"
        version = client.create_model_version(
            model, source, run_id=run_id, tags={**manifest["versionTags"], "mlplat.run_id": run_id, **provenance},
            description=f"{model} trained in {manifest['evidence'].get('trainedIn', source_environment)}, copied "
                        f"from {source_environment} version {manifest['version']}")
    except Exception:
        client.set_terminated(run_id, "FAILED")
        raise
    record = _evidence(manifest, version, source_environment)
    client.log_dict(run_id, record, evidence.RECORD_PATH)
    from renderers import mlbom

    client.log_text(run_id, mlbom.to_text(mlbom.document(record)), evidence.BOM_PATH)
    _check_arrival(client, tracking_uri, model, version, digest)
    return _result(version, manifest, copied=True)


def _earlier_copy(client: Any, model: str, provenance: dict[str, str]) -> Any:
    """A version of `model` copied from the same source run with the same bytes, if the target has one."""
    from mlflow.exceptions import MlflowException

    try:
        versions = client.search_model_versions(f"name='{model}'")
    except MlflowException:
        return None
    same = [v for v in versions if all(v.tags.get(k) == value for k, value in provenance.items())]
    return min(same, key=lambda v: int(v.version)) if same else None


def _ensure_registered_model(client: Any, model: str, manifest: dict[str, Any]) -> None:
    from mlflow.exceptions import MlflowException

    try:
        client.get_registered_model(model)
    except MlflowException as exc:
        if exc.error_code != "RESOURCE_DOES_NOT_EXIST":
            raise
        team = manifest["versionTags"].get("mlplat.team") or manifest["evidence"].get("team", "")
        client.create_registered_model(model, tags={"mlplat.team": team},
                                       description=manifest["evidence"].get("description", ""))


def _evidence(manifest: dict[str, Any], version: Any, source_environment: str) -> dict[str, Any]:
    """The source's evidence as the copy's: its own version, run and location, and where it came from."""
    registered = datetime.fromtimestamp(version.creation_timestamp // 1000, tz=UTC)
    return {**manifest["evidence"], "version": int(version.version),
            "registeredAt": registered.strftime("%Y-%m-%dT%H:%M:%SZ"), "runId": version.run_id,
            "modelUri": version.source,
            "promotedFrom": {"environment": source_environment, "version": manifest["version"],
                             "runId": manifest["runId"]}}


def _check_arrival(client: Any, tracking_uri: str, model: str, version: Any, digest: str) -> None:
    """The artifact as the target's store holds it: another digest deletes the version (nothing half-copied
    can be pinned) and fails the copy."""
    import mlflow.artifacts

    with tempfile.TemporaryDirectory(prefix="mlplat-arrival-") as tmp:
        arrived = artifact.digest(Path(mlflow.artifacts.download_artifacts(
            artifact_uri=version.source, dst_path=tmp, tracking_uri=tracking_uri)))
    if arrived != digest:
        client.delete_model_version(model, version.version)
        client.set_terminated(version.run_id, "FAILED")
        raise CopyError(f"the artifact arrived at {version.source} with sha256 {arrived}, not {digest}; the copy "
                        f"(version {version.version}) was deleted")


def _result(version: Any, manifest: dict[str, Any], copied: bool) -> dict[str, Any]:
    return {"model": manifest["model"], "version": int(version.version), "runId": version.run_id,
            "source": version.source, "artifactSha256": manifest["artifactSha256"], "copied": copied,
            "from": {"version": manifest["version"], "runId": manifest["runId"]}}


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m runtime copy-version", description=__doc__.splitlines()[0])
    parser.add_argument("half", choices=("export", "import"))
    parser.add_argument("--tracking-uri", required=True, help="this half's registry")
    parser.add_argument("--folder", type=Path, required=True, help="where export writes and import reads")
    parser.add_argument("--model", help="export: the registered model")
    parser.add_argument("--version", help="export: its version")
    parser.add_argument("--source-environment", help="import: the environment the version comes from")
    parser.add_argument("--environment", help="import: the environment it is copied into")
    parser.add_argument("--artifact-root", help="import: the target environment's artifact store")
    args = parser.parse_args(argv)
    try:
        client = tracking.client(args.tracking_uri)
        if args.half == "export":
            if not (args.model and args.version):
                raise CopyError("export needs --model and --version")
            args.folder.mkdir(parents=True, exist_ok=True)
            result = export(client, args.tracking_uri, args.model, args.version, args.folder)
        else:
            if not (args.source_environment and args.environment):
                raise CopyError("import needs --source-environment and --environment")
            result = import_(client, args.tracking_uri, args.folder, source_environment=args.source_environment,
                             environment_name=args.environment, artifact_root=args.artifact_root)
    except Exception as exc:  # noqa: BLE001 - one line for the caller; nothing is pinned on a failed copy
        print(f"copy-version {args.half}: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(result))
    return 0
