"""MLflow access shared by the steps: one client for tracking and registry, experiments, lineage tags."""

from __future__ import annotations

import os
from typing import Any

from runtime.resolved import ResolvedSpec

# Fail fast rather than hang: a step that cannot reach MLflow stops (and a gate fails closed).
_HTTP_DEFAULTS = {"MLFLOW_HTTP_REQUEST_MAX_RETRIES": "3", "MLFLOW_HTTP_REQUEST_TIMEOUT": "30",
                  "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "1"}
ARTIFACT_PATH = "model"


def client(tracking_uri: str) -> Any:
    for key, value in _HTTP_DEFAULTS.items():
        os.environ.setdefault(key, value)
    import mlflow
    from mlflow.tracking import MlflowClient

    mlflow.set_tracking_uri(tracking_uri)
    mlflow.set_registry_uri(tracking_uri)
    return MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)


def experiment_id(client: Any, name: str, artifact_root: str | None) -> str:
    """The experiment's id, creating it (with artifacts under `artifact_root`, when given) if missing."""
    from mlflow.exceptions import MlflowException

    existing = client.get_experiment_by_name(name)
    if existing is not None:
        return existing.experiment_id
    location = f"{artifact_root.rstrip('/')}/{name}" if artifact_root else None
    try:
        return client.create_experiment(name, artifact_location=location)
    except MlflowException:  # created meanwhile by a concurrent run
        return client.get_experiment_by_name(name).experiment_id


def lineage_tags(spec: ResolvedSpec, git_commit: str) -> dict[str, str]:
    """What ties a run (and the model version registered from it) to its code, data and spec."""
    data = spec.training["data"]
    return {
        "mlplat.model": spec.name,
        "mlplat.team": spec.team,
        "mlplat.environment": spec.environment,
        "mlplat.source": spec.raw["source"],
        "mlplat.spec_hash": spec.spec_hash,
        "mlplat.git_commit": git_commit,
        "mlflow.source.git.commit": git_commit,
        "mlplat.data.train.uri": data["train"]["uri"],
        "mlplat.data.train.version": data["train"]["version"],
        "mlplat.data.eval.uri": data["eval"]["uri"],
        "mlplat.data.eval.version": data["eval"]["version"],
        "mlplat.data.target": spec.target,
        **({"mlplat.data.feature_service": spec.feature_service} if spec.feature_service else {}),
    }


def finished_run(client: Any, run_id: str) -> Any:
    run = client.get_run(run_id)
    if run.info.status != "FINISHED":
        raise RuntimeError(f"run {run_id} is {run.info.status}, not FINISHED")
    return run
