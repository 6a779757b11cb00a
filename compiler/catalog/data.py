"""What the catalog shows, as plain data: every model with its owners, what each environment serves and
what it costs, its versions' metrics against its gates, its lineage, its last drift and quality results,
and the platform's adoption figures.

Sources: the checked repository (specs, pins, evidence, model cards and ML-BOMs), the rendered plan
(cost.py prices it), git history (adoption.py), the registry where it can be read (versions, metrics,
lineage tags), and the last local drift and quality results under .mlplat/<step>/<model>-<env>/. Where a
source is missing the catalog says "unknown" rather than guessing.
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path
from typing import Any, TypedDict

from compiler.catalog import adoption
from compiler.local.embedded import WORK_DIR
from compiler.pipeline.check import Checked
from compiler.pipeline.plan_files import Plan
from compiler.pipeline.tree_swap import OUTPUT_DIR
from compiler.reports import cost
from compiler.spec.resolved import ResolvedModel
from renderers import model_card, sbom

HEALTH = ("healthy", "attention", "unknown")


# The data's shape, as site.py reads it and the site's catalog.json holds it (keys as in the specs: lowerCamel).
class Share(TypedDict):
    version: int
    traffic: int


class Split(Share):
    role: str  # canary or shadow


class Serves(TypedDict, total=False):
    mode: str  # online or batch
    rollout: str
    main: Share
    candidate: Split | None
    replicas: dict[str, int]


class Workload(TypedDict):
    kind: str
    what: str
    monthly: float | None


class Cost(TypedDict):
    monthly: float | None
    monthlyMax: float | None
    workloads: list[Workload]


class EnvironmentEntry(TypedDict):
    serves: Serves | None
    cost: Cost
    health: dict[str, Any]  # status, and the last drift and quality results where there are any


class Links(TypedDict):
    modelCard: str | None
    mlboms: list[str]


class ModelEntry(TypedDict):
    name: str
    team: str
    description: str
    owners: list[str]
    riskTier: str | None
    task: str
    framework: str
    source: str
    gates: list[dict[str, Any]]
    environments: dict[str, EnvironmentEntry]
    versions: list[dict[str, Any]]  # the registry's record of each version, or its committed evidence
    versionsFrom: str
    health: str
    monthlyCost: float
    links: Links


class TeamEntry(TypedDict):
    name: str
    owners: list[str]
    members: list[str]
    gpuQuota: dict[str, int]
    models: list[str]
    monthlyCost: float


class CatalogData(TypedDict):
    platform: str
    currency: str
    environments: list[str]
    production: str | None
    registry: dict[str, Any]
    models: list[ModelEntry]
    teams: list[TeamEntry]
    adoption: dict[str, Any]  # adoption.figures
    deployments: list[dict[str, Any]]


def gather(root: Path, checked: Checked, plan: Plan, registry: dict[str, Any]) -> CatalogData:
    """The catalog's data. `registry`: {"uri", "models": {model: versions}} or {"uri", "error"}."""
    platform = checked.project.platform
    envs = [e.env.name for e in checked.environments]
    by_name: dict[str, list[ResolvedModel]] = defaultdict(list)
    for model in checked.models:
        by_name[model.name].append(model)
    workloads: dict[tuple[str, str], list[cost.Workload]] = defaultdict(list)
    for workload in cost.workloads(plan, platform):
        workloads[(workload.environment, workload.model)].append(workload)
    artifacts = {f.path for f in plan.files}
    models = [_model(root, resolved, workloads, artifacts, registry.get("models", {}).get(name))
              for name, resolved in sorted(by_name.items(), key=lambda item: (item[1][0].team, item[0]))]
    production = next((e.name for e in platform.spec.environments if e.policies.production), None)
    teams: list[TeamEntry] = []
    for team in platform.spec.teams:
        own = [m for m in models if m["team"] == team.name]
        teams.append({"name": team.name, "owners": list(team.owners), "members": list(team.members),
                      "gpuQuota": dict(team.gpu_quota), "models": [m["name"] for m in own],
                      "monthlyCost": sum(m["monthlyCost"] for m in own)})
    deployed = adoption.deployments(root, envs)
    return {"platform": platform.metadata.name, "currency": platform.spec.currency, "environments": envs,
            "production": production, "registry": {k: v for k, v in registry.items() if k != "models"},
            "models": models, "teams": teams,
            "adoption": adoption.figures(deployed, {t["name"]: len(t["models"]) for t in teams}, production),
            "deployments": [{"environment": d.environment, "model": d.model, "version": d.version,
                             "commit": d.commit, "at": d.at.isoformat(), "throughPlatform": d.through_platform}
                            for d in deployed]}


def _mlboms(resolved: list[ResolvedModel], artifacts: set[str]) -> list[str]:
    """The ML-BOMs the plan holds for the versions with evidence in each of the model's environments, at
    the paths renderers/sbom.py writes them to."""
    return sorted(path for model in resolved for version in model.evidence
                  if (path := f"{OUTPUT_DIR}/{model.environment}/{sbom.path(model.name, version)}") in artifacts)


