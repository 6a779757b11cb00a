"""The folder tree is the architecture: one dependency direction between the rooms, enforced here.

    compiler.spec <- renderers <- compiler.pipeline <- compiler.local <- compiler.gitops <- compiler.cli

A module imports only from its own room and the rooms before it. The compiler and the renderers never
import the runtime; the runtime imports nothing of compiler/ and renderers/ but the two contract modules,
compiler.contract (metric names, thresholds, durations, the resolved spec's keys) and renderers.mlbom
(the ML-BOM), which every room may import and which import nothing of mlplat. Every import statement counts: at module
level, inside functions and under TYPE_CHECKING. Heavy libraries are imported inside functions only.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from dataclasses import dataclass

import pytest

from tests.conftest import REPO

PACKAGES = ("compiler", "renderers", "runtime")
ROOMS = ("compiler.spec", "renderers", "compiler.pipeline", "compiler.local", "compiler.gitops", "compiler.cli")
CONTRACTS = ("compiler.contract", "renderers.mlbom")
# What the CLI's start path must never load at import time (torch, MLflow and Evidently belong to the runtime).
HEAVY = ("torch", "mlflow", "evidently", "feast", "hera", "git", "cyclonedx", "packageurl", "jinja2")


@dataclass(frozen=True)
class Import:
    module: str  # the module whose source holds the statement
    line: int
    target: str  # the module imported (a first-party submodule where `from package import name` names one)
    module_level: bool  # runs when the module is imported (not inside a function, not under TYPE_CHECKING)


def sources() -> dict[str, str]:
    """Module name -> source text of every module of the three packages."""
    found = {}
    for package in PACKAGES:
        for path in sorted((REPO / package).rglob("*.py")):
            parts = path.relative_to(REPO).with_suffix("").parts
            found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path.read_text("utf-8")
    return found


def imports(module: str, source: str, modules: set[str]) -> list[Import]:
    tree = ast.parse(source)
    package = module if _is_package(module, modules) else module.rpartition(".")[0]
    found: list[Import] = []

    def visit(node: ast.AST, module_level: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
                visit(child, False)
            elif isinstance(child, ast.If) and _is_type_checking(child.test):
                for statement in child.body:
                    visit(ast.Module(body=[statement], type_ignores=[]), False)
                for statement in child.orelse:
                    visit(ast.Module(body=[statement], type_ignores=[]), module_level)
            elif isinstance(child, ast.Import):
                found.extend(Import(module, child.lineno, alias.name, module_level) for alias in child.names)
            elif isinstance(child, ast.ImportFrom):
                base = _absolute(child, package)
                for alias in child.names:
                    submodule = f"{base}.{alias.name}"
                    target = submodule if submodule in modules else base
                    found.append(Import(module, child.lineno, target, module_level))
            else:
                visit(child, module_level)

    visit(tree, True)
    return found


def _is_package(module: str, modules: set[str]) -> bool:
    return any(other.startswith(module + ".") for other in modules)


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _absolute(node: ast.ImportFrom, package: str) -> str:
    if not node.level:
        return node.module or ""
    parts = package.split(".")
    base = ".".join(parts[:len(parts) - node.level + 1])
    return f"{base}.{node.module}" if node.module else base


def room(module: str) -> str | None:
    """The room a first-party module belongs to; compiler/__main__.py is the CLI's entry point."""
    if module == "compiler.__main__":
        return "compiler.cli"
    return next((r for r in ROOMS if module == r or module.startswith(r + ".")), None)


def violations(code: dict[str, str]) -> list[str]:
    """Every import against the direction, as `module:line: what is wrong`; empty when the code follows it."""
    modules = set(code)
    problems = []
    for module in sorted(modules):
        top = module.split(".")[0]
        if top == "compiler" and module not in ("compiler", *CONTRACTS) and room(module) is None:
            problems.append(f"{module}: is in no room; put it in one of {', '.join(ROOMS)}")
        for found in imports(module, code[module], modules):
            target_top = found.target.split(".")[0]
            where = f"{module}:{found.line}: imports {found.target}"
            if target_top not in PACKAGES:
                if top != "runtime" and found.module_level and target_top in HEAVY:
                    problems.append(f"{where}, a heavy library, at import time; import it inside the function")
                continue
            if module in CONTRACTS:
                problems.append(f"{where}; a contract module imports nothing of mlplat")
            elif found.target in CONTRACTS:
                continue
            elif top == "runtime":
                if target_top != "runtime":
                    problems.append(f"{where}; the runtime imports only {' and '.join(CONTRACTS)} of compiler/ "
                                    "and renderers/")
            elif target_top == "runtime":
                problems.append(f"{where}; the compiler and the renderers reach the runtime only as a subprocess")
            elif module != "compiler" and found.target != "compiler":
                source, target = room(module), room(found.target)
                if source is not None and (target is None or ROOMS.index(target) > ROOMS.index(source)):
                    problems.append(f"{where}, but {source} comes before {target} in "
                                    f"{' <- '.join(ROOMS)}")
    return problems


def test_the_code_follows_the_dependency_direction() -> None:
    assert violations(sources()) == []


def test_every_room_is_a_package_with_its_docstring() -> None:
    code = sources()
    for name in ("compiler", *ROOMS, "runtime"):
        assert ast.get_docstring(ast.parse(code[name])), f"{name}/__init__.py needs a docstring naming its modules"


@pytest.mark.parametrize(("module", "added", "complaint"), [
    ("compiler.pipeline.plan", "from compiler.gitops import gate\n", "compiler.pipeline comes before compiler.gitops"),
    ("compiler.spec.model", "def f():\n    import compiler.cli.app\n", "compiler.spec comes before compiler.cli"),
    ("compiler.local.run", "from compiler.gitops.pins import PromoteError\n",
     "compiler.local comes before compiler.gitops"),
    ("renderers.argo", "if TYPE_CHECKING:\n    from compiler.pipeline.check import Checked\n",
     "renderers comes before compiler.pipeline"),
    ("renderers.seldon", "from runtime import artifact\n", "reach the runtime only as a subprocess"),
    ("runtime.steps.register", "from compiler.spec.evidence import VersionEvidence\n",
     "the runtime imports only compiler.contract"),
    ("runtime.steps.register", "from renderers import sbom\n", "the runtime imports only compiler.contract"),
    ("renderers.mlbom", "from renderers.base import Manifest\n", "contract module imports nothing of mlplat"),
    ("compiler.contract", "from compiler.spec.types import DNS_LABEL\n", "contract module imports nothing of mlplat"),
    ("renderers.model_card", "import jinja2\n", "a heavy library, at import time"),
    ("compiler.helpers", "", "is in no room"),
])
def test_an_import_against_the_direction_fails(module: str, added: str, complaint: str) -> None:
    code = sources()
    code[module] = code.get(module, "") + added
    found = violations(code)
    assert len(found) == 1 and complaint in found[0], found


def test_the_runtime_loads_only_the_contract_modules_of_the_compilers_side() -> None:
    probe = ("import sys, runtime.cli, runtime.steps.register, runtime.serving, runtime.canary.step, renderers.mlbom\n"
             "print(sorted(m for m in sys.modules if m.split('.')[0] in ('compiler', 'renderers')))")
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=REPO, check=True)
    assert result.stdout.strip() == "['compiler', 'compiler.contract', 'renderers', 'renderers.mlbom']"
