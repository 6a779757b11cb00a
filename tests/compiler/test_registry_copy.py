"""One artifact promoted through the environments: a real MLflow server (on SQLite) and an artifact store per
environment, as platform.yaml names them. Versions 1 and 2 are trained once, in dev (`mlplat run`), and
promoted to staging and prod by copying them registry to registry (`mlplat promote`, merged as their pull
requests would be), without training there; prod rolls back; the gate, run as the pull request runs it,
checks each copy against the previous environment's registry and refuses a version whose bytes differ."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import git
import pytest
import yaml

from compiler.local.serve import free_port
from tests.conftest import copy_repo, init_git, merge_committed, move_artifact_stores
from tests.runtime.conftest import MODEL, mlplat, ok, registry

pytestmark = pytest.mark.xdist_group("registry-copy")
ENVS = ("dev", "staging", "prod")
APPROVER = "@ines-moreau"  # a person of tumor-classifier's team (platform) in platform.yaml
STARTUP_SECONDS = 300  # three MLflow servers on a loaded 2-core machine: a bound on a hang, not a target


def pinned(root: Path, env: str) -> dict:
    return yaml.safe_load((root / f"environments/{env}/releases.yaml").read_text())["releases"][MODEL]


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory):
    """An MLflow server per environment, each on its own SQLite database, on loopback."""
    work = tmp_path_factory.mktemp("registries")
    processes, uris = [], {}
    try:
        for env in ENVS:
            port = free_port()
            log = open(work / f"mlflow-{env}.log", "wb")  # noqa: SIM115 - closed with the process
            processes.append(subprocess.Popen(
                [str(Path(sys.executable).parent / "mlflow"), "server", "--backend-store-uri",
                 f"sqlite:///{work / f'{env}.db'}", "--default-artifact-root", (work / f"default-{env}").as_uri(),
                 "--host", "127.0.0.1", "--port", str(port), "--workers", "1"],
                stdout=log, stderr=subprocess.STDOUT, start_new_session=True))
            uris[env] = f"http://127.0.0.1:{port}"
        give_up = time.monotonic() + STARTUP_SECONDS
        for env, process in zip(ENVS, processes, strict=True):
            while True:
                assert process.poll() is None, (work / f"mlflow-{env}.log").read_text()[-2000:]
                try:
                    with urllib.request.urlopen(f"{uris[env]}/health", timeout=5):
                        break
                except OSError:
                    assert time.monotonic() < give_up, f"MLflow for {env} did not start"
                    time.sleep(0.5)
        yield uris
    finally:
        for process in processes:
            process.terminate()
            process.wait(timeout=60)


@pytest.fixture(scope="module")
def platform_repo(tmp_path_factory: pytest.TempPathFactory, servers: dict[str, str]) -> Path:
    """The repository with each environment's registry and artifact store its own, as platform.yaml says."""
    base = tmp_path_factory.mktemp("copy")
    root = copy_repo(base / "repo")
    platform = root / "platform" / "platform.yaml"
    text = platform.read_text()
    for env, uri in servers.items():
        current = yaml.safe_load(text)["spec"]["environments"][ENVS.index(env)]["mlflow"]["trackingUri"]
        text = text.replace(f'trackingUri: "{current}"', f'trackingUri: "{uri}"')
    platform.write_text(text)
    for env in ENVS:
        move_artifact_stores(root, (base / f"store-{env}").as_uri(), (env,))
    (root / ".gitignore").write_text("/.mlplat/\n")
    ok(mlplat(root, "compile"))
    init_git(root)
    return root


def gate(root: Path, env: str, base: str, head: str) -> tuple[int, str]:
    """`mlplat gate` as the pull request's gate job runs it: the head's files, the base's rules, the reviews."""
    repository = git.Repo(root)
    repository.git.checkout("--quiet", head)
    reviews = root.parent / "reviews.jsonl"
    reviews.write_text(json.dumps({"id": 1, "user": {"login": APPROVER[1:]}, "state": "APPROVED",
                                   "author_association": "MEMBER", "commit_id": repository.head.commit.hexsha,
                                   "submitted_at": "2026-12-07T10:00:00Z"}) + "\n")
    try:
        done = mlplat(root, "gate", "--env", env, "--base", base, "--approvals", str(reviews))
    finally:
        repository.git.checkout("--quiet", "main")
    return done.returncode, done.stdout + done.stderr


