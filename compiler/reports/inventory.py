"""What the repository says about its models: the rows of `mlplat list` and the summary of `mlplat describe`.

Plain data (JSON-ready) from a checked project: each model's team, task and framework, and what each
environment serves (environments/<env>/releases.yaml: the pinned version, its candidate and the
candidate's traffic). The registry's side (versions, aliases) is the CLI's to add.
"""

from __future__ import annotations

from typing import Any

from compiler.pipeline.check import Checked
from compiler.spec.releases import Release
from compiler.spec.resolved import ResolvedModel


def model_rows(checked: Checked) -> list[dict[str, Any]]:
    """One row per model, by team and name."""
    by_name: dict[str, list[ResolvedModel]] = {}
    for model in checked.models:  # environments in promotion order
        by_name.setdefault(model.name, []).append(model)
    rows = []
    for name, resolved in by_name.items():
        first = resolved[0]
        rows.append({"model": name, "team": first.team, "task": first.spec.task, "framework": first.spec.framework,
                     "riskTier": first.risk_tier, "description": first.description,
                     "serves": {m.environment: _serving(m) for m in resolved}})
    return sorted(rows, key=lambda row: (row["team"], row["model"]))


def environments(checked: Checked) -> list[str]:
    return [environment.env.name for environment in checked.environments]


def model_summary(checked: Checked, name: str) -> dict[str, Any] | None:
    """The spec as each environment resolves it, in brief, and the pins; None for an unknown model."""
    resolved = [m for m in checked.models if m.name == name]
    if not resolved:
        return None
    first = resolved[0]
    return {"model": name, "team": first.team, "owners": list(first.owners), "riskTier": first.risk_tier,
            "description": first.description, "source": first.source, "task": first.spec.task,
            "framework": first.spec.framework, "environments": {m.environment: _environment(m) for m in resolved}}


def _serving(model: ResolvedModel) -> dict[str, Any] | None:
    """What the environment serves or scores in batch: None for a model it does not deploy."""
    release = model.release
    if release is not None and model.spec.serving is None and model.spec.scoring is not None:
        return {"version": release.version, "candidate": None, "rollout": "batch"}
    if release is None or model.spec.serving is None:
        return None
    return {"version": release.version, "candidate": _candidate(release),
            "rollout": model.serving.rollout.strategy}


def _candidate(release: Release) -> dict[str, Any] | None:
    candidate = release.candidate
    if candidate is None:
        return None
    return {"version": candidate.version, "traffic": candidate.traffic}


def _environment(model: ResolvedModel) -> dict[str, Any]:
    spec = model.spec
    data = spec.training.data
    release = model.release
    return {
        "data": {"featureService": data.feature_service, "train": data.train.uri, "eval": data.eval.uri},
        "schedule": spec.training.schedule,
        "gates": [gate.model_dump(by_alias=True, exclude_none=True) for gate in spec.evaluation.gates],
        "serving": None if spec.serving is None else {
            "rollout": spec.serving.rollout.strategy,
            "replicas": {"min": spec.serving.replicas.min, "max": spec.serving.replicas.max}},
        "scoring": None if spec.scoring is None else {
            "schedule": spec.scoring.schedule, "input": spec.scoring.input, "output": spec.scoring.output},
        "pinned": None if release is None else {
            "version": release.version, "gate": release.gate, "approvedBy": list(release.approved_by),
            "artifactSha256": release.artifact_sha256, "candidate": _candidate(release)},
    }