def _model(root: Path, resolved: list[ResolvedModel], workloads: dict[tuple[str, str], list[cost.Workload]],
           artifacts: set[str], registered: list[dict[str, Any]] | None) -> ModelEntry:
    first = resolved[0]
    environments = {m.environment: _environment(root, m, workloads) for m in resolved}
    gates = [g.model_dump(by_alias=True, exclude_none=True) for g in resolved[-1].spec.evaluation.gates]
    versions = _versions(resolved, registered)
    card = f"{OUTPUT_DIR}/{model_card.path(first.team, first.name)}"
    return {
        "name": first.name, "team": first.team, "description": first.description, "owners": list(first.owners),
        "riskTier": first.risk_tier, "task": first.spec.task, "framework": first.spec.framework,
        "source": first.source, "gates": gates, "environments": environments, "versions": versions,
        "versionsFrom": "registry" if registered else "evidence",
        "health": _worst(e["health"]["status"] for e in environments.values()),
        "monthlyCost": sum(e["cost"]["monthly"] or 0.0 for e in environments.values()),
        "links": {"modelCard": card if card in artifacts else None, "mlboms": _mlboms(resolved, artifacts)},
    }


def _environment(root: Path, model: ResolvedModel, workloads: dict[tuple[str, str], list[cost.Workload]]
                 ) -> EnvironmentEntry:
    own = workloads.get((model.environment, model.name), [])
    priced = [w for w in own if w.monthly is not None]
    return {"serves": _serves(model),
            "cost": {"monthly": sum(w.monthly or 0.0 for w in priced) if priced else None,
                     "monthlyMax": sum(w.monthly_max or 0.0 for w in priced) if priced else None,
                     "workloads": [{"kind": w.kind, "what": w.what, "monthly": w.monthly} for w in own]},
            "health": _health(root, model)}


def _serves(model: ResolvedModel) -> Serves | None:
    release, spec = model.release, model.spec
    if release is None or (spec.serving is None and spec.scoring is None):
        return None
    if spec.serving is None:
        return {"mode": "batch", "main": {"version": release.version, "traffic": 100}, "candidate": None}
    candidate = release.candidate
    strategy = spec.serving.rollout.strategy
    split: Split | None = None
    if candidate is not None:
        role = "shadow" if strategy == "shadow" else "canary"
        # a canary candidate always has its step's traffic (the policy refuses one without)
        split = {"role": role, "version": candidate.version,
                 "traffic": 0 if role == "shadow" else candidate.traffic or 0}
    main_traffic = 100 - (split["traffic"] if split else 0)
    return {"mode": "online", "rollout": strategy, "main": {"version": release.version, "traffic": main_traffic},
            "candidate": split, "replicas": {"min": spec.serving.replicas.min, "max": spec.serving.replicas.max}}


def _health(root: Path, model: ResolvedModel) -> dict[str, Any]:
    """The last drift and quality results run here (mlplat drift|quality), where there are any."""
    found: dict[str, Any] = {}
    for step, good in (("drift", "no-drift"), ("quality", "healthy")):
        path = root / WORK_DIR / step / f"{model.name}-{model.environment}" / f"{step}.json"
        try:
            result = json.loads(path.read_text("utf-8"))
        except (OSError, ValueError):
            continue
        status = result.get("status")
        found[step] = {"status": status, "healthy": status == good,
                       **({"share": result["share"]} if "share" in result else {}),
                       **({"rows": result["rows"]} if "rows" in result else {})}
    statuses = ["healthy" if r["healthy"] else "attention" for r in found.values()]
    return {"status": _worst(statuses), **found}


def _worst(statuses: Any) -> str:
    seen = set(statuses)
    return "attention" if "attention" in seen else "healthy" if "healthy" in seen else "unknown"


def _versions(resolved: list[ResolvedModel], registered: list[dict[str, Any]] | None) -> list[dict[str, Any]]:
    """Oldest first: the registry's versions where it was read, else those with committed evidence."""
    deployed: dict[int, list[str]] = defaultdict(list)
    for model in resolved:
        if model.release is not None:
            deployed[model.release.version].append(model.environment)
            if model.release.candidate is not None:
                deployed[model.release.candidate.version].append(model.environment)
    if registered:
        out = [{"version": v["version"], "metrics": v["metrics"], "gate": v.get("gate"), "aliases": v["aliases"],
                "runId": v["runId"], "gitCommit": v.get("gitCommit"), "data": v.get("data", {}),
                "artifactSha256": v.get("artifactSha256")} for v in registered]
    else:
        evidence = {version: doc for model in resolved for version, doc in model.evidence.items()}
        out = [{"version": version, "metrics": doc.get("metrics", {}),
                "gate": "passed" if doc.get("gate", {}).get("passed") else "failed", "aliases": [],
                "runId": doc.get("runId"), "gitCommit": doc.get("gitCommit"), "data": doc.get("data", {}),
                "artifactSha256": doc.get("artifactSha256")} for version, doc in evidence.items()]
    for version in out:
        version["deployedIn"] = deployed.get(version["version"], [])
    return sorted(out, key=lambda v: v["version"])