def promote(root: Path, env: str, *args: str) -> tuple[str, str, str]:
    """(the promotion's branch, its message, the main it was made from), merged."""
    base = git.Repo(root).head.commit.hexsha
    out = ok(mlplat(root, "promote", MODEL, "--to", env, *args))
    return merge_committed(root, out), out, base


def test_one_artifact_travels_from_dev_to_prod_and_back(platform_repo: Path, servers: dict[str, str]) -> None:
    root = platform_repo
    clients = {env: registry(uri) for env, uri in servers.items()}
    for _ in range(2):  # versions 1 and 2, trained once each, in dev's registry only
        ok(mlplat(root, "run", MODEL, "--env", "dev", "--tracking-uri", servers["dev"]))
    dev_versions = {int(v.version): v for v in clients["dev"].search_model_versions(f"name='{MODEL}'")}
    assert sorted(dev_versions) == [1, 2]

    promote(root, "dev", "--version", "1")
    staged, message, base = promote(root, "staging")  # dev's pin, v1: the default
    assert "copied from dev version 1" in message and "into staging's registry as version 1" in message
    code, out = gate(root, "staging", base, staged)
    assert code == 0, out
    assert "ok   copied from the previous environment: dev version 1" in out
    assert "ok   source artifact identical" in out
    promote(root, "prod", "--approved-by", APPROVER)
    promote(root, "dev", "--version", "2")
    promote(root, "staging")
    prod_branch, _, prod_base = promote(root, "prod", "--approved-by", APPROVER)
    code, out = gate(root, "prod", prod_base, prod_branch)
    assert code == 0 and "ok   approval: approved on this commit by @ines-moreau" in out, out

    # the bytes served in prod are those trained in dev, copied twice, each copy tagged with its source
    digests = {env: pinned(root, env)["artifactSha256"] for env in ENVS}
    assert len(set(digests.values())) == 1 and digests["dev"] == dev_versions[2].tags["mlplat.artifact_sha256"]
    for env, source in (("staging", "dev"), ("prod", "staging")):
        versions = clients[env].search_model_versions(f"name='{MODEL}'")
        assert sorted(int(v.version) for v in versions) == [1, 2]  # nothing trained there, one copy each
        for version in versions:
            assert version.tags["mlplat.promoted_from.environment"] == source
            assert clients[env].get_run(version.run_id).data.tags["mlplat.environment"] == "dev"  # trained in dev
        assert pinned(root, env)["modelUri"].startswith((root.parent / f"store-{env}").as_uri())
    evidence = json.loads((root / f"environments/prod/evidence/{MODEL}-v2.json").read_text())
    assert evidence["promotedFrom"] == {"environment": "staging", "version": 2,
                                       "runId": pinned(root, "staging")["runId"]}
    assert evidence["trainedIn"] == "dev" and evidence["runId"] == pinned(root, "prod")["runId"]
    bom = json.loads((root / f"environments/prod/sbom/{MODEL}-v2.cdx.json").read_text())
    assert {"name": "mlplat:promoted-from", "value": f"staging version 2 (run {pinned(root, 'staging')['runId']})"} \
        in bom["metadata"]["component"]["properties"]

    # copying a version the target has a copy of already copies nothing
    from compiler.gitops.registry_copy import Registry, copy_version

    store = {env: (root.parent / f"store-{env}").as_uri() for env in ENVS}
    again = copy_version(root, MODEL, 2, Registry("dev", servers["dev"], store["dev"]),
                         Registry("staging", servers["staging"], store["staging"]))
    assert (again.version, again.copied) == (2, False)
    assert len(clients["staging"].search_model_versions(f"name='{MODEL}'")) == 2

    # prod rolls back to the copy of version 1: no training, no copy, the pin of its history
    rolled, _, _ = promote_rollback(root)
    assert pinned(root, "prod")["version"] == 1 and rolled.startswith(f"mlplat/rollback-{MODEL}-prod")
    ok(mlplat(root, "validate"))
    ok(mlplat(root, "compile", "--check"))


def promote_rollback(root: Path) -> tuple[str, str, str]:
    base = git.Repo(root).head.commit.hexsha
    out = ok(mlplat(root, "rollback", MODEL, "--env", "prod", "--reason", "the test's incident"))
    return merge_committed(root, out), out, base


