"""Every broken spec under tests/fixtures/broken/ gives exactly the located errors in its expected.txt.

Each case is a folder of files laid over a copy of platform/platform.yaml (a case may bring its own
platform.yaml); expected.txt is the exact text of `mlplat validate`.
"""

from __future__ import annotations

import io
import shutil
from contextlib import redirect_stdout
from pathlib import Path

import pytest

from compiler.cli import main
from tests.conftest import REPO, check_golden

CORPUS = Path(__file__).resolve().parent.parent / "fixtures" / "broken"
CASES = sorted(p.name for p in CORPUS.iterdir() if p.is_dir())
# Cases whose one mistake is, correctly, more than one error.
MULTIPLE = {"duplicate-model-name": 1, "gpu-quota-overrun": 1,
            "gate-without-condition": 2,  # the empty gate is also no quality gate, which production requires
            "canary-steps-out-of-order": 3,  # and both shares set, and an interval cron cannot keep
            "features-unknown-field": 2}  # a misspelt required field is also a missing one


def run_validate(root: Path, *args: str) -> tuple[int, str]:
    out = io.StringIO()
    with redirect_stdout(out):
        code = main(["--root", str(root), "validate", *args])
    return code, out.getvalue()


def build_case(name: str, tmp_path: Path) -> Path:
    root = tmp_path / name
    shutil.copytree(CORPUS / name, root, ignore=shutil.ignore_patterns("expected.txt"))
    if not (root / "platform" / "platform.yaml").exists():
        (root / "platform").mkdir(exist_ok=True)
        shutil.copy(REPO / "platform" / "platform.yaml", root / "platform" / "platform.yaml")
    return root


def test_corpus_is_large_enough() -> None:
    assert len(CASES) >= 25


@pytest.mark.parametrize("name", CASES)
def test_broken_spec(name: str, tmp_path: Path) -> None:
    code, out = run_validate(build_case(name, tmp_path))
    assert code == 1
    assert "Traceback" not in out
    check_golden(CORPUS / name / "expected.txt", out)
    errors = [line for line in out.splitlines() if ": error: " in line]
    assert len(errors) == MULTIPLE.get(name, 1), out
    for line in errors:
        assert line.split(":")[1].isdigit() and line.split(":")[2].isdigit(), f"not located: {line}"


def _generated_case(tmp_path: Path, content: bytes) -> Path:
    root = tmp_path / "generated"
    (root / "platform").mkdir(parents=True)
    shutil.copy(REPO / "platform" / "platform.yaml", root / "platform" / "platform.yaml")
    spec = root / "specs" / "growth" / "demo-model" / "model.yaml"
    spec.parent.mkdir(parents=True)
    spec.write_bytes(content)
    return root


def test_oversize_file_is_refused_before_parsing(tmp_path: Path) -> None:
    content = b"apiVersion: mlplat/v1\n" + b"# padding\n" * 110_000
    code, out = run_validate(_generated_case(tmp_path, content))
    assert code == 1
    assert out == ("specs/growth/demo-model/model.yaml:1:1: error: file is 1,100,022 bytes; "
                   "spec files are limited to 1,048,576 bytes\n1 error in 1 file\n")


@pytest.mark.parametrize("opener", ["[", "{a: "])
def test_deep_flow_nesting_never_reaches_the_parser(tmp_path: Path, opener: str) -> None:
    # ~100 KB of nested brackets crashes libyaml's recursive parser; we must refuse it first.
    content = b"spec: " + opener.encode() * 50_000
    code, out = run_validate(_generated_case(tmp_path, content))
    assert code == 1
    assert "nesting is too deep: more than 48 open brackets" in out
    assert out.endswith("1 error in 1 file\n")


def test_deep_block_nesting_is_refused(tmp_path: Path) -> None:
    content = "".join(f"{'  ' * i}k{i}:\n" for i in range(60)).encode()
    code, out = run_validate(_generated_case(tmp_path, content))
    assert code == 1
    assert "nesting is too deep: this line is indented 98 columns (limit 96)" in out


PRODUCTION = ["prod-high-risk-without-approval", "prod-undigested-image", "prod-without-model-card",
              "prod-without-owners", "prod-without-quality-gate", "prod-without-risk-tier"]


@pytest.mark.parametrize("name", PRODUCTION)
def test_gate_enforces_the_production_policies_too(name: str, tmp_path: Path) -> None:
    out = io.StringIO()
    with redirect_stdout(out):
        code = main(["--root", str(build_case(name, tmp_path)), "gate", "--env", "prod"])
    assert code == 1 and out.getvalue() == (CORPUS / name / "expected.txt").read_text()
