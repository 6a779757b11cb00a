"""`python -m runtime fetch`: download a registered model version's artifact for local serving.

Prints one JSON object: model, version, run id, artifact digest, local directory, an example request
row taken from the eval split (so `mlplat serve` can show a real request), and the version's evidence
(`mlplat promote` commits it; `mlplat sbom` renders its ML-BOM). The artifact's digest is checked
against the registry's tag and the evidence before anything is printed.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from runtime import artifact, evidence, tracking
from runtime.data import uris


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m runtime fetch")
    parser.add_argument("--model", required=True)
    parser.add_argument("--version", help="registry version (default: the one aliased champion)")
    parser.add_argument("--dest", type=Path, required=True)
    parser.add_argument("--tracking-uri", required=True)
    args = parser.parse_args(argv)
    try:
        client = tracking.client(args.tracking_uri)
        if args.version:
            version = client.get_model_version(args.model, args.version)
        else:
            version = client.get_model_version_by_alias(args.model, "champion")
        import mlflow.artifacts

        args.dest.mkdir(parents=True, exist_ok=True)
        local = Path(mlflow.artifacts.download_artifacts(artifact_uri=version.source, dst_path=str(args.dest),
                                                         tracking_uri=args.tracking_uri))
        sha256 = artifact.digest(local)
        pinned = version.tags.get("mlplat.artifact_sha256")
        if not pinned:  # nothing to check the download against: refused, as a server would refuse it
            raise RuntimeError(f"version {version.version} has no mlplat.artifact_sha256 tag; the artifact "
                               "cannot be checked (register it again with this platform)")
        if pinned != sha256:
            raise RuntimeError(f"downloaded artifact has sha256 {sha256}, the registry pins {pinned}")
        meta = artifact.load_meta(local)
        recorded = logged_evidence(version.run_id)
        if recorded is not None and recorded.get("artifactSha256") != sha256:
            raise RuntimeError(f"the version's evidence records artifact sha256 {recorded.get('artifactSha256')}, "
                               f"the downloaded artifact has {sha256}")
        example = None
        eval_uri = client.get_run(version.run_id).data.tags.get("mlplat.data.eval.uri")
        if eval_uri:
            try:
                frame = uris.load(eval_uri, _target(client, version.run_id))
                example = [float(v) for v in frame[meta["features"]].iloc[0].tolist()]
            except (uris.DataError, KeyError):
                example = None
    except Exception as exc:  # noqa: BLE001 - reported to the caller as one line
        print(f"fetch: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 2
    print(json.dumps({"model": args.model, "version": str(version.version), "runId": version.run_id,
                      "artifactSha256": sha256, "directory": str(local), "features": meta["features"],
                      "example": example, "source": version.source,
                      "specHash": version.tags.get("mlplat.spec_hash"), "gate": version.tags.get("mlplat.gate"),
                      "evidence": recorded}))
    return 0


def logged_evidence(run_id: str) -> dict | None:
    """The evidence the register step logged (runtime/evidence.py); None for versions registered without."""
    import mlflow.artifacts
    from mlflow.exceptions import MlflowException

    try:
        text = mlflow.artifacts.load_text(f"runs:/{run_id}/{evidence.RECORD_PATH}")
    except (MlflowException, OSError):
        return None
    return json.loads(text)


def _target(client, run_id: str) -> str:
    """The label column, as the training run's spec named it (the evaluate step logged the same data)."""
    return client.get_run(run_id).data.tags.get("mlplat.data.target", "target")
