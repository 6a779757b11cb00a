"""A compile after changes inside some teams' model folders checks and plans those teams alone, on the plan
of an earlier clean compile with the same common inputs (incremental/project_plan.py). Its plan is the
full plan, byte for byte and note for note; whatever it cannot vouch for (an error, a name another team
holds, a team left without models) goes the full way, and says exactly what a check without caches says."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from compiler.pipeline.incremental import project_plan
from compiler.pipeline.incremental.plan_memo import KIND
from compiler.pipeline.incremental.store import cache_folder
from compiler.pipeline.write import differences
from tests.compiler.conftest import CheckLog
from tests.compiler.test_plan_memo import PIPELINE
from tests.compiler.test_render_cache import FRAUD, clean_plan, edit, files, run

CHURN = "specs/growth/churn-predictor/model.yaml"


def copy_model(root: Path, source: str, name: str) -> None:
    """A new model beside `source` (specs/<team>/<model>): its folder under a new name."""
    target = (root / source).parent / name
    shutil.copytree(root / source, target)
    spec = target / "model.yaml"
    spec.write_text(spec.read_text().replace(f"name: {Path(source).name}", f"name: {name}", 1))


def _leave_code_only(root: Path) -> None:
    folder = root / "specs/search/query-ranker"
    (folder / "NOTES.md").write_text("the ranker moved to another repository\n")
    (folder / "model.yaml").unlink()


TEAM_CHANGES: dict[str, tuple[Callable[[Path], None], set[str]]] = {
    "spec": (lambda root: edit(root, FRAUD, "epochs: 20", "epochs: 25"), {"payments"}),
    "two teams": (lambda root: (edit(root, FRAUD, "epochs: 20", "epochs: 25"),
                                edit(root, CHURN, "max_depth: 8", "max_depth: 9")), {"payments", "growth"}),
    "training code": (lambda root: edit(root, PIPELINE, "def train(", "# tuned by hand\ndef train("), {"growth"}),
    "new model": (lambda root: copy_model(root, "specs/growth/ltv-forecaster", "ltv-forecaster-eu"), {"growth"}),
    "removed model": (lambda root: shutil.rmtree(root / "specs/growth/ltv-forecaster"), {"growth"}),
}


@pytest.mark.parametrize("change", sorted(TEAM_CHANGES))
def test_a_change_inside_teams_plans_those_teams_alone(repo_copy: Path, check_log: CheckLog, change: str) -> None:
    assert run(repo_copy, "compile")[0] == 0
    stored = set((cache_folder(repo_copy) / KIND).rglob("*.json"))
    mutate, teams = TEAM_CHANGES[change]
    mutate(repo_copy)
    code, out = run(repo_copy, "compile")
    assert code == 0, out
    assert (check_log.whole, check_log.teams) == ([repo_copy], [teams])  # the warm compile's, then the teams'
    # the memo gained the plan's own entry and the changed teams' parts; the others' are shared
    assert len(set((cache_folder(repo_copy) / KIND).rglob("*.json")) - stored) == 1 + len(teams)
    clean = clean_plan(repo_copy)
    assert differences(repo_copy, clean) == []
    assert f"compiled {len(list(repo_copy.glob('specs/*/*/model.yaml')))} models" in out, out
    assert [line.removeprefix("  note: ") for line in out.splitlines() if line.startswith("  note: ")] \
        == list(clean.notes)
    planned, _ = project_plan.plan_project(repo_copy)  # what the team check left in the memo
    assert planned is not None and files(planned.plan) == files(clean) and planned.plan.notes == clean.notes
    assert len(check_log.whole) == 1


def _break_spec(root: Path) -> None:
    edit(root, FRAUD, "timeout: 4h", "timeout: four hours")


FALLBACKS: dict[str, Callable[[Path], None]] = {
    "an error in the team": _break_spec,
    # the other team's model of that name is not checked again, but the name is taken
    "a name another team holds": lambda root: copy_model(root, "specs/growth/ltv-forecaster", "query-ranker"),
    # a pin in prod names it: the releases are checked against every model, not only the team's
    "a pinned model removed": lambda root: shutil.rmtree(root / "specs/growth/churn-predictor"),
    # the team's code stays, its model goes: the environments' own objects no longer list the team
    "a team left without models": _leave_code_only,
}


@pytest.mark.parametrize("change", sorted(FALLBACKS))
def test_what_a_team_check_cannot_vouch_for_is_checked_in_full(
        repo_copy: Path, check_log: CheckLog, change: str, monkeypatch: pytest.MonkeyPatch) -> None:
    assert run(repo_copy, "compile")[0] == 0
    FALLBACKS[change](repo_copy)
    code, out = run(repo_copy, "compile")
    assert len(check_log.teams) == 1 and len(check_log.whole) == 2  # the team alone, then the whole project
    if change == "a team left without models":
        assert code == 0, out
        assert differences(repo_copy, clean_plan(repo_copy)) == []
        return
    monkeypatch.setenv("MLPLAT_CACHE", "off")
    assert code == 1
    assert (code, out) == run(repo_copy, "compile")  # every error, as a compile without any cache says them


def test_a_change_outside_the_model_folders_checks_everything(repo_copy: Path, check_log: CheckLog) -> None:
    """The platform, the feature definitions, the releases and evidence reach every team."""
    assert run(repo_copy, "compile")[0] == 0
    edit(repo_copy, "specs/payments/features.yaml", "ttl: 30d", "ttl: 14d")
    assert run(repo_copy, "compile")[0] == 0
    assert (len(check_log.whole), check_log.teams) == (2, [])
    assert differences(repo_copy, clean_plan(repo_copy)) == []


def test_a_team_check_keeps_nothing_until_the_whole_plan_stands(repo_copy: Path, check_log: CheckLog) -> None:
    """Loaded files enter the spec cache only when the project checks: a team that checked alone but whose
    plan could not stand (its model's name is another team's) leaves the cache as the last clean run did."""
    from compiler.pipeline.incremental.spec_cache import KIND as SPECS

    assert run(repo_copy, "compile")[0] == 0
    before = sorted((cache_folder(repo_copy) / SPECS).rglob("*.json"))
    FALLBACKS["a name another team holds"](repo_copy)
    assert run(repo_copy, "compile")[0] == 1
    assert check_log.teams == [{"growth"}]
    assert sorted((cache_folder(repo_copy) / SPECS).rglob("*.json")) == before
