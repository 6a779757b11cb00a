"""What promotion and rollback share: a version's facts from the registry, releases.yaml written
deterministically, and the pin committed on a new branch with the rendered result.

Both refuse on a dirty work tree, recompile environments/ so the commit carries the rendered result,
and commit beside the work tree (commit_tree.py: the branch appears whole or not at all) under a
message naming the model, the version and its evidence.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from compiler.gitops import commit_tree, gitbase
from compiler.local import runtime_call
from compiler.pipeline.check import Checked, check_project
from compiler.pipeline.errors import format_errors
from compiler.pipeline.incremental.render_cache import RenderCache
from compiler.pipeline.plan import DuplicateOutput, build_plan
from compiler.pipeline.write import INDEX, desired_files, inside_output
from compiler.spec.emit import dump_yaml
from compiler.spec.releases import PinnedVersion, Releases, releases_path


class PromoteError(Exception):
    """The promotion or rollback is refused; the message says why."""


@dataclass(frozen=True)
class Committed:
    branch: str
    commit: str
    message: str


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


def pin_from_facts(model: str, facts: dict[str, Any]) -> tuple[PinnedVersion, bytes]:
    """The registry's record of a version (gatecheck.describe) as a pin and its evidence document (as
    committed under environments/<env>/evidence/); refused where the version did not pass its gate, has
    no evidence, or its evidence names another run, artifact or spec."""
    recorded, evidence = facts["pin"], facts.get("evidence")
    if recorded.get("gate") != "passed":
        raise PromoteError(f"{model} version {recorded['version']} did not pass its gate when it was registered "
                           f"(gate {recorded.get('gate')!r}); only versions that passed can be promoted")
    if not evidence:
        raise PromoteError(f"{model} version {recorded['version']} has no evidence on its run "
                           f"({runtime_call.EVIDENCE_PATH}); register it again with this platform version")
    differing = [key for key in ("runId", "artifactSha256", "specHash") if evidence.get(key) != recorded.get(key)]
    if differing:
        raise PromoteError(f"{model} version {recorded['version']}'s evidence differs from its registry record "
                           f"in {', '.join(differing)}")
    pin = PinnedVersion.model_validate({**recorded, "gate": "passed"})
    return pin, (json.dumps(evidence, indent=2, sort_keys=True) + "\n").encode()


def trailers(change: str, model: str, env: str) -> str:
    """The last paragraph of every pin commit's message: what kind of change it is, as git trailers
    (the delivery workflow reads Mlplat-Change to let rollbacks merge themselves)."""
    return f"\nMlplat-Change: {change}\nMlplat-Model: {model}\nMlplat-Environment: {env}\n"


def clean_repo(root: Path):
    """The repository, refusing a work tree with uncommitted changes."""
    repository = gitbase.repo(root)
    if gitbase.is_dirty(repository, untracked=True):
        raise PromoteError("the work tree has uncommitted changes; commit or stash them first")
    return repository


def current_releases(checked: Checked, env: str) -> Releases:
    """The environment's pins as they are (none where it has no releases.yaml yet)."""
    loaded = checked.project.releases.get(env)
    return loaded.releases if loaded else Releases.model_validate(
        {"apiVersion": "mlplat/v1", "kind": "Releases", "environment": env, "releases": {}})


def checked_project(root: Path, situation: str = "the specs do not validate") -> Checked:
    """The checked project, refusing specs that do not validate with every located error in the message."""
    checked, errors = check_project(root)
    if errors or checked is None:
        raise PromoteError(f"{situation}:\n{format_errors(errors, 'text').rstrip()}")
    return checked


def commit_pin(root: Path, env: str, releases: Releases, branch: str, message: str,
               evidence: dict[str, bytes]) -> Committed:
    """The pins (and evidence files) written, environments/ recompiled, and one commit on HEAD as the new
    branch `branch` (compiler/gitops/commit_tree.py: the work tree, the index and HEAD are never touched, so
    a kill at any moment leaves the repository as it was or the branch complete)."""
    if commit_tree.branch_exists(root, branch):
        raise PromoteError(f"branch {branch} exists already")
    path = root / releases_path(env)
    inputs = {releases_path(env): dump_releases(releases, _header(path, env)), **evidence}
    head = gitbase.read_inputs(root, "HEAD")
    with gitbase.written_inputs(root, {**head, **inputs}) as scratch:
        # The new pin and its evidence are validated as they would be committed; the errors name the files
        # as the repository does, and nothing of them is written to the work tree.
        checked = checked_project(scratch, f"with the new pin, {releases_path(env)} and its evidence do not validate")
        try:
            desired = desired_files(build_plan(checked, RenderCache(root)))
        except DuplicateOutput as exc:
            raise PromoteError(str(exc)) from exc
        before = _generated_at_head(root)
        changes: dict[str, bytes | None] = {p: f.content for p, f in desired.items() if before.get(p) != f.sha256}
        changes.update((p, None) for p in before if p not in desired)
        changes.update(inputs)
    try:
        commit = commit_tree.commit_files(root, branch, message, changes)
    except gitbase.GitError as exc:
        raise PromoteError(str(exc)) from exc
    return Committed(branch, commit, message)


def _generated_at_head(root: Path) -> dict[str, str]:
    """path -> sha256 of every file HEAD's environments/GENERATED.sha256 lists (what its compile generated)."""
    index = gitbase.file_at(root, "HEAD", INDEX) or b""
    listed: dict[str, str] = {}
    for line in index.decode("utf-8", "replace").splitlines():
        if "  " in line:
            sha, path = line.split("  ", 1)
            listed[path] = sha
    return {path: sha for path, sha in listed.items() if inside_output(path)}
