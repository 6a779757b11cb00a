"""The writer: deterministic bytes, atomic replacement, pruning only what mlplat owns, and --check."""

from __future__ import annotations

import hashlib
import io
import os
import random
import shutil
import subprocess
import sys
from contextlib import redirect_stdout
from pathlib import Path

import pytest

import compiler.pipeline.project
from compiler.cli import main
from compiler.pipeline import tree_swap
from compiler.pipeline.check import check_project
from compiler.pipeline.plan import build_plan
from compiler.pipeline.write import INDEX, differences, write_plan
from tests.conftest import REPO, copy_inputs


def tree(root: Path) -> dict[str, bytes]:
    base = root / "environments"
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(base.rglob("*")) if p.is_file()}


def run(root: Path, *args: str) -> tuple[int, str]:
    out = io.StringIO()
    with redirect_stdout(out):
        code = main(["--root", str(root), *args])
    return code, out.getvalue()


def test_committed_output_is_up_to_date() -> None:
    code, out = run(REPO, "compile", "--check")
    assert (code, out.splitlines()[-1]) == (0, out.splitlines()[-1]), out
    assert out.startswith("ok: environments/ matches the specs")


def test_compile_into_an_empty_tree_reproduces_the_committed_bytes(tmp_path: Path) -> None:
    root = copy_inputs(tmp_path / "repo")
    assert run(root, "compile")[0] == 0
    assert tree(root) == tree(REPO)
    assert (root / ".github/CODEOWNERS").read_bytes() == (REPO / ".github/CODEOWNERS").read_bytes()


def test_same_bytes_in_any_spec_order(repo_copy: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    expected = build_plan(check_project(repo_copy)[0])
    original = compiler.pipeline.project.spec_files
    for seed in range(3):
        def shuffled(root: Path, seed: int = seed) -> list[Path]:
            files = original(root)
            random.Random(seed).shuffle(files)
            return files

        monkeypatch.setattr(compiler.pipeline.project, "spec_files", shuffled)
        assert build_plan(check_project(repo_copy)[0]) == expected


@pytest.mark.parametrize("seed", ["0", "12345"])
def test_same_bytes_under_any_hash_seed(tmp_path: Path, seed: str) -> None:
    root = copy_inputs(tmp_path / "repo")
    env = {**os.environ, "PYTHONHASHSEED": seed}
    subprocess.run([sys.executable, "-m", "compiler", "--root", str(root), "compile"], check=True, env=env,
                   capture_output=True)
    digest = hashlib.sha256(b"".join(k.encode() + v for k, v in tree(root).items())).hexdigest()
    expected = hashlib.sha256(b"".join(k.encode() + v for k, v in tree(REPO).items())).hexdigest()
    assert digest == expected


def test_failed_compile_leaves_environments_byte_identical(repo_copy: Path) -> None:
    before = tree(repo_copy)
    spec = repo_copy / "specs/growth/churn-predictor/model.yaml"
    spec.write_text(spec.read_text().replace("replicas: {min: 2, max: 6}", "replicas: {min: 2, max: many}"))
    code, out = run(repo_copy, "compile")
    assert code == 1 and "spec.serving.replicas.max: expected an integer" in out
    assert tree(repo_copy) == before
    assert sorted(p.name for p in repo_copy.iterdir()) == [".github", "environments", "platform", "specs"]


@pytest.mark.parametrize("exchange", ["fails", "unsupported"])
def test_write_is_atomic_when_the_swap_fails(repo_copy: Path, monkeypatch: pytest.MonkeyPatch, exchange: str) -> None:
    before = tree(repo_copy)
    spec = repo_copy / "specs/growth/churn-predictor/model.yaml"
    spec.write_text(spec.read_text().replace("max_depth: 8", "max_depth: 9"))
    plan = build_plan(check_project(repo_copy)[0])
    real_rename = os.rename

    def failing_exchange(a: Path, b: Path) -> bool:
        if exchange == "fails":
            raise OSError("disk full")
        return False  # the two-rename fallback, whose second rename fails

    def failing_rename(src: str | os.PathLike, dst: str | os.PathLike) -> None:
        if Path(src).name == tree_swap.STAGING:
            raise OSError("disk full")
        real_rename(src, dst)

    monkeypatch.setattr(tree_swap, "_exchange", failing_exchange)
    monkeypatch.setattr(os, "rename", failing_rename)
    with pytest.raises(OSError, match="disk full"):
        write_plan(repo_copy, plan)
    assert tree(repo_copy) == before
    # what is left beside the tree is the spec cache of the valid project checked above, nothing else
    assert sorted(p.name for p in repo_copy.iterdir()) == [".github", ".mlplat", "environments", "platform", "specs"]


def test_prunes_only_files_mlplat_generated(repo_copy: Path) -> None:
    keep = repo_copy / "environments/prod/releases.yaml"
    pins = keep.read_bytes()
    notes = repo_copy / "environments/NOTES.md"
    notes.write_text("hand-written\n")
    shutil.rmtree(repo_copy / "specs/growth/ltv-forecaster")
    code, out = run(repo_copy, "compile")
    assert code == 0
    assert "deleted environments/prod/apps/growth/ltv-forecaster/configmap-ltv-forecaster-spec.yaml" in out
    assert not (repo_copy / "environments/prod/apps/growth/ltv-forecaster").exists()
    assert keep.read_bytes() == pins
    assert notes.read_text() == "hand-written\n"
    assert "ltv-forecaster" not in (repo_copy / INDEX).read_text()


def test_check_reports_hand_edits_stale_and_unowned_files(repo_copy: Path) -> None:
    edited = repo_copy / "environments/prod/argocd/applications/payments.yaml"
    edited.write_text(edited.read_text().replace("selfHeal: true", "selfHeal: false"))
    (repo_copy / "environments/dev/apps/growth/extra.yaml").write_text("kind: ConfigMap\n")
    stale = repo_copy / "environments/dev/apps/growth/old-model/configmap-old-model-spec.yaml"
    stale.parent.mkdir()
    stale.write_text("old\n")
    index = repo_copy / INDEX
    index.write_text(index.read_text() + f"{'0' * 64}  environments/dev/apps/growth/old-model/"
                     "configmap-old-model-spec.yaml\n")
    code, out = run(repo_copy, "compile", "--check")
    assert code == 1
    lines = [line for line in out.splitlines() if line.startswith("environments/") and ".yaml:" in line
             or line.startswith(INDEX)]
    assert lines == [
        "environments/GENERATED.sha256: differs from what the specs produce (hand-edited or stale)",
        "environments/dev/apps/growth/extra.yaml: was not generated by mlplat, but Argo CD would apply it",
        "environments/dev/apps/growth/old-model/configmap-old-model-spec.yaml: is no longer produced by any spec "
        "and would be deleted",
        "environments/prod/argocd/applications/payments.yaml: differs from what the specs produce "
        "(hand-edited or stale)",
    ]
    assert "-      selfHeal: false" in out and "+      selfHeal: true" in out
    assert out.splitlines()[-1] == "environments/ is out of date: 4 file(s) differ; run `mlplat compile` and commit"


def test_check_passes_after_compile_repairs_hand_edits(repo_copy: Path) -> None:
    edited = repo_copy / "environments/dev/argocd/root.yaml"
    edited.write_text(edited.read_text() + "# tweak\n")
    assert differences(repo_copy, build_plan(check_project(repo_copy)[0]))
    assert run(repo_copy, "compile")[0] == 0
    assert run(repo_copy, "compile", "--check")[0] == 0
