"""The `mlplat` command line: the argparse wiring, finding the repository, and the last line of defence.

Only argparse and the standard library are imported at start-up. Each command lives in its own module
of this package and is imported only when it runs, so `mlplat --help` and `mlplat validate` stay fast
enough for a pre-commit hook (validate never loads the renderers, Hera, GitPython or cyclonedx).
"""

from __future__ import annotations

import argparse
import gc
import importlib
import os
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import NoReturn

from compiler.cli.exit_codes import EXIT_BROKEN_PIPE, EXIT_INTERNAL, EXIT_USAGE
from compiler.spec.scaffold import TEMPLATES

# command -> the module of compiler.cli whose function of the command's name runs it (FUNCTIONS: another name)
FUNCTIONS = {"list": "list_models"}  # not `list`, which would hide the builtin in its module
COMMAND_MODULES = {
    "validate": "validate", "compile": "compile", "schema": "schema", "run": "run", "serve": "serve",
    "drift": "drift", "quality": "quality", "sbom": "sbom", "plan": "plan", "gate": "gate", "promote": "promote",
    "rollback": "promote", "canary": "canary", "demo": "demo", "list": "inventory", "describe": "inventory",
    "new": "new", "score": "score", "catalog": "catalog",
}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mlplat",
        description="GitOps ML platform: validate model specs and compile them into environments/.",
    )
    parser.add_argument("--root", type=Path, help="repository root (default: found from the current directory)")
    parser.add_argument("--version", action="version", version="mlplat 0.1.0")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(name: str, help_text: str, formats: bool = False) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help_text, description=help_text)
        if formats:
            sub.add_argument("--format", choices=("text", "json", "github"), default="text",
                             help="error output: human text, JSON, or GitHub annotation lines")
        return sub

    add("validate", "check platform.yaml and every model spec; report all errors", formats=True)
    compile_cmd = add("compile", "render every environment into environments/", formats=True)
    compile_cmd.add_argument("--check", action="store_true",
                             help="write nothing; exit 1 when environments/ differs from what the specs produce")
    schema = add("schema", "write the JSON Schemas editors use to complete and check model.yaml")
    schema.add_argument("--check", action="store_true", help="exit 1 when the committed schemas are out of date")
    run = add("run", "run a model's training workflow locally: train, evaluate, gate, register")
    run.add_argument("model", help="model name (metadata.name)")
    run.add_argument("--env", default="dev", help="environment whose resolved spec to run (default: dev)")
    run.add_argument("--tracking-uri", help="a real MLflow server (default: SQLite under .mlplat/)")
    serve = add("serve", "serve a registered model version locally with seldon-core-microservice")
    serve.add_argument("model", help="model name (metadata.name)")
    serve.add_argument("--version", help="registry version (default: the champion)")
    serve.add_argument("--tracking-uri", help="MLflow server (default: SQLite under .mlplat/)")
    serve.add_argument("--port", type=int, default=9000, help="HTTP port of the executor clients call")
    serve.add_argument("--metrics-port", type=int, default=6000, help="the model server's metrics port")
    serve.add_argument("--executor-metrics-port", type=int, default=8000, help="the executor's metrics port")
    serve.add_argument("--prediction-log", type=Path,
                       help="where served predictions are logged (default: .mlplat/prediction-logs)")
    serve.add_argument("--no-prediction-log", action="store_true", help="log no predictions")
    serve.add_argument("--workers", type=int, default=2, help="gunicorn worker processes (see benchmarks/serving)")
    serve.add_argument("--threads", type=int, default=1, help="threads per worker")
    serve.add_argument("--features-as-of", type=_moment, metavar="TIME",
                       help="a model on a feature service: materialise its features up to TIME (ISO 8601) and "
                            "check their TTL as of TIME, e.g. 2026-11-30T12:00:00Z for the example's events "
                            "(default: now)")
    drift = add("drift", "compare two data files for drift as the model's drift job does: per-feature table and "
                "Evidently HTML report; exit 0 no drift, 1 drift, 2 bad data")
    drift.add_argument("model", help="model name (metadata.name)")
    drift.add_argument("--reference", required=True, help="reference data: CSV, Parquet, or sklearn:// URI")
    drift.add_argument("--current", required=True, help="current data: CSV or Parquet")
    drift.add_argument("--env", default="dev", help="environment whose drift settings to use (default: dev)")
    drift.add_argument("--report", type=Path, help="HTML report (default: .mlplat/drift/<model>-<env>/)")
    drift.add_argument("--pushgateway", help="also push the results to this Prometheus Pushgateway")
    quality = add("quality", "judge logged predictions against ground truth as the model's quality job does: "
                  "the task's metrics and the gates; exit 0 healthy, 1 a gate missed, 2 bad data")
    quality.add_argument("model", help="model name (metadata.name)")
    quality.add_argument("--predictions", required=True,
                         help="logged predictions: a Parquet file or folder, such as "
                              ".mlplat/prediction-logs/<team>/<model>")
    quality.add_argument("--labels", help="ground truth: CSV or Parquet (default: the spec's labels.uri)")
    quality.add_argument("--env", default="dev", help="environment whose quality settings to use (default: dev)")
    quality.add_argument("--pushgateway", help="also push the results to this Prometheus Pushgateway")
    sbom = add("sbom", "the CycloneDX ML-BOM of a registered version, from the registry (its artifact is checked)")
    sbom.add_argument("model", help="model name (metadata.name)")
    sbom.add_argument("--version", help="registry version (default: the champion)")
    sbom.add_argument("--tracking-uri", help="MLflow server (default: SQLite under .mlplat/)")
    sbom.add_argument("--output", type=Path, help="write the document here instead of printing it")
    plan = add("plan", "what the work tree changes against a base commit, resource by resource")
    plan.add_argument("--base", required=True, help="base revision, e.g. origin/main")
    plan.add_argument("--format", choices=("text", "markdown"), default="text")
    gate = add("gate", "check every release pin changed against a base commit in the model registry")
    gate.add_argument("--env", required=True, help="environment whose releases.yaml to check, or all")
    gate.add_argument("--base", default="HEAD", help="base revision (default: HEAD)")
    gate.add_argument("--tracking-uri", help="MLflow server (default: the environment's, from platform.yaml)")
    gate.add_argument("--format", choices=("text", "markdown"), default="text")
    gate.add_argument("--approvals", type=Path, metavar="FILE",
                      help="the pull request's reviews, one GitHub API review object per line; pins in "
                           "environments that require approval pass only with approvedBy among the approvers")
    gate.add_argument("--timeout", type=float, metavar="SECONDS",
                      help="deadline for the whole gate, every pin included (default 300); a pin not judged "
                           "by then fails")
    promote = add("promote", "pin a registered version in an environment, on a new branch with a commit")
    promote.add_argument("model")
    promote.add_argument("--to", required=True, dest="env", help="target environment")
    promote.add_argument("--version", help="registry version (default: the champion; where the environment copies "
                         "versions, the previous environment's version to copy, default its main pin)")
    promote.add_argument("--candidate", action="store_true", help="pin as the canary or shadow candidate")
    promote.add_argument("--approved-by", action="append", default=[],
                         help="approver handle, a person of the model's team (repeatable)")
    promote.add_argument("--tracking-uri", help="MLflow server (default: the environment's)")
    promote.add_argument("--source-tracking-uri", help="the previous environment's MLflow server, which a copied "
                         "version comes from (default: its platform.yaml one; with only --tracking-uri, the same)")
    rollback = add("rollback", "pin the previously pinned version again, on a new branch with a commit")
    rollback.add_argument("model")
    rollback.add_argument("--env", required=True)
    rollback.add_argument("--tracking-uri", help="MLflow server (default: the environment's)")
    rollback.add_argument("--reason", help="why, for the commit message (an incident, an alert)")
    canary = add("canary", "judge a model's canary against main in Prometheus as its analysis job does: the "
                 "decision (step up, hold, roll back, promote) and its evidence; exit 2 when Prometheus is blind")
    canary.add_argument("model")
    canary.add_argument("--env", required=True)
    source = canary.add_mutually_exclusive_group(required=True)
    source.add_argument("--prometheus", help="Prometheus to ask, e.g. http://127.0.0.1:9090")
    source.add_argument("--decision", type=Path, help="a decision.json the analysis wrote, to apply with --commit")
    canary.add_argument("--commit", action="store_true",
                        help="commit a step, promotion or rollback on a new branch of the work tree's repository")
    new = add("new", "start a model from a template: its spec, training code and a unit test, which validate and "
              "run as written on data a package ships")
    new.add_argument("name", help="model name: lower-case letters, digits and dashes (metadata.name)")
    new.add_argument("--team", required=True, help="owning team (a team of platform/platform.yaml)")
    new.add_argument("--template", required=True, choices=list(TEMPLATES),
                     help="; ".join(f"{name}: {what}" for name, what in TEMPLATES.items()))
    new.add_argument("--description", help="one line: what the model predicts, for whom")
    scoring = add("score", "score a file with a registered version, as the model's scoring CronWorkflow does")
    scoring.add_argument("model", help="model name (metadata.name)")
    scoring.add_argument("--input", required=True, help="rows to score: CSV, Parquet, or a data URI")
    scoring.add_argument("--output", required=True, type=Path, help="Parquet file for the rows with their predictions")
    scoring.add_argument("--version", help="registry version (default: the champion)")
    scoring.add_argument("--tracking-uri", help="MLflow server (default: SQLite under .mlplat/)")
    listing = add("list", "every model: its team, task and framework, and the version each environment serves")
    listing.add_argument("--format", choices=("text", "json"), default="text")
    describe = add("describe", "one model: its spec in brief per environment, its pins, and its versions in the "
                   "registry with aliases and gate verdicts")
    describe.add_argument("model", help="model name (metadata.name)")
    describe.add_argument("--tracking-uri", help="MLflow server (default: SQLite under .mlplat/, if it exists)")
    describe.add_argument("--format", choices=("text", "json"), default="text")
    catalog = add("catalog", "build the model catalog, a static site: a page per model and team, and an index "
                  "with search and filters")
    catalog.add_argument("--output", required=True, type=Path, help="folder to write the site to (replaced whole)")
    catalog.add_argument("--tracking-uri", help="MLflow server (default: SQLite under .mlplat/, if it exists)")
    catalog.add_argument("--registry-env", help="read the versions from this environment's MLflow (platform.yaml)")
    add("demo", "the main job on the embedded default: compile the specs; train, gate and register the "
        "reference model; serve it and ask it once")
    return parser


