"""A spec's training code checked statically: the module of `training.entrypoint` exists in the spec's
folder (the folder the training pod gets, see renderers/argo.py) and defines the function; so does the
module of a `python -m` command that runs in the platform's runtime image.

Team code is parsed, never imported or run, so validating a pull request executes nothing it brings.
"""

from __future__ import annotations

import ast
import difflib
import functools
from pathlib import Path, PurePosixPath

from compiler.pipeline.errors import SpecError
from compiler.pipeline.resolve import SpecLocator
from compiler.spec.resolved import ResolvedModel
from compiler.spec.types import MODULE, MODULE_PART_MAX

FIELD = ("training", "entrypoint")


def entrypoint_problems(root: Path, model: ResolvedModel, where: SpecLocator) -> list[SpecError]:
    """The entrypoint's module and function, or the module of `python -m <module>` when the command runs
    in the platform's runtime image (a team's own image brings its own code, which cannot be seen here)."""
    training = model.spec.training
    if training.entrypoint is not None:
        module, _, function = training.entrypoint.partition(":")
        return _module_problems(root, model, where, FIELD, module, function)
    command = training.command or []
    if training.image is None and len(command) >= 3 and command[0] in ("python", "python3") and command[1] == "-m":
        if len(command[2]) > 512 or not MODULE.fullmatch(command[2]):  # never a path to look at: ../x, /etc
            return [where.error(("training", "command", 2), f"{command[2][:80]!r} is not a Python module name",
                                f"a dotted name such as team.train (each part at most {MODULE_PART_MAX} "
                                "characters: letters, digits, '_')")]
        return _module_problems(root, model, where, ("training", "command"), command[2], None)
    return []


def _module_problems(root: Path, model: ResolvedModel, where: SpecLocator, field: tuple[str, ...], module: str,
                     function: str | None) -> list[SpecError]:
    folder = PurePosixPath(model.code_folder)
    relative = PurePosixPath(*module.split("."))
    candidates = [relative.with_suffix(".py"), relative / ("__init__.py" if function else "__main__.py")]
    found = next((c for c in candidates if (root / folder / c).is_file()), None)
    if found is None:
        close = difflib.get_close_matches(candidates[0].as_posix(), _python_files(root / folder), n=1)
        return [where.error(field, f"module {module!r} is not in {folder}/ (looked for "
                            f"{' and '.join(c.as_posix() for c in candidates)})",
                            f"did you mean {_module_name(close[0])!r}?" if close
                            else "the training code lives beside model.yaml; the pod gets that folder")]
    if function is None:
        return []
    path = root / folder / found
    names = _defined_names(path.read_bytes())
    if isinstance(names, Exception):
        line = getattr(names, "lineno", None)
        return [where.error(field, f"{folder / found}{f':{line}' if line else ''} does not parse: "
                            f"{getattr(names, 'msg', names)}")]
    if function not in names:
        close = difflib.get_close_matches(function, sorted(names), n=1)
        return [where.error(field, f"{folder / found} defines no {function!r} at module level",
                            f"did you mean {close[0]!r}?" if close else f"add def {function}(inp): ...")]
    return []


@functools.lru_cache(maxsize=512)
def _defined_names(source: bytes) -> frozenset[str] | SyntaxError | ValueError:
    """The module's top-level names, or why it does not parse. Keyed by the bytes: each environment of a
    model asks about the same file, and models made from one template share their code."""
    try:
        return frozenset(_top_level_names(ast.parse(source)))
    except (SyntaxError, ValueError) as exc:
        return exc


def _top_level_names(tree: ast.Module) -> set[str]:
    """Names a module defines at top level: functions, classes, assignments and imports."""
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names |= {t.id for t in node.targets if isinstance(t, ast.Name)}
        elif isinstance(node, (ast.AnnAssign, ast.AugAssign)) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names |= {(alias.asname or alias.name).split(".")[0] for alias in node.names}
    return names


def _python_files(folder: Path) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*.py")) if folder.is_dir() else []


def _module_name(relative: str) -> str:
    parts = PurePosixPath(relative).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
