"""Fixtures of the compiler's tests."""

from __future__ import annotations

from pathlib import Path

import pytest

import compiler.pipeline.check


class CheckLog:
    """Every real check from here on: `whole`, the folders checked in full; `teams`, the teams of each check
    of some teams alone (incremental/project_plan.py)."""

    def __init__(self) -> None:
        self.whole: list[Path] = []
        self.teams: list[set[str]] = []


@pytest.fixture
def check_log(monkeypatch: pytest.MonkeyPatch) -> CheckLog:
    log = CheckLog()
    real = compiler.pipeline.check.check_project

    def counted(root: Path, cache_root: Path | None = None, remember: bool = True,  # noqa: ANN202 - as the real one
                teams: set[str] | None = None, others: frozenset[str] = frozenset()):
        if teams is None:
            log.whole.append(root)
        else:
            log.teams.append(teams)
        return real(root, cache_root, remember, teams, others)

    monkeypatch.setattr(compiler.pipeline.check, "check_project", counted)
    return log
