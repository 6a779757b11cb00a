"""Platform policy: checks of the platform config, across specs, and per environment."""

from __future__ import annotations

import difflib
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import replace
from pathlib import PurePosixPath
from typing import Any

from compiler.pipeline.errors import SpecError
from compiler.pipeline.loader import Document
from compiler.pipeline.project import LoadedReleases, LoadedSpec, Project
from compiler.pipeline.resolve import SpecLocator
from compiler.spec.data_uris import outside_roots
from compiler.spec.evidence import evidence_path
from compiler.spec.model import ComputeResources
from compiler.spec.names import model_name_problem, namespace_for, namespace_problem
from compiler.spec.platform import Cluster, Environment, Platform, Team
from compiler.spec.releases import PinnedVersion, Release
from compiler.spec.resolved import ResolvedModel
from compiler.spec.types import is_digest_pinned


def platform_policy(platform: Platform, doc: Document) -> list[SpecError]:
    """Cross-references inside platform.yaml."""
    errors: list[SpecError] = []
    spec = platform.spec
    named: list[tuple[str, Sequence[Environment | Cluster | Team]]] = [
        ("environments", spec.environments), ("clusters", spec.clusters), ("teams", spec.teams)]
    for section, items in named:
        seen: dict[str, int] = {}
        for index, item in enumerate(items):
            if item.name in seen:
                message = f"{section[:-1]} {item.name!r} is defined twice (first at index {seen[item.name]})"
                errors.append(doc.error(("spec", section, index, "name"), message))
            seen.setdefault(item.name, index)
    clusters = [c.name for c in spec.clusters]
    envs = platform.environment_names
    for index, env in enumerate(spec.environments):
        if env.cluster not in clusters:
            errors.append(doc.error(("spec", "environments", index, "cluster"), f"unknown cluster {env.cluster!r}",
                                    _known(env.cluster, clusters)))
        for team in spec.teams:
            problem = namespace_problem(namespace_for(env, team.name))
            if problem:
                errors.append(doc.error(("spec", "environments", index, "namespace"),
                                        f"for team {team.name!r}: {problem}"))
    if platform.team(spec.platform_team) is None:
        errors.append(doc.error(("spec", "platformTeam"), f"unknown team {spec.platform_team!r}",
                                _known(spec.platform_team, [t.name for t in spec.teams])))
    for index, team in enumerate(spec.teams):
        for env_name, quota in team.gpu_quota.items():
            if env_name not in envs:
                errors.append(doc.error(("spec", "teams", index, "gpuQuota", env_name),
                                        f"unknown environment {env_name!r}", _known(env_name, envs), key=True))
                continue
            cluster = next((c for c in spec.clusters if c.name == platform.environment(env_name).cluster), None)
            capacity = sum(pool.capacity for pool in cluster.gpu_pools.values()) if cluster else quota
            if quota > capacity:
                errors.append(doc.error(("spec", "teams", index, "gpuQuota", env_name),
                                        f"{quota} GPUs can never be used in {env_name!r}: its cluster "
                                        f"{cluster.name if cluster else ''!r} has {capacity} in all its GPU pools",
                                        "lower the quota, or add the GPUs to the cluster's gpuPools capacity"))
    return errors


def model_policy(project: Project) -> list[SpecError]:
    """Checks of each spec against the platform and against the other specs."""
    platform = project.platform
    errors: list[SpecError] = []
    first_by_name: dict[str, LoadedSpec] = {}
    for loaded in project.models:
        doc, meta = loaded.doc, loaded.model.metadata
        team = platform.team(meta.team)
        if team is None:
            errors.append(doc.error(("metadata", "team"), f"unknown team {meta.team!r}",
                                    _known(meta.team, [t.name for t in platform.spec.teams])))
        else:
            people = set(team.owners) | set(team.members)
            for index, owner in enumerate(meta.owners):
                if owner not in people:
                    errors.append(doc.error(("metadata", "owners", index),
                                            f"{owner} is not an owner or member of team {team.name!r}",
                                            "add them to the team in platform/platform.yaml first"))
        expected = f"specs/{meta.team}/{meta.name}/model.yaml"
        if PurePosixPath(doc.file) != PurePosixPath(expected):
            errors.append(doc.error(("metadata", "name"), f"spec is at {doc.file} but its team and name say {expected}",
                                    "move the file or fix metadata.name/metadata.team"))
        problem = model_name_problem(meta.name)
        if problem:
            errors.append(doc.error(("metadata", "name"), problem))
        if meta.name in first_by_name:
            other = first_by_name[meta.name].doc
            pos, _ = other.locate(("metadata", "name"))
            errors.append(doc.error(("metadata", "name"), f"model name {meta.name!r} is already used by "
                                    f"{other.file}:{pos.line}", "model names are unique across the platform"))
        first_by_name.setdefault(meta.name, loaded)
        for env_name in loaded.model.spec.environments:
            if env_name not in platform.environment_names:
                errors.append(doc.error(("spec", "environments", env_name), f"unknown environment {env_name!r}",
                                        _known(env_name, platform.environment_names), key=True))
    return errors


