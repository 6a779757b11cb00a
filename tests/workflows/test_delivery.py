"""The delivery workflow's shell steps (.github/workflows/delivery.yml), run in order against temporary
clones of a real repository: a proposal made by `mlplat canary --decision ... --commit` opens its pull
request with auto-merge where the base's policy allows it; a push to main asks a real HTTP server, as
Argo CD's webhook, for a sync, signed."""

from __future__ import annotations

import hashlib
import hmac
import json
import shutil
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import git
import pytest

from compiler.gitops.canary import apply_decision
from tests.conftest import REPO, copy_repo, init_git
from tests.workflows.test_workflows import load, run_steps

DELIVERY = REPO / ".github" / "workflows" / "delivery.yml"


def decision(action: str, to: int | None) -> dict:
    """What the canary analysis writes for prod's fraud-detector (main v12, canary v13 at 5%)."""
    return {"action": action, "reason": "synthetic", "at": "2026-12-02T08:00:00Z", "prometheus": "http://prom",
            "main": {"version": 12}, "candidate": {"version": 13}, "traffic": {"from": 5, "to": to},
            "step": {"index": 1, "of": 4, "elapsedSeconds": 900, "look": 16, "confidence": 0.99,
                     "minRequests": 2000},
            "alpha": 0.0002, "checks": [{"name": "errors", "main": "20/40000", "canary": "1/2000",
                                        "test": "Fisher exact, one-sided", "pValue": 0.6, "worse": False}]}


@pytest.fixture(scope="module")
def origin(tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = tmp_path_factory.mktemp("delivery")
    seed = copy_repo(work / "seed")
    init_git(seed)
    subprocess.run(["git", "clone", "--quiet", "--bare", str(seed), str(work / "origin.git")], check=True)
    return work / "origin.git"


def proposal(origin: Path, tmp_path: Path, action: str, to: int | None) -> tuple[Path, str]:
    """A clone on the proposal's branch, made as the canary pod makes it; (clone, branch)."""
    clone = tmp_path / "clone"
    repository = git.Repo.clone_from(origin, clone)
    with repository.config_writer() as config:
        config.set_value("user", "name", "mlplat[bot]")
        config.set_value("user", "email", "bot@example.com")
    committed = apply_decision(clone, "fraud-detector", "prod", decision(action, to))
    repository.git.checkout(committed.branch)  # the workflow runs on the pushed branch
    return clone, committed.branch


def fake_gh(tmp_path: Path) -> Path:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "gh").write_text('#!/bin/sh\necho "$@" >> "$(dirname "$0")/calls"\n')
    (bin_dir / "gh").chmod(0o755)
    return bin_dir


def test_a_rollback_opens_its_pull_request_with_auto_merge_even_in_prod(origin: Path, tmp_path: Path) -> None:
    clone, branch = proposal(origin, tmp_path, "rollback", None)
    gh = fake_gh(tmp_path)
    results = run_steps(clone, "", "propose", DELIVERY, BRANCH=branch, EXTRA_PATH=str(gh))
    assert [(name, code) for name, code, _ in results] == [
        ("What the proposal changes", 0), ("The base's policy for the environment", 0), ("Open the pull request", 0)]
    assert "environment prod, change rollback: auto-merge true" in results[1][2]
    calls = (gh / "calls").read_text().splitlines()
    assert calls[0].startswith(f"pr list --head {branch} --state open")
    assert calls[1] == (f"pr create --base main --head {branch} --title roll back canary fraud-detector v13 in prod "
                        "(was at 5%) --body-file body.md")
    assert calls[2] == f"pr merge {branch} --auto --squash"
    assert "Mlplat-Change: rollback" in (clone / "body.md").read_text()


