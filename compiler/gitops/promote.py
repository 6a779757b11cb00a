"""`mlplat promote`: pin a registered version in an environment, on a new branch, ready for a pull request.

Promotion follows the platform's environment order (a version must be pinned in the environment
before), requires an approval where the environment does, and runs the same checks as `mlplat gate`.

Into an environment whose policy is copy (the default for all but the first), the version is the one
pinned in the previous environment (`--version` names it there; default: its main pin), copied from
that environment's registry and artifact store into this one's (compiler/gitops/registry_copy.py)
unless one registry serves both; the pin names the copy. Where the policy is retrain, the version is one
this environment's own training registered, with the artifact digest of the previous environment's pin.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from compiler.gitops import gate as gatecheck
from compiler.gitops.pins import (
    Committed,
    PromoteError,
    checked_project,
    clean_repo,
    commit_pin,
    current_releases,
    pin_from_facts,
    trailers,
)
from compiler.gitops.registry_copy import Copied, CopyError, Registry, copy_version
from compiler.pipeline.check import Checked
from compiler.spec.evidence import evidence_path
from compiler.spec.model import Rollout
from compiler.spec.releases import Candidate, PinnedVersion, Release


def promote(root: Path, model: str, env: str, version: str | None, tracking_uri: str | None, *,
            candidate: bool = False, approved_by: tuple[str, ...] = (), now: datetime | None = None,
            source_tracking_uri: str | None = None) -> Committed:
    clean_repo(root)
    checked = checked_project(root)
    platform = checked.project.platform
    if env not in platform.environment_names:
        raise PromoteError(f"unknown environment {env!r} (order: {' -> '.join(platform.environment_names)})")
    resolved = next((m for m in checked.models if m.name == model and m.environment == env), None)
    if resolved is None:
        raise PromoteError(f"no model named {model!r}")
    environment = platform.environment(env)
    if environment.policies.require_approval and not approved_by:
        raise PromoteError(f"{env!r} requires a recorded approval: pass --approved-by @handle")
    strangers = resolved.team_config.outsiders(approved_by)
    if strangers:
        people = ", ".join(sorted("@" + h for h in resolved.team_config.people())) or "nobody yet"
        raise PromoteError(f"{', '.join(strangers)} cannot approve {model}: approvals come from the people of team "
                           f"{resolved.team} in platform.yaml ({people})")
    releases = current_releases(checked, env)
    live = releases.releases.get(model)
    if candidate:
        if live is None:
            raise PromoteError(f"nothing is pinned for {model} in {env!r} yet; promote a version first")
        if resolved.spec.serving is None or resolved.spec.serving.rollout.strategy == "direct":
            raise PromoteError(f"{model} rolls out directly in {env!r}; a candidate needs a canary or shadow rollout")
    uri = tracking_uri or environment.mlflow.tracking_uri
    order = platform.environment_names
    previous = order[order.index(env) - 1] if order.index(env) > 0 else None
    copied = None
    if previous is not None and environment.policies.promotion == "copy":
        version, copied = _copied(root, checked, model, previous, env, version, uri,
                                  source_tracking_uri or tracking_uri)
    # One verifier: the registry's record of the version, checked as `mlplat gate` checks a pin.
    result = gatecheck.describe(root, model, version, resolved.spec.evaluation.gates, live, uri,
                                require_data_digests=environment.policies.require_data_digests, environment=env)
    if not result.facts:
        raise PromoteError(f"cannot read {model} version {version or 'champion'} from {uri}: {result.failures}")
    pin, evidence_doc = pin_from_facts(model, result.facts)
    if previous is not None and copied is None:  # retrain, or one registry for both: the same bytes, pinned there
        earlier = checked.project.release(previous, model)
        pinned_there = {p.artifact_sha256 for p in (earlier, earlier.candidate if earlier else None) if p}
        if pin.artifact_sha256 not in pinned_there:
            raise PromoteError(f"{model} version {pin.version} (artifact {pin.artifact_sha256[:12]}) is not pinned in "
                               f"{previous!r}; promotion goes {' -> '.join(order)} and cannot skip {previous!r}")
    if not result.passed:
        raise PromoteError(f"the gate refuses {model} version {pin.version} for {env!r}: {result.failures}")
    pin = pin.model_copy(update={"approved_by": list(approved_by)})
    if candidate and live is not None:  # a candidate was refused above where nothing is live
        new_release = live.model_copy(update={"candidate": _candidate(pin, resolved.serving.rollout, now)})
    else:
        new_release = Release.model_validate(pin.model_dump(by_alias=True))
    updated = releases.model_copy(update={"releases": {**releases.releases, model: new_release}})
    role = "candidate" if candidate else "version"
    evidence = "\n".join(f"- {c['name']}: {c['detail']}" for c in result.checks)
    origin = (f"copied from {previous} version {copied.source_version} (run {copied.source_run_id}) into {env}'s "
              f"registry as version {pin.version}\n" if copied else "")
    message = (f"promote {model} {role} {pin.version} to {env}\n\n"
               f"run {pin.run_id}, artifact sha256 {pin.artifact_sha256}, spec {pin.spec_hash[:12]}\n{origin}"
               f"{evidence}\n" + trailers("promote", model, env))
    branch = f"mlplat/promote-{model}-{env}-v{pin.version}"
    return commit_pin(root, env, updated, branch, message,
                      {evidence_path(env, model, pin.version): evidence_doc})


def _copied(root: Path, checked: Checked, model: str, previous: str, env: str, version: str | None, target_uri: str,
            source_uri: str | None) -> tuple[str | None, Copied | None]:
    """(the target registry's version to pin, the copy made, or None where one registry serves both)."""
    platform = checked.project.platform
    order = " -> ".join(platform.environment_names)
    earlier = checked.project.release(previous, model)
    pinned_there = {p.version for p in (earlier, earlier.candidate if earlier else None) if p}
    if version is not None and not version.isdigit():
        raise PromoteError(f"--version names a version pinned in {previous!r} (a number), not {version!r}")
    wanted = int(version) if version else (earlier.version if earlier else None)
    source = platform.environment(previous)
    source_uri = source_uri or source.mlflow.tracking_uri
    if source_uri == target_uri:  # one registry serves both: its versions are pinned by digest, as under retrain
        return (str(wanted) if wanted else version), None
    if wanted is None or wanted not in pinned_there:
        raise PromoteError(f"{model} version {wanted or '(none)'} is not pinned in {previous!r}; promotion goes "
                           f"{order} and cannot skip {previous!r}")
    try:
        copied = copy_version(root, model, wanted, Registry(previous, source_uri, source.artifact_store),
                              Registry(env, target_uri, platform.environment(env).artifact_store))
    except CopyError as exc:
        raise PromoteError(f"cannot copy {model} version {wanted} from {previous} into {env}: {exc}") from exc
    return str(copied.version), copied


def _candidate(pin: PinnedVersion, rollout: Rollout, now: datetime | None) -> Candidate:
    """The pin as a candidate; a canary starts at its first step, whose bake time counts from now."""
    fields = pin.model_dump(by_alias=True)
    if rollout.strategy == "canary":
        moment = (now or datetime.now(UTC)).astimezone(UTC)
        fields |= {"traffic": rollout.canary_steps()[0].traffic, "since": moment.strftime("%Y-%m-%dT%H:%M:%SZ")}
    return Candidate.model_validate(fields)
