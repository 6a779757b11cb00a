"""The folder tree is the architecture: one dependency direction between the rooms, enforced here.

    compiler.spec <- renderers <- compiler.pipeline <- compiler.reports <- compiler.local <- compiler.gitops
        <- compiler.catalog <- compiler.cli

A module imports only from its own room and the rooms before it. The compiler and the renderers never
import the runtime; the runtime imports nothing of compiler/ and renderers/ but the two contract modules,
compiler.runtime_contract (metric names, thresholds, durations, the resolved spec's keys) and renderers.mlbom
(the ML-BOM), which every room may import and which import nothing of mlplat. Every import statement counts: at module
level, inside functions and under TYPE_CHECKING. Heavy libraries are imported inside functions only.
"""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from dataclasses import dataclass

import pytest

from tests.conftest import REPO

PACKAGES = ("compiler", "renderers", "runtime")
ROOMS = ("compiler.spec", "renderers", "compiler.pipeline", "compiler.reports", "compiler.local", "compiler.gitops",
         "compiler.catalog", "compiler.cli")
CONTRACTS = ("compiler.runtime_contract", "renderers.mlbom")
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


def circles(code: dict[str, str]) -> list[list[str]]:
    """Every import circle among the first-party modules, as the modules on it (any import statement counts,
    inside functions and under TYPE_CHECKING too: a circle is one tangle whichever way it is imported)."""
    modules = set(code)
    edges = {m: sorted({i.target for i in imports(m, code[m], modules) if i.target in modules and i.target != m})
             for m in sorted(modules)}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(module: str) -> None:  # Tarjan's strongly connected components
        index[module] = low[module] = len(index)
        stack.append(module)
        for target in edges[module]:
            if target not in index:
                visit(target)
                low[module] = min(low[module], low[target])
            elif target in stack:
                low[module] = min(low[module], index[target])
        if low[module] == index[module]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == module:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for module in sorted(modules):
        if module not in index:
            visit(module)
    return found


def test_no_module_imports_itself_through_others() -> None:
    assert circles(sources()) == []


def test_an_import_circle_is_found() -> None:
    code = sources()
    code["compiler.pipeline.errors"] += "if TYPE_CHECKING:\n    from compiler.pipeline.check import Checked\n"
    assert any({"compiler.pipeline.check", "compiler.pipeline.errors"} <= set(circle) for circle in circles(code))


def child_modules(package: str) -> list[str]:
    """The modules and packages right inside `package`, as a map names them: `name.py` or `name/`."""
    folder = REPO.joinpath(*package.split("."))
    return sorted([p.name for p in folder.glob("*.py") if p.name != "__init__.py"]
                  + [f"{p.name}/" for p in folder.iterdir() if (p / "__init__.py").is_file()])


def unnamed_modules(package: str, docstring: str) -> list[str]:
    return [name for name in child_modules(package) if not re.search(rf"(?<![\w./]){re.escape(name)}", docstring)]


def test_every_package_docstring_names_all_its_modules() -> None:
    code = sources()
    packages = sorted(m for m in code if (REPO.joinpath(*m.split(".")) / "__init__.py").is_file())
    missing = {p: unnamed_modules(p, ast.get_docstring(ast.parse(code[p])) or "") for p in packages}
    assert {p: names for p, names in missing.items() if names} == {}


def test_a_module_the_map_leaves_out_is_found() -> None:
    assert unnamed_modules("compiler.catalog", "data.py adoption.py site.py") == ["svg.py"]
    assert unnamed_modules("runtime", "") == child_modules("runtime")


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
     "the runtime imports only compiler.runtime_contract"),
    ("runtime.steps.register", "from renderers import sbom\n", "the runtime imports only compiler.runtime_contract"),
    ("renderers.mlbom", "from renderers.base import Manifest\n", "contract module imports nothing of mlplat"),
    ("compiler.runtime_contract", "from compiler.spec.types import DNS_LABEL\n",
     "contract module imports nothing of mlplat"),
    ("renderers.model_card", "import jinja2\n", "a heavy library, at import time"),
    ("compiler.helpers", "", "is in no room"),
    ("compiler.gitops.pins", "from compiler.catalog import adoption\n",
     "compiler.gitops comes before compiler.catalog"),
    ("compiler.reports.cost", "from compiler.local.run import run_pipeline\n",
     "compiler.reports comes before compiler.local"),
    ("compiler.pipeline.plan", "from compiler.reports import cost\n",
     "compiler.pipeline comes before compiler.reports"),
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
    assert result.stdout.strip() == "['compiler', 'compiler.runtime_contract', 'renderers', 'renderers.mlbom']"
