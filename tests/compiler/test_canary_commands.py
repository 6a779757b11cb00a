"""`mlplat canary`: a decision applied to prod's fraud-detector (main v12, canary v13 at 5% of a
5 -> 25 -> 50 -> 100 rollout) on a real git repository, and the analysis without a Prometheus to ask."""

from __future__ import annotations

import io
import json
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import git
import pytest
import yaml

from compiler.cli import main
from compiler.local.serve import free_port
from tests.conftest import committed_branch, copy_repo, init_git
from tests.workflows.test_delivery import decision

FOLDER = "environments/prod/apps/payments/fraud-detector"


def run(root: Path, *args: str) -> tuple[int, str]:
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main(["--root", str(root), *args])
    return code, out.getvalue() + err.getvalue()


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = copy_repo(tmp_path / "repo")
    (root / ".gitignore").write_text("/.mlplat/\n")
    init_git(root)
    return root


def apply(repo: Path, tmp_path: Path, action: str, to: int | None, **changes) -> tuple[int, str]:
    """The decision committed, and (where it was) its branch checked out: the commit is made beside the work
    tree, which it leaves as it was."""
    path = tmp_path / "decision.json"
    path.write_text(json.dumps({**decision(action, to), **changes}))
    repository = git.Repo(repo)
    head, status = repository.head.commit.hexsha, repository.git.status("--porcelain")
    code, output = run(repo, "canary", "fraud-detector", "--env", "prod", "--decision", str(path), "--commit")
    assert (repository.head.commit.hexsha, repository.git.status("--porcelain")) == (head, status)
    if code == 0:
        repository.git.checkout(committed_branch(output))
    return code, output


def release(repo: Path) -> dict:
    return yaml.safe_load((repo / "environments/prod/releases.yaml").read_text())["releases"]["fraud-detector"]


def traffic(repo: Path) -> dict[str, int]:
    deployment = yaml.safe_load((repo / FOLDER / "seldondeployment-fraud-detector.yaml").read_text())
    return {p["name"]: p["traffic"] for p in deployment["spec"]["predictors"]}


def test_a_step_moves_the_canary_to_the_next_share(repo: Path, tmp_path: Path) -> None:
    code, output = apply(repo, tmp_path, "step", 25)
    assert code == 0, output
    candidate = release(repo)["candidate"]
    assert (candidate["version"], candidate["traffic"], candidate["since"]) == (13, 25, "2026-12-02T08:00:00Z")
    assert traffic(repo) == {"main": 75, "canary": 25}
    commit = git.Repo(repo).head.commit
    assert commit.message.startswith("step canary fraud-detector v13 in prod from 5% to 25%\n\nreason: synthetic\n")
    assert "- errors: main 20/40000, canary 1/2000; Fisher exact, one-sided: p-value 0.6" in commit.message
    assert "Mlplat-Change: canary-step" in commit.message
    assert run(repo, "compile", "--check")[0] == 0 and not git.Repo(repo).is_dirty(untracked_files=True)


def test_promote_makes_the_candidate_main_and_ends_the_analysis(repo: Path, tmp_path: Path) -> None:
    pins = repo / "environments/prod/releases.yaml"
    pins.write_text(pins.read_text().replace("traffic: 5\n", "traffic: 100\n"))
    repository = git.Repo(repo)
    repository.git.add("--all")
    repository.index.commit("at 100%")
    assert run(repo, "compile")[0] == 0
    repository.git.add("--all")
    repository.index.commit("rendered")
    code, output = apply(repo, tmp_path, "promote", 100, traffic={"from": 100, "to": 100})
    assert code == 0, output
    pinned = release(repo)
    assert pinned["version"] == 13 and "candidate" not in pinned and pinned["approvedBy"] == ["@maria-lopez"]
    assert traffic(repo) == {"main": 100}
    assert not (repo / FOLDER / "cronworkflow-fraud-detector-canary.yaml").exists()


def test_rollback_removes_the_candidate_and_keeps_main(repo: Path, tmp_path: Path) -> None:
    code, output = apply(repo, tmp_path, "rollback", None)
    assert code == 0, output
    pinned = release(repo)
    assert pinned["version"] == 12 and "candidate" not in pinned
    assert traffic(repo) == {"main": 100}
    assert git.Repo(repo).active_branch.name.startswith("mlplat/canary-fraud-detector-prod-v13-rollback-0-")


@pytest.mark.parametrize("stale", [{"traffic": {"from": 25, "to": 50}}, {"candidate": {"version": 14}}])
def test_a_decision_about_pins_that_moved_on_is_refused_and_changes_nothing(repo: Path, tmp_path: Path,
                                                                           stale: dict) -> None:
    before = (repo / "environments/prod/releases.yaml").read_bytes()
    code, output = apply(repo, tmp_path, "step", 50, **stale)
    assert code == 1 and "mlplat canary: refused: the decision judged" in output and "analyse again" in output
    assert (repo / "environments/prod/releases.yaml").read_bytes() == before
    repository = git.Repo(repo)
    assert repository.active_branch.name == "main" and [h.name for h in repository.heads] == ["main"]
    assert not repository.is_dirty(untracked_files=True)


def test_a_step_the_rollout_does_not_have_is_refused(repo: Path, tmp_path: Path) -> None:
    code, output = apply(repo, tmp_path, "step", 30)
    assert code == 1 and "30% is not a later step of fraud-detector's rollout (5 -> 25 -> 50 -> 100)" in output


def test_without_a_prometheus_the_analysis_holds_blind_and_commits_nothing(repo: Path) -> None:
    nobody = f"http://127.0.0.1:{free_port()}"
    code, output = run(repo, "canary", "fraud-detector", "--env", "prod", "--prometheus", nobody, "--commit")
    assert code == 2
    decided = json.loads((repo / ".mlplat/canary/fraud-detector-prod/decision.json").read_text())
    assert (decided["action"], decided["blind"]) == ("hold", True)
    assert decided["traffic"] == {"from": 5, "to": None} and decided["step"]["of"] == 4
    repository = git.Repo(repo)
    assert [h.name for h in repository.heads] == ["main"] and not repository.is_dirty()
