"""Symbolic links never make mlplat read a file from outside the repository, nor drop a spec quietly."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from compiler.pipeline.check import check_project
from tests.conftest import copy_inputs


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """A folder beside the repository copy, holding what a link could point at."""
    folder = tmp_path / "outside"
    folder.mkdir()
    return folder


def located(root: Path) -> list[tuple[str, int, int, str]]:
    checked, errors = check_project(root)
    assert checked is None
    return [(e.file, e.line, e.column, e.message) for e in errors]


def test_a_model_folder_that_is_a_link_is_an_error_not_a_missing_model(tmp_path: Path, outside: Path) -> None:
    root = copy_inputs(tmp_path / "repo")
    shutil.move(root / "specs/search/query-ranker", outside / "query-ranker")
    (root / "specs/search/query-ranker").symlink_to(outside / "query-ranker", target_is_directory=True)
    [(file, line, column, message)] = located(root)
    assert (file, line, column) == ("specs/search/query-ranker/model.yaml", 1, 1)
    assert message.startswith("specs/search/query-ranker is a symbolic link")


def test_a_model_yaml_that_is_a_link_is_not_read(tmp_path: Path, outside: Path) -> None:
    root = copy_inputs(tmp_path / "repo")
    spec = root / "specs/search/query-ranker/model.yaml"
    shutil.move(spec, outside / "model.yaml")
    spec.symlink_to(outside / "model.yaml")
    [(file, _, _, message)] = located(root)
    assert file == "specs/search/query-ranker/model.yaml" and "is a symbolic link" in message


@pytest.mark.parametrize("relative", ["platform/platform.yaml", "environments/staging/releases.yaml"])
def test_platform_and_releases_links_are_refused(tmp_path: Path, outside: Path, relative: str) -> None:
    root = copy_inputs(tmp_path / "repo")
    shutil.move(root / relative, outside / "file.yaml")
    (root / relative).symlink_to(outside / "file.yaml")
    assert any(file == relative and "is a symbolic link" in message for file, _, _, message in located(root))


def test_an_evidence_link_is_refused(tmp_path: Path, outside: Path) -> None:
    root = copy_inputs(tmp_path / "repo")
    evidence = sorted((root / "environments/prod/evidence").iterdir())[0]
    shutil.move(evidence, outside / "evidence.json")
    evidence.symlink_to(outside / "evidence.json")
    relative = evidence.relative_to(root).as_posix()
    assert any(file == relative and "is a symbolic link" in message for file, _, _, message in located(root))


def test_a_dangling_releases_link_is_not_taken_for_nothing_pinned(tmp_path: Path) -> None:
    root = copy_inputs(tmp_path / "repo")
    (root / "environments/staging/releases.yaml").unlink()
    (root / "environments/staging/releases.yaml").symlink_to(tmp_path / "nowhere.yaml")
    assert any(file == "environments/staging/releases.yaml" for file, _, _, _ in located(root))
