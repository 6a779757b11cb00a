"""`mlplat rollback`: pin the previously pinned version again, on a new branch, ready for a pull request.

The previous pin comes from the git history of the environment's releases.yaml; its version and
artifact must still be in the registry.
"""

from __future__ import annotations

from pathlib import Path

from compiler.gitops import gate as gatecheck
from compiler.gitops import gitbase
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
from compiler.pipeline.loader import load_bytes
from compiler.pipeline.validation import validate
from compiler.spec.evidence import evidence_path
from compiler.spec.releases import Release, Releases, releases_path


def rollback(root: Path, model: str, env: str, tracking_uri: str | None, *, reason: str | None = None) -> Committed:
    clean_repo(root)
    checked = checked_project(root)
    current = checked.project.release(env, model)
    if current is None:
        raise PromoteError(f"nothing is pinned for {model} in {env!r}; there is nothing to roll back")
    target = previous_pin(root, env, model, current.version)
    if target is None:
        raise PromoteError(f"no earlier version of {model} was ever pinned in {env!r}")
    uri = tracking_uri or checked.project.platform.environment(env).mlflow.tracking_uri
    # The registry's record of the version, checked, and compared with the pin from the history.
    result = gatecheck.describe(root, model, str(target.version), [], None, uri, environment=env)
    recorded, earlier = result.facts.get("pin", {}), target.model_dump(by_alias=True, mode="json")
    differing = [key for key in ("runId", "modelUri", "artifactSha256", "specHash")
                 if recorded and recorded.get(key) != earlier[key]]
    if differing:
        raise PromoteError(f"cannot roll back {model} in {env!r} to version {target.version}: the registry's record "
                           f"differs from the earlier pin in {', '.join(differing)}")
    if not result.passed:
        raise PromoteError(f"cannot roll back {model} in {env!r} to version {target.version}: {result.failures}")
    releases = current_releases(checked, env)
    updated = releases.model_copy(update={"releases": {**releases.releases, model: target}})
    message = (f"roll back {model} in {env} from version {current.version} to {target.version}\n\n"
               + (f"reason: {' '.join(reason.split())}\n\n" if reason else "")
               + f"run {target.run_id}, artifact sha256 {target.artifact_sha256} (artifact verified in the registry)\n"
               + trailers("rollback", model, env))
    evidence = {}
    if not (root / evidence_path(env, model, target.version)).is_file():  # pinned there before; keep it if kept
        evidence[evidence_path(env, model, target.version)] = pin_from_facts(model, result.facts)[1]
    return commit_pin(root, env, updated, f"mlplat/rollback-{model}-{env}-v{target.version}", message,
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