def environment_policy(model: ResolvedModel, where: SpecLocator, platform_doc: Document) -> list[SpecError]:
    """What the model's environment requires: GPU types its cluster offers, pinned images, limits.

    Messages say `{envs}` where the environment goes: `merge_environments` fills it in, so that one
    problem found in staging and prod is reported once, naming both.
    """
    errors: list[SpecError] = []
    env, spec = model.env, model.spec
    sections: list[tuple[str, ComputeResources, str | None, str | None]] = [
        ("training", spec.training.resources, spec.training.image, model.training_image)]
    if spec.serving:
        sections.append(("serving", spec.serving.resources, spec.serving.image, model.serving_image))
    for section, resources, own_image, image in sections:
        if resources.gpus > 0 and resources.gpu_type and model.gpu_pool(resources.gpu_type) is None:
            offered = ", ".join(sorted(model.cluster.gpu_pools)) or "none"
            errors.append(where.error((section, "resources", "gpuType"),
                                      f"GPU type {resources.gpu_type!r} is not offered by cluster "
                                      f"{model.cluster.name!r} of {{envs}} (offered: {offered})",
                                      "override gpuType (or gpus: 0) for that environment under spec.environments"))
        default_key = "trainingGpu" if section == "training" and resources.gpus and own_image is None else section
        if default_key == "trainingGpu" and image == model.runtime_image:  # no GPU build to run in
            errors.append(platform_doc.error(("spec", "defaults", "images"),
                                             f"{model.name} trains on {resources.gpus} GPU(s) in {{envs}} in the "
                                             "platform's image, but defaults.images has no trainingGpu: the CPU "
                                             "build of torch would leave the GPUs idle",
                                             "add trainingGpu: the runtime image built from "
                                             "platform/images/runtime-gpu (a CUDA build of torch)"))
        if _digests_required(env) and not is_digest_pinned(image or ""):
            hint = "pin it: image@sha256:<digest>"
            if own_image is None:
                errors.append(platform_doc.error(("spec", "defaults", "images", default_key),
                                                 f"{{envs}} require digest-pinned images; "
                                                 f"default {section} image {image!r} has no digest", hint))
            else:
                errors.append(where.error((section, "image"), f"{{envs}} require digest-pinned images; "
                                          f"{image!r} has no @sha256 digest", hint))
        if env.policies.require_resource_limits:
            missing = [f for f in ("cpu", "memory") if getattr(resources, f) is None]
            if missing:
                errors.append(where.error((section, "resources"),
                                          f"{{envs}} require resource limits; {section} does not set "
                                          f"{' and '.join(missing)}",
                                          "set cpu and memory, e.g. {cpu: \"2\", memory: 4Gi}"))
    return errors


def local_data_policy(model: ResolvedModel, where: SpecLocator, roots: list[str]) -> list[SpecError]:
    """Every file:// URI the model reads or writes lies under a local data root the platform names
    (`{envs}` as in environment_policy)."""
    spec = model.spec
    data = spec.training.data
    places: list[tuple[tuple[str, ...], Any]] = [(("training", "data", split, "uri"), getattr(data, split).uri)
                                                 for split in ("train", "eval")]
    if spec.scoring:
        places += [(("scoring", "input"), spec.scoring.input), (("scoring", "output"), spec.scoring.output)]
    if spec.monitoring.quality:
        places.append((("monitoring", "quality", "labels", "uri"), spec.monitoring.quality.labels.uri))
    return [where.error(path, f"{uri} is outside the local data roots of platform/platform.yaml ({', '.join(roots)}) "
                        "in {envs}", "put the data under one of them, or add its folder to defaults.localDataRoots")
            for path, uri in places if outside_roots(uri, roots)]


def _digests_required(env: Environment) -> bool:
    return env.policies.require_image_digests or env.policies.production


