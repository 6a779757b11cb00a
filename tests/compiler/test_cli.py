"""The command line: exit codes, output formats, a fast start path, and no tracebacks."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from compiler.cli.app import COMMANDS
from compiler.cli.schema import json_schema
from compiler.spec.model import Model
from compiler.spec.platform import Platform
from compiler.spec.releases import Releases
from tests.compiler.test_broken_corpus import build_case, run_validate
from tests.conftest import REPO, copy_repo


def mlplat(*args: str, cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "compiler", *args], cwd=cwd, capture_output=True, text=True)


def test_validate_examples() -> None:
    result = mlplat("validate")
    assert (result.returncode, result.stdout) == (0, "ok: 6 model specs valid in 3 environments\n")


def test_validate_broken_spec_exits_1_without_traceback(tmp_path: Path) -> None:
    result = mlplat("--root", str(build_case("unknown-field-typo", tmp_path)), "validate")
    assert result.returncode == 1
    assert result.stdout.startswith("specs/growth/demo-model/model.yaml:8:3: error: metadata.riskTeir:")
    assert "Traceback" not in result.stdout + result.stderr


def test_json_format(tmp_path: Path) -> None:
    code, out = run_validate(build_case("yaml-float-version", tmp_path), "--format", "json")
    assert code == 1
    assert json.loads(out) == {"errors": [{
        "file": "specs/growth/demo-model/model.yaml", "line": 15, "column": 59,
        "path": "spec.training.data.eval.version", "message": "expected text, got the number 1.1",
        "hint": 'YAML read the unquoted 1.10 as the number 1.1; quote it to keep it as text: "1.10"'}]}


def test_github_annotation_format(tmp_path: Path) -> None:
    code, out = run_validate(build_case("unknown-field-typo", tmp_path), "--format", "github")
    assert code == 1
    assert out == ("::error file=specs/growth/demo-model/model.yaml,line=8,col=3,title=mlplat%3A metadata.riskTeir"
                   "::metadata.riskTeir: unknown field 'riskTeir'%0Ahint: did you mean 'riskTier'?\n")


def test_errors_from_several_files_in_one_run(tmp_path: Path) -> None:
    root = build_case("unknown-owner", tmp_path)
    other = build_case("bad-cron", tmp_path / "b") / "specs/growth/demo-model/model.yaml"
    target = root / "specs/growth/second-model/model.yaml"
    target.parent.mkdir(parents=True)
    target.write_text(other.read_text().replace("name: demo-model", "name: second-model"))
    shutil.copytree(other.parent / "demo", target.parent / "demo")  # its training program
    code, out = run_validate(root)
    assert code == 1
    assert [line.split(": error:")[0] for line in out.splitlines() if ": error:" in line] == [
        "specs/growth/demo-model/model.yaml:7:23", "specs/growth/second-model/model.yaml:17:15"]
    assert out.endswith("2 errors in 2 files\n")


def test_no_platform_file_is_a_usage_error(tmp_path: Path) -> None:
    result = mlplat("validate", cwd=tmp_path)
    assert result.returncode == 2
    assert "no platform/platform.yaml" in result.stderr


def test_internal_errors_never_show_a_traceback(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import compiler.cli.validate

    def broken(root: Path, args: object) -> int:
        raise RuntimeError("boom")

    monkeypatch.setattr(compiler.cli.validate, "validate", broken)
    from compiler.cli import main

    assert main(["--root", str(REPO), "validate"]) == 3


def test_help_imports_nothing_heavy() -> None:
    code = ("import sys; from compiler.cli import main\n"
            "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
            "heavy = {'pydantic', 'yaml', 'hera', 'torch', 'mlflow', 'evidently', 'jinja2', 'git'} & set(sys.modules)\n"
            "print(sorted(heavy))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO)
    assert result.stdout.strip().endswith("[]")


def test_validate_does_not_import_renderers_or_runtime_libraries() -> None:
    code = ("import sys; from compiler.cli import main; main(['validate'])\n"
            "print(sorted({'hera', 'torch', 'mlflow', 'evidently', 'git', 'renderers'} & set(sys.modules)))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO)
    assert result.stdout.strip().endswith("[]")


def test_validate_start_path_measured_with_importtime() -> None:
    """`python -X importtime` lists every module the interpreter imported, however it was reached."""
    # the full path (no plan memo, which would answer a compiled checkout without loading the check)
    result = subprocess.run([sys.executable, "-X", "importtime", "-m", "compiler", "validate"], capture_output=True,
                            text=True, cwd=REPO, env={**os.environ, "MLPLAT_CACHE": "off"})
    assert result.returncode == 0, result.stderr[-2000:]
    imported = {line.rsplit("|", 1)[1].strip() for line in result.stderr.splitlines()
                if line.startswith("import time:")}
    assert "compiler.pipeline.check" in imported  # the listing is real: validate's own path is in it
    heavy = {name for name in imported if name.split(".")[0] in {
        "git", "hera", "cyclonedx", "jinja2", "renderers", "torch", "mlflow", "evidently", "feast"}}
    assert heavy == set()
    commands = {name for name in imported if name.startswith("compiler.cli.")}
    assert commands <= {"compiler.cli.app", "compiler.cli.exit_codes", "compiler.cli.options", "compiler.cli.common",
                        "compiler.cli.validate"}  # no other command's module is loaded for its options


def test_a_command_module_that_fails_to_import_is_an_internal_error(monkeypatch: pytest.MonkeyPatch,
                                                                    capsys: pytest.CaptureFixture[str]) -> None:
    """Its options are added while the command line is parsed: that is inside the last line of defence too."""
    import compiler.cli.app as app

    monkeypatch.setitem(app.COMMANDS, "validate", ("no_such_module", "check"))
    assert app.main(["--root", str(REPO), "validate"]) == 3
    assert "internal error: ModuleNotFoundError" in capsys.readouterr().err


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_every_command_module_adds_its_own_options(command: str) -> None:
    import importlib

    from compiler.cli.app import _parser

    module = importlib.import_module(f"compiler.cli.{COMMANDS[command][0]}")
    assert command in module.ARGUMENTS
    with pytest.raises(SystemExit) as done:
        _parser([command, "--help"]).parse_args([command, "--help"])
    assert done.value.code == 0


def test_committed_json_schemas_are_current() -> None:
    result = mlplat("schema", "--check")
    assert (result.returncode, result.stdout) == (0, "ok: schemas are up to date\n")


def test_the_readmes_reference_is_generated_from_the_spec_language(tmp_path: Path) -> None:
    """A value the spec language gains reaches README.md through `mlplat schema`; a stale block fails --check."""
    from compiler.reports.reference import BEGIN, first_model_reference

    readme = (REPO / "README.md").read_text()
    assert first_model_reference() in readme
    block = readme.split(BEGIN, 1)[1]
    assert "| `spec.serving.rollout.strategy` | `direct`, `canary`, `shadow` |" in block
    assert "- `sklearn://`:" in block and "diabetes" in block and "- `inp.log_metric`:" in block
    copy = copy_repo(tmp_path)
    (copy / "README.md").write_text(readme.replace("`shadow` |", "`blue-green` |"))
    stale = mlplat("--root", str(copy), "schema", "--check")
    assert (stale.returncode, stale.stdout) == (1, "out of date: README.md; run `mlplat schema`\n")
    assert mlplat("--root", str(copy), "schema").returncode == 0
    assert (copy / "README.md").read_text() == readme


@pytest.mark.parametrize("model", [Model, Platform, Releases])
def test_every_field_has_a_description(model: type) -> None:
    schema = json_schema(model)
    missing = [f"{name}.{field}" for name, definition in {"root": schema, **schema["$defs"]}.items()
               for field, prop in definition.get("properties", {}).items() if not prop.get("description")]
    assert missing == []


def test_example_specs_validate_against_the_json_schema() -> None:
    import jsonschema
    import yaml

    schema = json.loads((REPO / "specs/model.schema.json").read_text())
    specs = sorted((REPO / "specs").rglob("model.yaml"))
    assert len(specs) >= 5
    for spec in specs:
        # Editors read YAML 1.2-ish; the example specs quote everything that is text, so both agree.
        jsonschema.validate(yaml.safe_load(spec.read_text()), schema)


@pytest.mark.parametrize("command", [["validate", "--format", "json"], ["compile", "--check"]])
def test_a_closed_stdout_exits_quietly(command: list[str]) -> None:
    """`mlplat compile | head -1`: the reader is gone before we write; no traceback, no internal error."""
    import os

    read, write = os.pipe()
    os.close(read)  # every write now fails with EPIPE, as after `head` exits
    try:
        result = subprocess.run([sys.executable, "-m", "compiler", "--root", str(REPO), *command], stdout=write,
                                stderr=subprocess.PIPE, text=True, timeout=120)
    finally:
        os.close(write)
    assert result.returncode == 141
    assert result.stderr == ""


def test_validate_never_runs_team_code(tmp_path: Path) -> None:
    """Entry points are checked by parsing: a module that would act on import is not imported."""
    import shutil

    root = tmp_path / "repo"
    shutil.copytree(REPO / "platform", root / "platform")
    shutil.copytree(REPO / "specs", root / "specs")
    trap = tmp_path / "imported"
    module = root / "specs/platform/tumor-classifier/tumor_classifier/train.py"
    module.write_text(f"open({str(trap)!r}, 'w').close()\n" + module.read_text())
    code, out = run_validate(root)
    assert code == 0, out
    assert not trap.exists()
