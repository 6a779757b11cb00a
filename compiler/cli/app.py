"""The `mlplat` command line: the argparse wiring, finding the repository, and the last line of defence.

Only argparse and the standard library are imported at start-up. Each command lives in its own module
of this package, with its options (ARGUMENTS; the shared ones from options.py), and is imported only
when it is the command given, so `mlplat --help` and `mlplat validate` stay fast
enough for a pre-commit hook (validate never loads the renderers, Hera, GitPython or cyclonedx).
"""

from __future__ import annotations

import argparse
import gc
import importlib
import os
import sys
from pathlib import Path
from typing import NoReturn

from compiler.cli.exit_codes import EXIT_BROKEN_PIPE, EXIT_INTERNAL, EXIT_USAGE

# command -> (the module of compiler.cli that runs it, one line of help). Each module holds the command's
# function (of the command's name; FUNCTIONS names another) and, in ARGUMENTS, what adds its options; only
# the module of the command given is imported, so `mlplat validate` loads no other command's code.
COMMANDS = {
    "validate": ("validate", "check platform.yaml and every model spec; report all errors"),
    "compile": ("compile", "render every environment into environments/"),
    "schema": ("schema", "write the JSON Schemas editors use to complete and check model.yaml"),
    "run": ("run", "run a model's training workflow locally: train, evaluate, gate, register"),
    "serve": ("serve", "serve a registered model version locally with seldon-core-microservice"),
    "drift": ("drift", "compare two data files for drift as the model's drift job does: per-feature table and "
                       "Evidently HTML report; exit 0 no drift, 1 drift, 2 bad data"),
    "quality": ("quality", "judge logged predictions against ground truth as the model's quality job does: "
                           "the task's metrics and the gates; exit 0 healthy, 1 a gate missed, 2 bad data"),
    "sbom": ("sbom", "the CycloneDX ML-BOM of a registered version, from the registry (its artifact is checked)"),
    "plan": ("plan", "what the work tree changes against a base commit, resource by resource"),
    "gate": ("gate", "check every release pin changed against a base commit in the model registry"),
    "promote": ("promote", "pin a registered version in an environment, on a new branch with a commit"),
    "rollback": ("promote", "pin the previously pinned version again, on a new branch with a commit"),
    "canary": ("canary", "judge a model's canary against main in Prometheus as its analysis job does: the "
                         "decision (step up, hold, roll back, promote) and its evidence; exit 2 when Prometheus "
                         "is blind"),
    "new": ("new", "start a model from a template: its spec, training code and a unit test, which validate and "
                   "run as written on data a package ships"),
    "score": ("score", "score a file with a registered version, as the model's scoring CronWorkflow does"),
    "list": ("inventory", "every model: its team, task and framework, and the version each environment serves"),
    "describe": ("inventory", "one model: its spec in brief per environment, its pins, and its versions in the "
                              "registry with aliases and gate verdicts"),
    "catalog": ("catalog", "build the model catalog, a static site: a page per model and team, and an index "
                           "with search and filters"),
    "demo": ("demo", "the main job on the embedded default: compile the specs; train, gate and register the "
                     "reference model; serve it and ask it once"),
}
FUNCTIONS = {"list": "list_models"}  # not `list`, which would hide the builtin in its module


def _parser(argv: list[str]) -> argparse.ArgumentParser:
    """The command line's parser, with the options of the command `argv` names (the others' are not loaded)."""
    parser = argparse.ArgumentParser(
        prog="mlplat",
        description="GitOps ML platform: validate model specs and compile them into environments/.",
    )
    parser.add_argument("--root", type=Path, help="repository root (default: found from the current directory)")
    parser.add_argument("--version", action="version", version="mlplat 0.1.0")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    given = _command(argv)
    for name, (module, help_text) in COMMANDS.items():
        sub = commands.add_parser(name, help=help_text, description=help_text)
        if name == given:
            importlib.import_module(f"compiler.cli.{module}").ARGUMENTS[name](sub)
    return parser


def _command(argv: list[str]) -> str | None:
    """The command `argv` names: its first word that is neither an option nor --root's value."""
    words = iter(argv)
    for word in words:
        if word == "--root":
            next(words, None)
        elif not word.startswith("-"):
            return word
    return None


# Commands that only read and write files, all closed when they return: their process ends without
# freeing what a thousand models' objects hold, one by one (a third of a second at that size).
_EXIT_AT_ONCE = {"validate", "compile", "plan", "schema"}


def entry() -> NoReturn:
    """The `mlplat` executable: main(), tuned for a short-lived process."""
    # Loading a project allocates millions of objects that all live to the end and hold no cycles:
    # at the default thresholds the collector spends a third of `validate` scanning them again and again.
    gc.set_threshold(100_000, 50, 100)
    args = _parse(sys.argv[1:])
    code = EXIT_INTERNAL if args is None else _run(args)
    if args is not None and args.command in _EXIT_AT_ONCE:
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except (OSError, ValueError):  # a reader that went away; main() has set the exit code
                pass
        os._exit(code)
    sys.exit(code)


def main(argv: list[str] | None = None) -> int:
    args = _parse(sys.argv[1:] if argv is None else argv)
    return EXIT_INTERNAL if args is None else _run(args)


def _parse(words: list[str]) -> argparse.Namespace | None:
    """The parsed command line; None where the given command's module fails to import (reported)."""
    try:
        return _parser(words).parse_args(words)
    except Exception as exc:  # noqa: BLE001 - the last line of defence: users never see a traceback
        _internal_error(exc)
        return None


def _run(args: argparse.Namespace) -> int:
    try:
        root = args.root or _find_root()
        if root is None:
            print("mlplat: no platform/platform.yaml here or in any parent folder (use --root)", file=sys.stderr)
            return EXIT_USAGE
        module = importlib.import_module(f"compiler.cli.{COMMANDS[args.command][0]}")
        code = getattr(module, FUNCTIONS.get(args.command, args.command))(root.resolve(), args)
        sys.stdout.flush()  # here, so that a reader that went away is handled below, not at exit
        return code
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # The reader closed our stdout (`mlplat compile | head -1`): say nothing more, and keep the
        # interpreter's final flush from failing too. Exit as a tool killed by SIGPIPE would.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_BROKEN_PIPE
    except Exception as exc:  # noqa: BLE001 - the last line of defence: users never see a traceback
        _internal_error(exc)
        return EXIT_INTERNAL


def _internal_error(exc: Exception) -> None:
    if os.environ.get("MLPLAT_DEBUG"):
        raise exc
    print(f"mlplat: internal error: {type(exc).__name__}: {exc}\n"
          "This is a bug in mlplat; rerun with MLPLAT_DEBUG=1 for a traceback and report it.", file=sys.stderr)


def _find_root() -> Path | None:
    """The nearest folder at or above the current one that holds platform/platform.yaml."""
    cwd = Path.cwd()
    for candidate in (cwd, *cwd.parents):
        if (candidate / "platform" / "platform.yaml").is_file():
            return candidate
    return None


if __name__ == "__main__":
    sys.exit(main())
