"""`mlplat new`: each template gives a model that validates, trains, gates and registers with `mlplat run`
as written, whose own unit test passes, and (batch scoring) that `mlplat score` scores a table with; bad
requests write nothing."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from compiler.spec.scaffold import TEMPLATES
from tests.conftest import REPO, copy_repo
from tests.runtime.conftest import mlplat


def tree(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in (root / "specs").rglob("*")}


@pytest.mark.parametrize("template", sorted(TEMPLATES))
def test_a_new_model_validates_runs_and_tests_as_written(template: str, tmp_path: Path) -> None:
    root = copy_repo(tmp_path)
    name = f"first-{template}"
    made = mlplat(root, "new", name, "--team", "search", "--template", template,
                  "--description", "Demo: a newcomer's first model")
    assert made.returncode == 0, made.stdout + made.stderr
    folder = root / "specs/search" / name
    assert f"wrote specs/search/{name}/ from the {template} template" in made.stdout
    assert (folder / "model.yaml").read_text().count("Demo: a newcomer's first model") == 1
    assert mlplat(root, "validate").returncode == 0
    ran = mlplat(root, "run", name)
    assert ran.returncode == 0, ran.stdout[-3000:] + ran.stderr[-3000:]
    assert f"registered: {name} version 1 as champion" in ran.stdout
    package = name.replace("-", "_")
    tested = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-o", "addopts=",
                             str(folder / "tests")], cwd=root, capture_output=True, text=True,
                            env={**os.environ, "PYTHONPATH": str(REPO)})
    assert tested.returncode == 0, tested.stdout + tested.stderr
    assert (folder / package / "train.py").is_file() and (folder / "tests" / f"test_{package}.py").is_file()
    if template == "batch-scoring":
        scored = mlplat(root, "score", name, "--input", "sklearn://diabetes?split=eval&holdout=0.25&seed=0",
                        "--output", str(tmp_path / "scores.parquet"))
        assert scored.returncode == 0, scored.stdout + scored.stderr
        assert f"111 rows scored by {name} version 1" in scored.stdout
        import pandas as pd

        predictions = pd.read_parquet(tmp_path / "scores.parquet")
        assert len(predictions) == 111 and predictions["prediction"].notna().all()
        assert len(pd.read_parquet(root / ".mlplat/prediction-logs/search" / name)) == 111


@pytest.mark.parametrize("args,message", [
    (["Fraud_2", "--team", "search", "--template", "command"], "'Fraud_2' is not a model name"),
    (["ranker-2", "--team", "marketing", "--template", "command"], "no team 'marketing' in platform/platform.yaml"),
    (["ranker-2", "--team", "search", "--template", "xgboost"], "invalid choice: 'xgboost'"),
    (["query-ranker", "--team", "growth", "--template", "command"],
     "a model 'query-ranker' exists already (specs/search/query-ranker/model.yaml)"),
    (["a" * 60, "--team", "search", "--template", "command"], "so model names may have at most"),
    (["import", "--team", "search", "--template", "sklearn-regression"], "its package 'import' is a Python keyword"),
    (["class", "--team", "search", "--template", "pytorch-classifier"], "its package 'class' is a Python keyword"),
    (["json", "--team", "search", "--template", "command"], "is a module of Python's standard library"),
    (["runtime", "--team", "search", "--template", "command"], "its package 'runtime' is mlplat's own"),
])
def test_bad_requests_write_nothing(tmp_path: Path, args: list[str], message: str) -> None:
    root = copy_repo(tmp_path)
    before = tree(root)
    made = mlplat(root, "new", *args)
    assert made.returncode == 2 and message in made.stderr
    assert tree(root) == before


def test_an_existing_folder_is_not_overwritten(tmp_path: Path) -> None:
    root = copy_repo(tmp_path)
    (root / "specs/search/notes").mkdir()
    (root / "specs/search/notes/README.md").write_text("mine\n")
    made = mlplat(root, "new", "notes", "--team", "search", "--template", "command")
    assert made.returncode == 2 and "specs/search/notes exists already; nothing was written" in made.stderr
    assert [p.name for p in (root / "specs/search/notes").iterdir()] == ["README.md"]


def test_what_a_killed_new_left_is_removed_by_the_next(tmp_path: Path) -> None:
    """A `new` killed while it wrote its staging folder (named with its process id) left it under .mlplat/new/;
    the next run removes it, and leaves a running one's alone."""
    import subprocess
    import sys

    root = copy_repo(tmp_path)
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    left = root / f".mlplat/new/{gone.pid}-half-done-x1y2"
    (left / "half_done").mkdir(parents=True)
    running = root / f".mlplat/new/{os.getpid()}-mine-z3"
    running.mkdir()
    made = mlplat(root, "new", "ranker-2", "--team", "search", "--template", "command")
    assert made.returncode == 0, made.stderr
    assert not left.exists() and running.exists()
