"""`python -m runtime versions --model M [--model N ...] --tracking-uri U`: models' registered versions, for
`mlplat describe` and `mlplat catalog` (one interpreter, one MLflow import, for every model).

Prints one JSON object: {"models": {M: [...], ...}}, newest first, each with its version, run id,
creation time (ms since the epoch), aliases, the gate verdict and the artifact digest and spec hash the
register step tagged, the run's metrics, and its lineage: the code commit and each data split's URI,
version and content digest as the train step tagged them. A model the registry does not know has no
versions.

Exit codes: 0 done, 2 the registry could not be read.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from runtime import tracking


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m runtime versions")
    parser.add_argument("--model", required=True, action="append")
    parser.add_argument("--tracking-uri", required=True)
    args = parser.parse_args(argv)
    try:
        client = tracking.client(args.tracking_uri)
        found = {model: versions(client, model) for model in args.model}
    except Exception as exc:  # noqa: BLE001 - reported to the caller as one line
        print(f"versions: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 2
    print(json.dumps({"models": found}, sort_keys=True))
    return 0


def versions(client: Any, model: str) -> list[dict[str, Any]]:
    from mlflow.exceptions import MlflowException

    try:
        aliases = client.get_registered_model(model).aliases
    except MlflowException as exc:
        if exc.error_code == "RESOURCE_DOES_NOT_EXIST":
            return []
        raise
    by_version: dict[str, list[str]] = {}
    for alias, version in aliases.items():
        by_version.setdefault(str(version), []).append(alias)
    out = []
    for version in client.search_model_versions(f"name = '{model}'"):
        run = client.get_run(version.run_id)
        out.append({"version": int(version.version), "runId": version.run_id, "createdAt": version.creation_timestamp,
                    "aliases": sorted(by_version.get(str(version.version), [])),
                    "gate": version.tags.get("mlplat.gate"),
                    "artifactSha256": version.tags.get("mlplat.artifact_sha256"),
                    "specHash": version.tags.get("mlplat.spec_hash"),
                    "metrics": dict(sorted(run.data.metrics.items())),
                    "gitCommit": run.data.tags.get("mlplat.git_commit"),
                    "data": {split: {field: run.data.tags.get(f"mlplat.data.{split}.{field}")
                                     for field in ("uri", "version", "sha256")} for split in ("train", "eval")}})
    return sorted(out, key=lambda v: -v["version"])
