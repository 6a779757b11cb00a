"""CODEOWNERS comes from the teams in platform.yaml, and a hand edit is caught like any generated file."""

from __future__ import annotations

import io
from contextlib import redirect_stdout
from pathlib import Path

from compiler.cli import main
from compiler.pipeline.check import check_project
from renderers import codeowners
from tests.conftest import REPO, check_golden


def test_codeowners_golden() -> None:
    checked, _ = check_project(REPO)
    text = codeowners.text(checked.project.platform)
    check_golden(REPO / "tests/golden/CODEOWNERS", text)
    lines = [line.split() for line in text.splitlines() if not line.startswith("#")]
    assert lines[0] == ["*", "@acme/ml-platform"]
    assert ["/specs/payments/", "@acme/payments-ml", "@maria-lopez"] in lines
    # The platform's own paths come last, so that no team line can take them over.
    assert [line[0] for line in lines[-len(codeowners.PLATFORM_PATHS):]] == list(codeowners.PLATFORM_PATHS)


def test_hand_edited_codeowners_fails_the_check(repo_copy: Path) -> None:
    target = repo_copy / ".github/CODEOWNERS"
    target.write_text(target.read_text().replace("/specs/search/ ", "/specs/search/ @mallory "))
    out = io.StringIO()
    with redirect_stdout(out):
        assert main(["--root", str(repo_copy), "compile", "--check"]) == 1
    assert ".github/CODEOWNERS: differs from what the specs produce" in out.getvalue()
    with redirect_stdout(io.StringIO()):
        assert main(["--root", str(repo_copy), "compile"]) == 0
    assert "@mallory" not in target.read_text()