def production_policy(model: ResolvedModel, where: SpecLocator, platform_doc: Document) -> list[SpecError]:
    """What a production environment requires of every model (`{envs}` as in environment_policy)."""
    if not model.env.policies.production:
        return []
    errors = []
    doc = where.doc
    if model.risk_tier is None:
        errors.append(doc.error(("metadata", "riskTier"), "{envs} is production: metadata.riskTier is required",
                                "set riskTier: low, medium or high"))
    if not model.owners:
        errors.append(doc.error(("metadata", "owners"), "{envs} is production: metadata.owners names nobody",
                                "name the people accountable, e.g. owners: [\"@handle\"]"))
    if model.spec.governance.model_card is None:
        errors.append(where.error(("governance", "modelCard"), "{envs} is production: a model card is required",
                                  "add governance.modelCard with at least intendedUse"))
    if not any(g.min is not None or g.max is not None for g in model.spec.evaluation.gates):
        errors.append(where.error(("evaluation", "gates"), "{envs} is production: no gate bounds a quality metric",
                                  "add a gate with min or max, e.g. {metric: roc_auc, min: 0.9}; a regression "
                                  "check alone passes a model that was poor from the start"))
    if not is_digest_pinned(model.runtime_image):  # evaluate, gate and register run in it
        errors.append(platform_doc.error(("spec", "defaults", "images", "training"),
                                         f"{{envs}} is production: the runtime image {model.runtime_image!r} has no "
                                         "@sha256 digest", "pin it: image@sha256:<digest>"))
    return errors


def merge_environments(found: list[tuple[str, SpecError]], order: list[str]) -> list[SpecError]:
    """One error per problem: the same located message from several environments names them all."""
    envs_of: dict[SpecError, list[str]] = defaultdict(list)
    for env, error in found:
        envs_of[error].append(env)
    merged = []
    for error, envs in envs_of.items():
        names = sorted(set(envs), key=order.index)
        label = ("environment " if len(names) == 1 else "environments ") + ", ".join(repr(n) for n in names)
        if len(names) == 1:
            message = error.message.replace("{envs} require ", "{envs} requires ")
        else:
            message = error.message
        merged.append(replace(error, message=message.replace("{envs}", label)))
    return merged


def gpu_demand(model: ResolvedModel) -> int:
    """GPUs a model may hold at once: a training run plus serving at max replicas (twice that while a
    canary or shadow predictor runs beside the main one)."""
    total = model.spec.training.resources.gpus
    serving = model.spec.serving
    if serving and serving.resources.gpus:
        predictors = 1 if serving.rollout.strategy == "direct" else 2
        total += serving.resources.gpus * serving.replicas.max * predictors
    return total


def quota_policy(models: list[tuple[ResolvedModel, SpecLocator]], platform: Platform,
                 platform_doc: Document) -> list[tuple[str, SpecError]]:
    """Each team's GPU demand per environment stays within its quota (messages for `merge_environments`)."""
    errors: list[tuple[str, SpecError]] = []
    groups: dict[tuple[str, str], list[tuple[ResolvedModel, SpecLocator]]] = defaultdict(list)
    for model, where in models:
        groups[(model.team, model.environment)].append((model, where))
    for (team_name, env_name), members in sorted(groups.items()):
        team = platform.team(team_name)
        quota = team.gpu_quota.get(env_name, 0) if team else 0
        demand = Counter({m.name: gpu_demand(m) for m, _ in members})
        total = sum(demand.values())
        if total <= quota:
            continue
        biggest, where = max(members, key=lambda mw: (demand[mw[0].name], mw[0].source))
        field = ("training" if biggest.spec.training.resources.gpus else "serving", "resources", "gpus")
        parts = ", ".join(f"{name} {n}" for name, n in sorted(demand.items()) if n)
        team_index = next(i for i, t in enumerate(platform.spec.teams) if t.name == team_name)
        pos, _ = platform_doc.locate(("spec", "teams", team_index, "gpuQuota", env_name))
        gpus = f"{total} GPU{'s' if total != 1 else ''}"
        errors.append((env_name, where.error(
            field, f"team {team_name!r} would use {gpus} in {{envs}} ({parts}) but its quota there is {quota} "
            f"({platform_doc.file}:{pos.line})",
            "lower gpus or replicas.max for this environment, or raise the team's gpuQuota")))
    return errors


def _known(value: str, options: list[str]) -> str:
    close = difflib.get_close_matches(value, options, n=1)
    if close:
        return f"did you mean {close[0]!r}?"
    return f"known: {', '.join(options)}" if options else ""