# Commands that only read and write files, all closed when they return: their process ends without
# freeing what a thousand models' objects hold, one by one (a third of a second at that size).
_EXIT_AT_ONCE = {"validate", "compile", "plan", "schema"}


def _moment(text: str) -> datetime:
    """An ISO 8601 time, in UTC where it names no zone."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an ISO 8601 time such as 2026-11-30T12:00:00Z") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def entry() -> NoReturn:
    """The `mlplat` executable: main(), tuned for a short-lived process."""
    # Loading a project allocates millions of objects that all live to the end and hold no cycles:
    # at the default thresholds the collector spends a third of `validate` scanning them again and again.
    gc.set_threshold(100_000, 50, 100)
    args = _parser().parse_args()
    code = _run(args)
    if args.command in _EXIT_AT_ONCE:
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except (OSError, ValueError):  # a reader that went away; main() has set the exit code
                pass
        os._exit(code)
    sys.exit(code)


def main(argv: list[str] | None = None) -> int:
    return _run(_parser().parse_args(argv))


def _run(args: argparse.Namespace) -> int:
    try:
        root = args.root or _find_root()
        if root is None:
            print("mlplat: no platform/platform.yaml here or in any parent folder (use --root)", file=sys.stderr)
            return EXIT_USAGE
        module = importlib.import_module(f"compiler.cli.{COMMAND_MODULES[args.command]}")
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
        if os.environ.get("MLPLAT_DEBUG"):
            raise
        print(f"mlplat: internal error: {type(exc).__name__}: {exc}\n"
              "This is a bug in mlplat; rerun with MLPLAT_DEBUG=1 for a traceback and report it.", file=sys.stderr)
        return EXIT_INTERNAL


def _find_root() -> Path | None:
    """The nearest folder at or above the current one that holds platform/platform.yaml."""
    cwd = Path.cwd()
    for candidate in (cwd, *cwd.parents):
        if (candidate / "platform" / "platform.yaml").is_file():
            return candidate
    return None


if __name__ == "__main__":
    sys.exit(main())
