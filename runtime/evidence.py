"""A registered version's evidence: everything its ML-BOM and model card state, in one JSON document.

Built by the register step from the run (lineage tags, metrics, gate decision, training
environment) and the resolved spec (governance, images); logged to the run as mlplat/evidence.json
beside the ML-BOM rendered from it. `mlplat promote` commits it next to the pin
(environments/<env>/evidence/), so the compiler renders each pinned version's ML-BOM offline.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from runtime.data.datasets import SERVED_TAG
from runtime.resolved import ResolvedSpec

RECORD_PATH = "mlplat/evidence.json"
BOM_PATH = "mlplat/bom.cdx.json"


def build(spec: ResolvedSpec, run: Any, version: Any, environment: dict[str, Any]) -> dict[str, Any]:
    """`run` and `version` are MLflow's Run and ModelVersion; `environment` is runtime.environment.describe()."""
    import json

    tags = run.data.tags
    gate = json.loads(tags.get("mlplat.gate.details", '{"passed": false, "champion": null, "checks": []}'))
    registered = datetime.fromtimestamp(version.creation_timestamp // 1000, tz=UTC)
    return {
        "apiVersion": "mlplat/v1",
        "kind": "VersionEvidence",
        "model": spec.name,
        "team": spec.team,
        "version": int(version.version),
        "registeredAt": registered.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "runId": run.info.run_id,
        "modelUri": version.source,
        "artifactSha256": tags["mlplat.artifact_sha256"],
        "specHash": tags["mlplat.spec_hash"],
        "gitCommit": tags.get("mlplat.git_commit", "unknown"),
        "trainedIn": tags.get("mlplat.environment", spec.environment),
        "description": spec.raw.get("description", ""),
        "owners": list(spec.raw.get("owners", [])),
        "riskTier": spec.raw.get("riskTier"),
        "task": spec.task,
        "framework": spec.framework,
        "data": {split: _data(tags, split) for split in ("train", "eval")},
        **({"features": json.loads(tags[SERVED_TAG])} if SERVED_TAG in tags else {}),
        "metrics": {name: float(value) for name, value in sorted(run.data.metrics.items())},
        "gate": gate,
        "governance": spec.spec.get("governance", {}),
        "images": {"training": spec.raw["trainingImage"], "serving": spec.raw.get("servingImage")},
        "environment": environment,
    }


def _data(tags: dict[str, str], split: str) -> dict[str, str]:
    """What the run read for a split: the declared URI and version, and what it was by content."""
    prefix = f"mlplat.data.{split}."
    found = {"uri": tags[prefix + "uri"], "version": tags[prefix + "version"], "sha256": tags.get(prefix + "sha256"),
             "featureService": tags.get("mlplat.data.feature_service")}
    return {key: value for key, value in found.items() if value}