def test_the_gate_refuses_a_copy_whose_bytes_differ_from_the_source(platform_repo: Path,
                                                                     servers: dict[str, str]) -> None:
    """A version registered in staging's registry with the provenance tags of dev's pinned version but other
    bytes (its own digest, consistently recorded, so that every check of staging's own registry passes):
    the gate compares it with dev's version and refuses it."""
    root = platform_repo
    from runtime import artifact

    staging = registry(servers["staging"])
    dev_pin = pinned(root, "dev")
    source = staging.get_model_version(MODEL, "2")
    tampered_dir = root.parent / "tampered" / "model"
    shutil.copytree(Path(source.source.removeprefix("file://")), tampered_dir)
    (tampered_dir / "notes.txt").write_text("not the bytes that passed in dev\n")
    digest = artifact.digest(tampered_dir)
    run = staging.get_run(source.run_id)
    forged = staging.create_run(run.info.experiment_id, tags=dict(run.data.tags)).info.run_id
    for name, value in run.data.metrics.items():
        staging.log_metric(forged, name, value)
    staging.log_artifacts(forged, str(tampered_dir), "model")
    staging.set_terminated(forged, "FINISHED")
    uri = f"{staging.get_run(forged).info.artifact_uri}/model"
    version = staging.create_model_version(MODEL, uri, run_id=forged, tags={
        **source.tags, "mlplat.artifact_sha256": digest, "mlplat.run_id": forged,
        "mlplat.promoted_from.environment": "dev", "mlplat.promoted_from.version": str(dev_pin["version"]),
        "mlplat.promoted_from.run_id": dev_pin["runId"]})
    logged = json.loads(Path(staging.download_artifacts(source.run_id, "mlplat/evidence.json",
                                                         str(root.parent))).read_text())
    document = {**logged, "version": int(version.version), "runId": forged, "modelUri": uri, "artifactSha256": digest,
                "registeredAt": logged["registeredAt"]}
    staging.log_dict(forged, document, "mlplat/evidence.json")
    repository = git.Repo(root)
    base = repository.head.commit.hexsha
    repository.git.checkout("-b", "forged")
    release = yaml.safe_load((root / "environments/staging/releases.yaml").read_text())
    release["releases"][MODEL] = {"version": int(version.version), "runId": forged, "modelUri": uri,
                                  "artifactSha256": digest, "specHash": source.tags["mlplat.spec_hash"],
                                  "gate": "passed"}
    (root / "environments/staging/releases.yaml").write_text(yaml.safe_dump(release, sort_keys=False))
    (root / f"environments/staging/evidence/{MODEL}-v{version.version}.json").write_text(json.dumps(document))
    ok(mlplat(root, "compile"))
    repository.git.add("--all")
    repository.index.commit("a forged copy")
    repository.git.checkout("main")
    code, out = gate(root, "staging", base, "forged")
    assert code == 1, out
    assert "ok   artifact intact" in out  # staging's own record is consistent
    assert re.search(r"FAIL source artifact identical: the source's artifact has sha256 [0-9a-f]{64}; the copy's is "
                     + digest, out), out
    # a version trained in staging itself is no copy: refused in an environment whose policy is copy
    staging.delete_model_version_tag(MODEL, version.version, "mlplat.promoted_from.environment")
    code, out = gate(root, "staging", base, "forged")
    assert code == 1 and "was trained here; this environment takes versions copied from 'dev'" in out, out


def test_each_side_of_a_copy_holds_its_own_environments_credentials_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """The export runs with dev's token, the import with staging's: neither process holds both."""
    from compiler.local.runtime_call import registry_env

    monkeypatch.setenv("MLPLAT_ENV_DEV_MLFLOW_TRACKING_TOKEN", "dev-token")
    monkeypatch.setenv("MLPLAT_ENV_STAGING_MLFLOW_TRACKING_TOKEN", "staging-token")
    monkeypatch.setenv("MLPLAT_ENV_STAGING_AWS_ACCESS_KEY_ID", "staging-key")
    monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", "one-for-all")
    dev, staging = registry_env("dev"), registry_env("staging")
    assert dev["MLFLOW_TRACKING_TOKEN"] == "dev-token" and "AWS_ACCESS_KEY_ID" not in dev
    assert (staging["MLFLOW_TRACKING_TOKEN"], staging["AWS_ACCESS_KEY_ID"]) == ("staging-token", "staging-key")
    assert not [key for key in {**dev, **staging} if key.startswith("MLPLAT_ENV_")]
    assert registry_env("prod")["MLFLOW_TRACKING_TOKEN"] == "one-for-all"  # none of its own: the shared one
