"""The plan memo: a project whose inputs and code are those of an earlier clean compile gets that compile's
plan without being checked again; any change to any input, or to the code, is a miss, and a memo that is
damaged, foreign or made while the inputs changed is never trusted."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from compiler.pipeline.incremental import fingerprint, project_plan
from compiler.pipeline.incremental.plan_memo import KIND, inputs_digest
from compiler.pipeline.incremental.store import cache_folder
from compiler.pipeline.tree_swap import SPARE
from compiler.pipeline.write import differences
from tests.compiler.conftest import CheckLog
from tests.compiler.test_render_cache import CHANGES, clean_plan, edit, run

PIPELINE = "specs/growth/ltv-forecaster/ltv/pipeline.py"


@pytest.fixture
def checks(check_log: CheckLog) -> list[Path]:
    """Every real check of a whole project from here on (the memo's hits make none)."""
    return check_log.whole


def test_the_same_inputs_are_not_checked_again(repo_copy: Path, checks: list[Path]) -> None:
    assert run(repo_copy, "compile")[0] == 0
    assert len(checks) == 1 and len(plan_entries(repo_copy)) == 1
    assert run(repo_copy, "compile", "--check")[0] == 0
    code, out = run(repo_copy, "validate")
    assert (code, out) == (0, "ok: 6 model specs valid in 3 environments\n")
    code, out = run(repo_copy, "compile")
    assert code == 0 and "13" not in out.split("files,")[1].split("written")[0], out  # nothing written
    assert len(checks) == 1


TRAINING_CODE = {
    # a change to the training code beside a spec: the check parses it for the entrypoint
    "training-code": lambda root: edit(root, PIPELINE, "def train(", "def train_model("),
    "new-spec-file": lambda root: (root / "specs/growth/ltv-forecaster/NOTES.md").write_text("notes\n"),
}


# the changes that stay inside one team's model folders: that team is checked alone (test_changed_teams.py)
TEAM_OF_CHANGE = {"spec": "payments", "overlay": "payments", "training-code": "growth", "new-spec-file": "growth"}


@pytest.mark.parametrize("change", sorted([*CHANGES, *TRAINING_CODE]))
def test_any_input_change_is_checked_again(repo_copy: Path, check_log: CheckLog, change: str) -> None:
    assert run(repo_copy, "compile")[0] == 0
    before = inputs_digest(repo_copy)
    (TRAINING_CODE.get(change) or CHANGES[change][0])(repo_copy)
    assert inputs_digest(repo_copy) != before
    code, out = run(repo_copy, "compile")
    team = TEAM_OF_CHANGE.get(change)
    assert check_log.teams == ([{team}] if team else [])
    if change == "training-code":  # the edit broke the entrypoint: found, though the last compile was clean
        assert code == 1 and "defines no 'train' at module level" in out, out
        assert len(check_log.whole) == 2  # and reported by a check of the whole project
        return
    assert len(check_log.whole) == (1 if team else 2)
    assert code == 0, out
    assert differences(repo_copy, clean_plan(repo_copy)) == []


def plan_entries(root: Path) -> list[Path]:
    """The memo's entries of whole plans (beside them: each team's part, and the latest plan's pointer)."""
    return [path for path in (cache_folder(root) / KIND).rglob("*.json")
            if "shared" in (json.loads(path.read_bytes())["value"] or ())]


def test_a_code_change_is_checked_again(repo_copy: Path, checks: list[Path], monkeypatch: pytest.MonkeyPatch) -> None:
    assert run(repo_copy, "compile")[0] == 0
    monkeypatch.setattr(fingerprint, "project_code_version", lambda: "an edited check")
    assert run(repo_copy, "compile", "--check")[0] == 0
    assert len(checks) == 2


def test_the_code_version_covers_the_checks() -> None:
    covered = {p.relative_to(fingerprint._REPO).as_posix() for p in fingerprint._code_files(fingerprint._CHECKING)}
    assert {"compiler/pipeline/check.py", "compiler/pipeline/policy.py", "compiler/pipeline/loader.py",
            "compiler/pipeline/entrypoints.py", "compiler/pipeline/incremental/plan_memo.py"} <= covered


def test_a_link_among_the_inputs_gives_no_memo(repo_copy: Path, checks: list[Path]) -> None:
    assert run(repo_copy, "compile")[0] == 0
    os.symlink(repo_copy / PIPELINE, repo_copy / "specs/growth/ltv-forecaster/ltv/linked.py")
    assert inputs_digest(repo_copy) is None
    assert run(repo_copy, "compile", "--check")[0] == 0
    assert len(checks) == 2


@pytest.mark.parametrize("damage", ["truncated", "garbage", "another format", "not a plan", "another digest"])
def test_a_damaged_or_foreign_memo_is_a_miss(repo_copy: Path, checks: list[Path], damage: str) -> None:
    assert run(repo_copy, "compile")[0] == 0
    (entry,) = plan_entries(repo_copy)
    body = entry.read_bytes()
    if damage == "truncated":
        entry.write_bytes(body[:100])
    elif damage == "garbage":
        entry.write_bytes(os.urandom(200))
    elif damage == "another format":  # what another version of mlplat wrote
        entry.write_text(json.dumps({**json.loads(body), "format": 2}))
    elif damage == "not a plan":
        entry.write_text(json.dumps({**json.loads(body), "value": {"files": [["environments/x"]]}}))
    else:  # a good entry filed under the key of other inputs
        entry.unlink()
        edit(repo_copy, "specs/payments/fraud-detector/model.yaml", "epochs: 20", "epochs: 25")
        digest = inputs_digest(repo_copy).whole
        (entry.parent.parent / digest[:2]).mkdir(exist_ok=True)
        (entry.parent.parent / digest[:2] / f"{digest}.json").write_bytes(body)
    code, out = run(repo_copy, "compile", "--check")
    assert len(checks) == 2
    assert code == (1 if damage == "another digest" else 0), out


@pytest.mark.parametrize("edited", ["environments/dev/apps/growth/ltv-forecaster", "environments/dev/argocd"])
def test_a_missing_content_is_rendered_again(repo_copy: Path, check_log: CheckLog, edited: str) -> None:
    """A team's file is planned again with its team alone; a shared file (an environment's own objects)
    with the whole project."""
    assert run(repo_copy, "compile")[0] == 0
    shutil.rmtree(repo_copy / SPARE, ignore_errors=True)  # so that only environments/ holds the contents
    for path in (repo_copy / edited).rglob("*.yaml"):
        path.write_text("edited by hand\n")
    code, out = run(repo_copy, "compile")  # from the memo, until a content must be read
    assert code == 0, out
    if "apps/growth" in edited:
        assert (len(check_log.whole), check_log.teams) == (1, [{"growth"}])  # the contents were rendered again
    else:
        assert (len(check_log.whole), check_log.teams) == (2, [])
    assert differences(repo_copy, clean_plan(repo_copy)) == []


def test_past_a_few_teams_the_whole_project_is_planned_again_once(repo_copy: Path, check_log: CheckLog,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """Each team alone loads the shared inputs again and keeps its own plan: past TEAMS_ALONE_AT_MOST (here
    1), the rest come from one plan of the whole project, as a tree deleted under a warm memo would."""
    from compiler.pipeline.incremental import plan_memo

    monkeypatch.setattr(plan_memo, "TEAMS_ALONE_AT_MOST", 1)
    assert run(repo_copy, "compile")[0] == 0
    shutil.rmtree(repo_copy / SPARE, ignore_errors=True)
    for team in ("growth", "payments", "search"):
        for path in (repo_copy / "environments/dev/apps" / team).rglob("*.yaml"):
            path.write_text("edited by hand\n")
    code, out = run(repo_copy, "compile")
    assert code == 0, out
    assert (len(check_log.whole), check_log.teams) == (2, [{"growth"}])  # the first team alone, then one whole
    assert differences(repo_copy, clean_plan(repo_copy)) == []


def test_inputs_changed_while_checking_are_not_remembered(repo_copy: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real = project_plan._checked_plan

    def edited_meanwhile(root, *args):  # noqa: ANN001, ANN202 - the real one's signature
        found = real(root, *args)
        edit(root, "specs/payments/fraud-detector/model.yaml", "epochs: 20", "epochs: 25")
        return found

    monkeypatch.setattr(project_plan, "_checked_plan", edited_meanwhile)
    assert run(repo_copy, "compile")[0] == 0
    assert not (cache_folder(repo_copy) / KIND).exists()


def test_validate_from_the_memo_loads_no_spec_model(repo_copy: Path) -> None:
    assert run(repo_copy, "compile")[0] == 0
    result = subprocess.run([sys.executable, "-X", "importtime", "-m", "compiler", "--root", str(repo_copy),
                             "validate"], capture_output=True, text=True)
    assert (result.returncode, result.stdout) == (0, "ok: 6 model specs valid in 3 environments\n"), result.stderr
    imported = {line.rsplit("|", 1)[1].strip() for line in result.stderr.splitlines()
                if line.startswith("import time:")}
    assert "compiler.pipeline.incremental.plan_memo" in imported
    assert not {"compiler.spec.model", "pydantic", "hera", "renderers"} & imported


def test_a_base_compiled_here_is_planned_from_the_memo_without_writing_it(
        repo_copy: Path, check_log: CheckLog, monkeypatch: pytest.MonkeyPatch) -> None:
    """`plan --base` of the commit a branch started from, compiled here before: its plan comes from the
    memo by the digest of the commit's files, which are neither written out nor checked; the head is (its
    changed team alone)."""
    from compiler.gitops import gitbase
    from tests.conftest import init_git

    init_git(repo_copy)
    assert run(repo_copy, "compile")[0] == 0  # the caches live in the git directory
    check_log.whole.clear()
    edit(repo_copy, "specs/growth/churn-predictor/model.yaml", "max_depth: 8", "max_depth: 9")
    monkeypatch.setattr(gitbase, "written_inputs", lambda root, files: pytest.fail("the base was written"))
    code, out = run(repo_copy, "plan", "--base", "HEAD")
    assert code == 0 and "churn-predictor" in out, out
    assert (check_log.whole, check_log.teams) == ([], [{"growth"}])  # the head's changed team; not the base


def test_a_base_whose_output_the_tree_no_longer_holds_is_planned_from_its_files(repo_copy: Path,
                                                                                 check_log: CheckLog) -> None:
    """The base comes from the memo, but the head's compile replaced its files in the tree: the contents the
    diff asks for are rendered from the base's written-out files, which stay until the plan is printed."""
    from tests.conftest import init_git

    init_git(repo_copy)  # the caches live in the git directory
    assert run(repo_copy, "compile")[0] == 0  # the base, compiled here: in the memo
    for depth in (9, 10):  # twice: the spare tree, the one before the last compile, has lost them too
        edit(repo_copy, "specs/growth/churn-predictor/model.yaml", f"max_depth: {depth - 1}", f"max_depth: {depth}")
        assert run(repo_copy, "compile")[0] == 0
    check_log.whole.clear()
    check_log.teams.clear()
    code, out = run(repo_copy, "plan", "--base", "HEAD")
    assert code == 0, out
    assert "hyperparameter max_depth: 8 -> 10" in out, out
    assert (check_log.whole, check_log.teams) == ([], [{"growth"}])  # the base's changed team, alone
    assert not any((repo_copy / ".mlplat" / "base").iterdir())  # and the written base is gone
