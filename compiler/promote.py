"""`mlplat promote` and `mlplat rollback`: edit a release pin on a new branch, ready for a pull request.

Both refuse on a dirty work tree, recompile environments/ so the commit carries the rendered result,
and commit with GitPython under a message naming the model, the version and its evidence. Promotion
follows the platform's environment order and runs the same checks as `mlplat gate`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from compiler import gatecheck, gitbase, runtime_call
from compiler.emit import dump_yaml
from compiler.evidence import evidence_path
from compiler.loader import load_bytes
from compiler.pipeline import Checked, check_project
from compiler.plan import build_plan
from compiler.releases import PinnedVersion, Release, Releases
from compiler.validation import validate
from compiler.write import write_plan


class PromoteError(Exception):
    """The promotion or rollback is refused; the message says why."""


@dataclass(frozen=True)
class Committed:
    branch: str
    commit: str
    message: str


def releases_path(env: str) -> str:
    return f"environments/{env}/releases.yaml"


def dump_releases(releases: Releases, header: str) -> bytes:
    """Deterministic releases.yaml: the header comments kept, then the pins in a fixed field order."""
    body = releases.model_dump(mode="json", by_alias=True, exclude_none=True)
    for release in body["releases"].values():
        for pinned in (release, release.get("candidate") or {}):
            if pinned.get("approvedBy") == []:
                del pinned["approvedBy"]
    return (header + dump_yaml(body)).encode()


def _header(path: Path, env: str) -> str:
    if path.is_file():
        lines = path.read_text("utf-8").splitlines(keepends=True)
        kept = []
        for line in lines:
            if not line.startswith("#"):
                break
            kept.append(line)
        if kept:
            return "".join(kept)
    return (f"# yaml-language-server: $schema=../../platform/releases.schema.json\n"
            f"# Versions {env} serves, with their evidence. Promotion pull requests edit this file (mlplat promote).\n")


def describe_version(root: Path, model: str, version: str | None, tracking_uri: str) -> tuple[PinnedVersion, bytes]:
    """The registry's facts about a version (default: the champion), as a pin, and its evidence document
    (as committed under environments/<env>/evidence/); the artifact is checked against both."""
    import tempfile

    with tempfile.TemporaryDirectory(prefix="mlplat-promote-") as tmp:
        try:
            facts = runtime_call.fetch_version(root, model, version, tracking_uri, Path(tmp))
        except runtime_call.RuntimeCallError as exc:
            raise PromoteError(str(exc)) from exc
    if facts.get("gate") != "passed":
        raise PromoteError(f"{model} version {facts['version']} did not pass its gate when it was registered "
                           f"(gate {facts.get('gate')!r}); only versions that passed can be promoted")
    if not facts.get("evidence"):
        raise PromoteError(f"{model} version {facts['version']} has no evidence on its run "
                           f"({runtime_call.EVIDENCE_PATH}); register it again with this platform version")
    pin = PinnedVersion.model_validate({
        "version": int(facts["version"]), "runId": facts["runId"], "modelUri": facts["source"],
        "artifactSha256": facts["artifactSha256"], "specHash": facts["specHash"], "gate": "passed"})
    return pin, (json.dumps(facts["evidence"], indent=2, sort_keys=True) + "\n").encode()


def _clean_repo(root: Path):
    repository = gitbase.repo(root)
    if repository.is_dirty(untracked_files=True):
        raise PromoteError("the work tree has uncommitted changes; commit or stash them first")
    return repository


def _current(checked: Checked, env: str) -> Releases:
    loaded = checked.project.releases.get(env)
    return loaded.releases if loaded else Releases.model_validate(
        {"apiVersion": "mlplat/v1", "kind": "Releases", "environment": env, "releases": {}})


def _checked(root: Path) -> Checked:
    checked, errors = check_project(root)
    if errors:
        raise PromoteError(f"the specs do not validate ({len(errors)} errors); run `mlplat validate`")
    return checked


def promote(root: Path, model: str, env: str, version: str | None, tracking_uri: str | None, *,
            candidate: bool = False, approved_by: tuple[str, ...] = ()) -> Committed:
    repository = _clean_repo(root)
    checked = _checked(root)
    platform = checked.project.platform
    if env not in platform.environment_names:
        raise PromoteError(f"unknown environment {env!r} (order: {' -> '.join(platform.environment_names)})")
    resolved = next((m for m in checked.models if m.name == model and m.environment == env), None)
    if resolved is None:
        raise PromoteError(f"no model named {model!r}")
    environment = platform.environment(env)
    uri = tracking_uri or environment.mlflow.tracking_uri
    pin, evidence_doc = describe_version(root, model, version, uri)
    order = platform.environment_names
    if order.index(env) > 0:
        previous = order[order.index(env) - 1]
        earlier = checked.project.release(previous, model)
        pinned_there = {p.artifact_sha256 for p in (earlier, earlier.candidate if earlier else None) if p}
        if pin.artifact_sha256 not in pinned_there:
            raise PromoteError(f"{model} version {pin.version} (artifact {pin.artifact_sha256[:12]}) is not pinned in "
                               f"{previous!r}; promotion goes {' -> '.join(order)} and cannot skip {previous!r}")
    if environment.policies.require_approval and not approved_by:
        raise PromoteError(f"{env!r} requires a recorded approval: pass --approved-by @handle")
    pin = pin.model_copy(update={"approved_by": list(approved_by)})
    releases = _current(checked, env)
    live = releases.releases.get(model)
    if candidate:
        if live is None:
            raise PromoteError(f"nothing is pinned for {model} in {env!r} yet; promote a version first")
        if resolved.spec.serving is None or resolved.spec.serving.rollout.strategy == "direct":
            raise PromoteError(f"{model} rolls out directly in {env!r}; a candidate needs a canary or shadow rollout")
    result = gatecheck.verify(root, model, pin, resolved.spec.evaluation.gates, live, uri)
    if not result.passed:
        raise PromoteError(f"the gate refuses {model} version {pin.version} for {env!r}: {result.failures}")
    new_release = live.model_copy(update={"candidate": pin}) if candidate else Release.model_validate(
        pin.model_dump(by_alias=True))
    updated = releases.model_copy(update={"releases": {**releases.releases, model: new_release}})
    role = "candidate" if candidate else "version"
    evidence = "\n".join(f"- {c['name']}: {c['detail']}" for c in result.checks)
    message = (f"promote {model} {role} {pin.version} to {env}\n\n"
               f"run {pin.run_id}, artifact sha256 {pin.artifact_sha256}, spec {pin.spec_hash[:12]}\n"
               f"{evidence}\n")
    branch = f"mlplat/promote-{model}-{env}-v{pin.version}"
    return _commit(root, repository, env, updated, branch, message,
                   {evidence_path(env, model, pin.version): evidence_doc})


def rollback(root: Path, model: str, env: str, tracking_uri: str | None) -> Committed:
    repository = _clean_repo(root)
    checked = _checked(root)
    current = checked.project.release(env, model)
    if current is None:
        raise PromoteError(f"nothing is pinned for {model} in {env!r}; there is nothing to roll back")
    target = previous_pin(root, env, model, current.version)
    if target is None:
        raise PromoteError(f"no earlier version of {model} was ever pinned in {env!r}")
    uri = tracking_uri or checked.project.platform.environment(env).mlflow.tracking_uri
    result = gatecheck.verify(root, model, target, [], None, uri)
    if not result.passed:
        raise PromoteError(f"cannot roll back {model} in {env!r} to version {target.version}: {result.failures}")
    releases = _current(checked, env)
    updated = releases.model_copy(update={"releases": {**releases.releases, model: target}})
    message = (f"roll back {model} in {env} from version {current.version} to {target.version}\n\n"
               f"run {target.run_id}, artifact sha256 {target.artifact_sha256} (artifact verified in the registry)\n")
    evidence = {}
    if not (root / evidence_path(env, model, target.version)).is_file():  # pinned there before; keep it if kept
        evidence[evidence_path(env, model, target.version)] = describe_version(root, model, str(target.version),
                                                                               uri)[1]
    return _commit(root, repository, env, updated, f"mlplat/rollback-{model}-{env}-v{target.version}", message,
                   evidence)


def previous_pin(root: Path, env: str, model: str, current_version: int) -> Release | None:
    """The newest pin of `model` in the history of env's releases.yaml with a different version."""
    repository = gitbase.repo(root)
    path = releases_path(env)
    for commit in repository.iter_commits(paths=path):
        raw = gitbase.file_at(root, commit.hexsha, path)
        if raw is None:
            continue
        doc, _ = load_bytes(raw, path)
        releases, _ = validate(doc, Releases) if doc else (None, [])
        pinned = releases.releases.get(model) if releases else None
        if pinned is not None and pinned.version != current_version:
            return pinned.model_copy(update={"candidate": None})
    return None


def _commit(root: Path, repository, env: str, releases: Releases, branch: str, message: str,
            evidence: dict[str, bytes]) -> Committed:
    if branch in [head.name for head in repository.heads]:
        raise PromoteError(f"branch {branch} exists already")
    path = root / releases_path(env)
    content = dump_releases(releases, _header(path, env))
    original_branch = repository.active_branch
    repository.git.checkout("-b", branch)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
        for relative, document in evidence.items():
            (root / relative).parent.mkdir(parents=True, exist_ok=True)
            (root / relative).write_bytes(document)
        written = write_plan(root, build_plan(_checked(root)))
        repository.git.add("--all", "--", releases_path(env), *evidence, *written.written, *written.deleted)
        commit = repository.index.commit(message)
    except Exception:
        repository.git.checkout("--force", original_branch.name)
        repository.git.branch("-D", branch)
        for relative in evidence:  # untracked, so the checkout above leaves them behind
            (root / relative).unlink(missing_ok=True)
        raise
    return Committed(branch, commit.hexsha, message)