def release_policy(project: Project, models: list[ResolvedModel]) -> list[SpecError]:
    """Pins name served models of the platform, and candidates match the model's rollout there."""
    errors: list[SpecError] = []
    by_key = {(m.environment, m.name): m for m in models}
    known = {loaded.model.metadata.name for loaded in project.models}
    for env, loaded in project.releases.items():
        doc = loaded.doc
        for name, release in loaded.releases.releases.items():
            path = ("releases", name)
            if name in project.others:
                continue  # another team's pin, checked with its model
            if name not in known:
                errors.append(doc.error(path, f"no model named {name!r}", _known(name, sorted(known)), key=True))
                continue
            model = by_key.get((env, name))
            if model is None:
                continue  # the spec has errors of its own
            if model.spec.serving is None:
                errors.append(doc.error(path, f"{name} has no serving section, so nothing can be deployed",
                                        "add spec.serving to the model, or remove the pin", key=True))
                continue
            errors += _evidence_problems(env, loaded, name, release)
            errors += _store_problems(model.env, loaded, name, release)
            errors += _approval_problems(model, loaded, name, release)
            if release.candidate is None:
                continue
            strategy = model.serving.rollout.strategy
            if strategy == "direct":
                errors.append(doc.error((*path, "candidate"), f"{name} rolls out directly in {env!r}, so a "
                                        "candidate version has nowhere to run",
                                        "pin the new version as `version`, or use a canary or shadow rollout"))
            if release.candidate.version == release.version:
                errors.append(doc.error((*path, "candidate", "version"),
                                        f"candidate version {release.version} is the version already served"))
    return errors


def _evidence_problems(env: str, loaded: LoadedReleases, name: str, release: Release) -> list[SpecError]:
    """Every pinned version needs its registry evidence committed beside the pin, agreeing with it."""
    errors = []
    for path, pin in _pins(name, release):
        key = (name, pin.version)
        if key not in loaded.evidence:
            errors.append(loaded.doc.error((*path, "version"), f"no evidence for {name} version {pin.version}: "
                                           f"{evidence_path(env, name, pin.version)} is missing",
                                           "`mlplat promote` writes it from the registry; its ML-BOM is rendered "
                                           "from it"))
        elif (evidence := loaded.evidence[key]) is not None:
            errors += pin_mismatches(evidence, name, pin)
    return errors


def _store_problems(env: Environment, loaded: LoadedReleases, name: str, release: Release) -> list[SpecError]:
    """A pinned version is served from the environment's own artifact store: the serving pods can read
    nothing else (a laptop's file:// folder, another environment's bucket)."""
    store = env.artifact_store.rstrip("/") + "/"
    return [loaded.doc.error((*path, "modelUri"), f"{pin.model_uri} is not under the artifact store of "
                             f"{env.name!r} ({env.artifact_store})",
                             f"promote the version from {env.name}'s registry (the version registered there, "
                             "with --tracking-uri pointing at it), not one registered elsewhere")
            for path, pin in _pins(name, release) if not pin.model_uri.startswith(store)]


def _approval_problems(model: ResolvedModel, loaded: LoadedReleases, name: str, release: Release) -> list[SpecError]:
    """Approvals name people of the model's team; in production, every pin of a high-risk model records one."""
    team = model.team_config
    errors = [loaded.doc.error((*path, "approvedBy"), f"{', '.join(strangers)} cannot approve {name}: not a person "
                               f"of team {team.name} (its owners and members in platform.yaml)",
                               "an approval comes from a person of the model's team: "
                               + (", ".join(sorted("@" + h for h in team.people())) or "add one to the team"))
              for path, pin in _pins(name, release) if (strangers := team.outsiders(pin.approved_by))]
    if not (model.env.policies.production and model.risk_tier == "high"):
        return errors
    return errors + [loaded.doc.error((*path, "version"), f"{name} is high-risk and {model.environment!r} is "
                                      f"production: version {pin.version} needs a recorded approval (approvedBy)",
                                      "promote with --approved-by @handle")
                     for path, pin in _pins(name, release) if not pin.approved_by]


def _pins(name: str, release: Release) -> list[tuple[tuple[str, ...], PinnedVersion]]:
    """The pinned versions of a release (main, then candidate) with their path in releases.yaml."""
    pins: list[tuple[tuple[str, ...], PinnedVersion]] = [(("releases", name), release)]
    if release.candidate:
        pins.append((("releases", name, "candidate"), release.candidate))
    return pins


def pin_mismatches(doc: Document, model: str, pin: PinnedVersion) -> list[SpecError]:
    """Where the evidence disagrees with the pin it is committed for (both came from the registry)."""
    data = doc.data
    errors = []
    for field, expected in (("model", model), ("version", pin.version), ("runId", pin.run_id),
                            ("artifactSha256", pin.artifact_sha256), ("specHash", pin.spec_hash),
                            ("modelUri", pin.model_uri)):
        if data.get(field) != expected:
            errors.append(doc.error((field,), f"{field} {data.get(field)!r} does not match the pin in releases.yaml "
                                    f"({expected!r})", "the evidence must be the registry's record of the pinned "
                                    "version: run `mlplat promote` again"))
    return errors
