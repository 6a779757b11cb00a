"""A repository of N realistic models, built from the example repository's own specs and evidence.

Each generated model is a copy of one of the example specs (GPU and CPU training, schedules, canary
and shadow rollouts, drift and quality jobs, per-environment overlays), renamed and spread over
N / 25 teams; the example teams' feature definitions come along, for the copies that train on their
feature services. In staging and prod 30-50% of the served models are pinned, each pin with committed
evidence whose package list is this interpreter's installed distributions (about 200, like the
reference model's). The same N and seed always give the same bytes.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import random
import shutil
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[2]
EXAMPLE_EVIDENCE = REPO / "environments/prod/evidence/fraud-detector-v12.json"
PINNED_ENVIRONMENTS = ("staging", "prod")
MODELS_PER_TEAM = 25


def generate(root: Path, n: int, seed: int = 0) -> list[str]:
    """Write platform/, specs/ and the pins of `n` models under `root` (which must not exist); returns
    the spec files written, relative to root."""
    rng = random.Random(seed)
    root.mkdir(parents=True)
    shutil.copytree(REPO / "platform", root / "platform")
    (root / "specs").mkdir()
    shutil.copy(REPO / "specs/model.schema.json", root / "specs/model.schema.json")
    shutil.copy(REPO / "specs/features.schema.json", root / "specs/features.schema.json")
    for features in sorted((REPO / "specs").glob("*/features.yaml")):  # the feature services models train on
        (root / "specs" / features.parent.name).mkdir()
        shutil.copy(features, root / "specs" / features.parent.name / "features.yaml")
    platform = yaml.safe_load((root / "platform/platform.yaml").read_text())
    teams = _teams(platform, max(1, n // MODELS_PER_TEAM))
    platform["spec"]["teams"] += teams
    for cluster in platform["spec"]["clusters"]:
        for pool in cluster.get("gpuPools", {}).values():
            pool["capacity"] = 100_000  # a platform this size has the GPUs its models ask for
    (root / "platform/platform.yaml").write_text(yaml.safe_dump(platform, sort_keys=False))
    templates = sorted(p.parent for p in (REPO / "specs").glob("*/*/model.yaml"))
    packages = _packages()
    written = []
    releases: dict[str, dict[str, Any]] = {env: {} for env in PINNED_ENVIRONMENTS}
    for i in range(n):
        template = templates[i % len(templates)]
        team = teams[i % len(teams)]
        name = f"{template.name}-{i:04d}"
        folder = root / "specs" / team["name"] / name
        shutil.copytree(template, folder, ignore=shutil.ignore_patterns("__pycache__"))
        spec = yaml.safe_load((folder / "model.yaml").read_text())
        text = (folder / "model.yaml").read_text()
        text = text.replace(f"  name: {spec['metadata']['name']}\n", f"  name: {name}\n", 1)
        text = text.replace(f"  team: {spec['metadata']['team']}\n", f"  team: {team['name']}\n", 1)
        (folder / "model.yaml").write_text(text)
        written.append(f"specs/{team['name']}/{name}/model.yaml")
        if "serving" not in spec["spec"]:
            continue
        for env in PINNED_ENVIRONMENTS:
            if rng.random() < 0.4:
                releases[env][name] = _release(root, rng, platform, env, name, team, spec, packages)
    for env, pins in releases.items():
        body = {"apiVersion": "mlplat/v1", "kind": "Releases", "environment": env, "releases": pins}
        path = root / "environments" / env / "releases.yaml"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(yaml.safe_dump(body, sort_keys=False))
    return written


def _teams(platform: dict[str, Any], count: int) -> list[dict[str, Any]]:
    """`count` teams whose owners and members are everyone's of the example teams (so every copied
    spec's owners belong to its new team)."""
    example = platform["spec"]["teams"]
    owners = sorted({o for t in example for o in t["owners"]})
    members = sorted({m for t in example for m in t["members"]})
    return [{"name": f"team-{k:03d}", "owners": [f"@acme/team-{k:03d}", *owners], "members": list(members),
             "gpuQuota": {"dev": 10_000, "staging": 10_000, "prod": 10_000},
             "alerts": {"receiver": f"team-{k:03d}-oncall", "slackChannel": f"#team-{k:03d}"}}
            for k in range(count)]


def _packages() -> list[dict[str, str]]:
    found = {(d.metadata["Name"] or "").lower(): d.version for d in importlib.metadata.distributions()}
    return [{"name": name, "version": version} for name, version in sorted(found.items()) if name]


def _release(root: Path, rng: random.Random, platform: dict[str, Any], env: str, name: str,
             team: dict[str, Any], spec: dict[str, Any], packages: list[dict[str, str]]) -> dict[str, Any]:
    store = next(e["artifactStore"] for e in platform["spec"]["environments"] if e["name"] == env)
    version = rng.randint(1, 40)
    release = _pin(root, rng, store, env, name, version, team, spec, packages)
    rollout = {**spec["spec"]["serving"].get("rollout", {}),
               **((spec["spec"].get("environments", {}).get(env) or {}).get("serving", {}) or {}).get("rollout", {})}
    if rollout.get("strategy", "direct") != "direct" and rng.random() < 0.5:
        candidate = _pin(root, rng, store, env, name, version + 1, team, spec, packages)
        if rollout["strategy"] == "canary":
            first = (rollout.get("steps") or [{"traffic": rollout.get("canaryTraffic", 10)}])[0]["traffic"]
            candidate.update({"traffic": first, "since": "2026-11-30T09:00:00Z"})
        release["candidate"] = candidate
    return release


def _pin(root: Path, rng: random.Random, store: str, env: str, name: str, version: int, team: dict[str, Any],
         spec: dict[str, Any], packages: list[dict[str, str]]) -> dict[str, Any]:
    run_id = f"{rng.getrandbits(128):032x}"
    pin = {
        "version": version,
        "runId": run_id,
        "modelUri": f"{store}/{team['name']}/{name}/1/{run_id}/artifacts/model",
        "artifactSha256": hashlib.sha256(run_id.encode()).hexdigest(),
        "specHash": hashlib.sha256(name.encode()).hexdigest(),
        "gate": "passed",
        "approvedBy": [next(h for h in team["owners"] if "/" not in h)],  # a person of the team, not a GitHub team
    }
    evidence = json.loads(EXAMPLE_EVIDENCE.read_text())
    evidence.update({key: pin[key] for key in ("version", "runId", "modelUri", "artifactSha256", "specHash")})
    evidence.update({"model": name, "team": team["name"], "owners": spec["metadata"]["owners"],
                     "task": spec["spec"]["task"], "framework": spec["spec"]["framework"],
                     "riskTier": spec["metadata"].get("riskTier")})
    evidence["environment"]["packages"] = packages
    path = root / "environments" / env / "evidence" / f"{name}-v{version}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(evidence, indent=2, sort_keys=True) + "\n")
    return pin