def test_a_step_up_in_prod_waits_for_a_person(origin: Path, tmp_path: Path) -> None:
    clone, branch = proposal(origin, tmp_path, "step", 25)
    gh = fake_gh(tmp_path)
    results = run_steps(clone, "", "propose", DELIVERY, BRANCH=branch, EXTRA_PATH=str(gh))
    assert [code for _, code, _ in results] == [0, 0, 0]
    assert "environment prod, change canary-step: auto-merge false" in results[1][2]
    calls = (gh / "calls").read_text().splitlines()
    assert calls[1].startswith(f"pr create --base main --head {branch} --title step canary fraud-detector v13 in "
                               "prod from 5% to 25%")
    assert calls[2] == f"pr comment {branch} --body prod requires a person: review, approve and merge."


def test_the_policy_is_the_bases_not_the_branchs(origin: Path, tmp_path: Path) -> None:
    """A proposal that also turns prod's autoMerge on is refused: it changes platform/."""
    clone, branch = proposal(origin, tmp_path, "step", 25)
    platform = clone / "platform" / "platform.yaml"
    text = platform.read_text()
    platform.write_text(text.replace("production: true}", "production: true, autoMerge: true}"))
    assert platform.read_text() != text
    repository = git.Repo(clone)
    repository.git.add("--all")
    repository.index.commit("and let prod merge itself")
    results = run_steps(clone, "", "propose", DELIVERY, BRANCH=branch, EXTRA_PATH=str(fake_gh(tmp_path)))
    assert [(name, code) for name, code, _ in results] == [("What the proposal changes", 1)]
    assert "a proposal changes environments/ only" in results[0][2] and "platform/platform.yaml" in results[0][2]


class Webhook(BaseHTTPRequestHandler):
    received: list[tuple[dict[str, str], bytes]] = []

    def do_POST(self) -> None:  # noqa: N802 - the http.server API
        body = self.rfile.read(int(self.headers["Content-Length"]))
        Webhook.received.append((dict(self.headers), body))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args) -> None:
        pass


@pytest.mark.skipif(not (shutil.which("curl") and shutil.which("openssl")), reason="curl or openssl is absent "
                    "(.ci/run installs them)")
def test_a_release_change_on_main_asks_argo_cd_to_sync(origin: Path, tmp_path: Path) -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Webhook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        clone, branch = proposal(origin, tmp_path, "rollback", None)
        repository = git.Repo(clone)
        repository.git.checkout("main")
        platform = clone / "platform" / "platform.yaml"
        platform.write_text(platform.read_text().replace("https://argocd.acme.internal/api/webhook",
                                                         f"http://127.0.0.1:{server.server_port}/api/webhook"))
        repository.git.add("--all")
        repository.index.commit("point the webhook here")  # then the rollback lands on top, as after a merge
        repository.git.cherry_pick(branch)
        Webhook.received.clear()
        results = run_steps(clone, "", "sync", DELIVERY, WEBHOOK_SECRET="s3cret", AFTER="abc123",
                            REPOSITORY_URL="https://github.com/acme/mlplat")
    finally:
        server.shutdown()
    assert [(name, code) for name, code, _ in results] == [("Request the sync", 0)], results
    [(headers, body)] = Webhook.received
    assert headers["X-GitHub-Event"] == "push"
    expected = hmac.new(b"s3cret", body, hashlib.sha256).hexdigest()
    assert headers["X-Hub-Signature-256"] == f"sha256={expected}"
    payload = json.loads(body)
    assert payload["ref"] == "refs/heads/main" and payload["repository"]["html_url"] == "https://github.com/acme/mlplat"
    assert "environments/prod/releases.yaml" in payload["commits"][0]["modified"]


def test_the_delivery_jobs_hold_no_write_permission() -> None:
    jobs = load(DELIVERY)["jobs"]
    assert {name: job["permissions"] for name, job in jobs.items()} == {"propose": {"contents": "read"},
                                                                        "sync": {"contents": "read"}}
    assert all(step["with"]["persist-credentials"] is False for job in jobs.values() for step in job["steps"]
               if "checkout" in step.get("uses", ""))
    assert sys.executable  # the steps' python is this environment's (PyYAML), as Install gives the runner's
