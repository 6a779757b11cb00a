"""The CLI's commands: each takes the repository root and the parsed arguments and returns an exit code."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from compiler.errors import format_errors
from compiler.pipeline import Checked, check_project

if TYPE_CHECKING:
    from compiler.resolve import ResolvedModel

EXIT_OK, EXIT_ERRORS, EXIT_USAGE = 0, 1, 2

SCHEMAS = {
    "specs/model.schema.json": ("compiler.model", "Model"),
    "platform/platform.schema.json": ("compiler.platform_config", "Platform"),
    "platform/releases.schema.json": ("compiler.releases", "Releases"),
}


def _checked(root: Path, fmt: str) -> Checked | None:
    checked, errors = check_project(root)
    if errors:
        sys.stdout.write(format_errors(errors, fmt))
        return None
    return checked


def validate(root: Path, args: argparse.Namespace) -> int:
    checked = _checked(root, args.format)
    if checked is None:
        return EXIT_ERRORS
    if args.format == "json":
        print(json.dumps({"errors": []}))
    elif args.format == "text":
        models = len(checked.project.models)
        envs = len(checked.environments)
        print(f"ok: {models} model spec{'s' if models != 1 else ''} valid in {envs} environments")
    return EXIT_OK


def compile(root: Path, args: argparse.Namespace) -> int:  # noqa: A001 - the command's name
    from compiler.plan import build_plan
    from compiler.write import differences, write_plan

    checked = _checked(root, args.format)
    if checked is None:
        return EXIT_ERRORS
    plan = build_plan(checked)
    if args.check:
        found = differences(root, plan)
        if found:
            print("\n".join(d.text() for d in found))
            print(f"environments/ is out of date: {len(found)} file(s) differ; run `mlplat compile` and commit")
            return EXIT_ERRORS
        print(f"ok: environments/ matches the specs ({len(plan.files)} files)")
        return EXIT_OK
    result = write_plan(root, plan)
    print(f"compiled {len(checked.project.models)} models into {len(checked.environments)} environments: "
          f"{len(plan.files)} files, {len(result.written)} written, {len(result.deleted)} deleted")
    for path in result.written:
        print(f"  wrote   {path}")
    for path in result.deleted:
        print(f"  deleted {path}")
    for note in plan.notes:
        print(f"  note: {note}")
    return EXIT_OK


def schema(root: Path, args: argparse.Namespace) -> int:
    import importlib

    stale = []
    for path, (module, name) in SCHEMAS.items():
        model = getattr(importlib.import_module(module), name)
        document = {"$schema": "https://json-schema.org/draft/2020-12/schema",
                    **model.model_json_schema(by_alias=True)}
        content = json.dumps(document, indent=2, sort_keys=True) + "\n"
        target = root / path
        current = target.read_text("utf-8") if target.is_file() else None
        if current == content:
            continue
        stale.append(path)
        if not args.check:
            target.write_text(content, "utf-8")
            print(f"wrote {path}")
    if args.check and stale:
        print(f"out of date: {', '.join(stale)}; run `mlplat schema`")
        return EXIT_ERRORS
    if not stale:
        print("ok: schemas are up to date")
    return EXIT_OK


def run(root: Path, args: argparse.Namespace) -> int:
    from compiler.local_run import describe, run_pipeline

    checked = _checked(root, "text")
    if checked is None:
        return EXIT_ERRORS
    model = _find_model(checked, "run", args.model, args.env)
    if model is None:
        return EXIT_USAGE
    result = run_pipeline(root, model, args.tracking_uri)
    print(describe(result))
    return EXIT_OK if result.ok else EXIT_ERRORS


def _find_model(checked: Checked, command: str, name: str, env: str) -> ResolvedModel | None:
    found = [m for m in checked.models if m.name == name and m.environment == env]
    if not found:
        names = sorted({m.name for m in checked.models})
        envs = [e.env.name for e in checked.environments]
        print(f"mlplat {command}: no model {name!r} in environment {env!r} (models: {', '.join(names)}; "
              f"environments: {', '.join(envs)})", file=sys.stderr)
        return None
    return found[0]


def drift(root: Path, args: argparse.Namespace) -> int:
    """Exit codes are the drift step's: 0 no drift, 1 drift, 2 bad data (or no such model)."""
    import subprocess

    from compiler.local_run import WORK_DIR
    from compiler.runtime_call import runtime_command, runtime_env

    checked = _checked(root, "text")
    if checked is None:
        return EXIT_USAGE
    model = _find_model(checked, "drift", args.model, args.env)
    if model is None:
        return EXIT_USAGE
    if model.spec.monitoring.drift is None:
        print(f"mlplat drift: {model.name} has no monitoring.drift settings in {model.environment} "
              f"({model.source})", file=sys.stderr)
        return EXIT_USAGE
    work = root / WORK_DIR / "drift" / f"{model.name}-{model.environment}"
    work.mkdir(parents=True, exist_ok=True)
    spec_file = work / "model.json"
    spec_file.write_text(model.summary_json(), "utf-8")
    command = runtime_command("drift", "--spec", str(spec_file), "--outputs", str(work), "--reference",
                              args.reference, "--current", args.current,
                              "--report", str(args.report or work / "drift-report.html"))
    if args.pushgateway:
        command += ["--pushgateway", args.pushgateway]
    return subprocess.run(command, env=runtime_env(root), cwd=Path.cwd()).returncode


def sbom(root: Path, args: argparse.Namespace) -> int:
    import tempfile

    from compiler.local_run import default_tracking
    from compiler.runtime_call import RuntimeCallError, fetch_version
    from renderers.sbom import document, to_text

    tracking_uri = args.tracking_uri or default_tracking(root)[0]
    with tempfile.TemporaryDirectory(prefix="mlplat-sbom-") as tmp:
        try:  # downloads the artifact and checks its digest against the registry and the evidence
            facts = fetch_version(root, args.model, args.version, tracking_uri, Path(tmp))
        except RuntimeCallError as exc:
            print(f"mlplat sbom: {exc}", file=sys.stderr)
            return EXIT_ERRORS
    if not facts.get("evidence"):
        print(f"mlplat sbom: {args.model} version {facts['version']} has no evidence on its run; it was registered "
              "without an ML-BOM", file=sys.stderr)
        return EXIT_ERRORS
    text = to_text(document(facts["evidence"]))
    if args.output:
        args.output.write_text(text, "utf-8")
        print(f"wrote the ML-BOM of {args.model} version {facts['version']} to {args.output}")
    else:
        sys.stdout.write(text)
    return EXIT_OK


def serve(root: Path, args: argparse.Namespace) -> int:
    import time

    from compiler import local_serve
    from compiler.local_run import WORK_DIR, default_tracking

    tracking_uri = args.tracking_uri or default_tracking(root)[0]
    run_dir = root / WORK_DIR / "serving" / f"{args.model}-{time.strftime('%Y%m%dT%H%M%S')}-{os.getpid()}"
    try:
        fetched = local_serve.fetch_version(root, args.model, args.version, tracking_uri, run_dir / "model")
        server = local_serve.start(root, fetched, run_dir, port=args.port, grpc_port=args.port + 500,
                                   metrics_port=args.metrics_port, workers=args.workers, threads=args.threads)
    except local_serve.ServeError as exc:
        print(f"mlplat serve: {exc}", file=sys.stderr)
        return EXIT_ERRORS
    print(f"serving {fetched['model']} version {fetched['version']} (artifact sha256 "
          f"{fetched['artifactSha256'][:16]}...) with seldon-core-microservice")
    print(f"  predictions: {server.url}{local_serve.PREDICT_PATH}")
    print(f"  metrics:     http://127.0.0.1:{args.metrics_port}{local_serve.METRICS_PATH}")
    print(f"  log:         {server.log}")
    print(f"  try:         {local_serve.example_request(server)}")
    print("press Ctrl-C to stop")
    try:
        server.process.wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    return EXIT_OK


def plan(root: Path, args: argparse.Namespace) -> int:
    import tempfile

    from compiler import gitbase, plandiff
    from compiler.plan import Plan, build_plan

    head = _checked(root, "text")
    if head is None:
        return EXIT_ERRORS
    with tempfile.TemporaryDirectory(prefix="mlplat-base-") as tmp:
        try:
            base_root = gitbase.export_inputs(root, args.base, Path(tmp))
        except gitbase.GitError as exc:
            print(f"mlplat plan: {exc}", file=sys.stderr)
            return EXIT_USAGE
        base, errors = check_project(base_root)
    if base is None:
        print(f"mlplat plan: the base {args.base} does not validate ({len(errors)} errors); "
              "planning against an empty base")
    changes = plandiff.diff_plans(build_plan(base) if base else Plan(()), build_plan(head))
    formatter = plandiff.format_markdown if args.format == "markdown" else plandiff.format_text
    sys.stdout.write(formatter(changes, args.base))
    return EXIT_OK


def gate(root: Path, args: argparse.Namespace) -> int:
    from compiler import gatecheck, gitbase

    checked = _checked(root, "text")
    if checked is None:
        return EXIT_ERRORS
    platform = checked.project.platform
    envs = platform.environment_names if args.env == "all" else [args.env]
    if not set(envs) <= set(platform.environment_names):
        print(f"mlplat gate: unknown environment {args.env!r}", file=sys.stderr)
        return EXIT_USAGE
    formatter = gatecheck.format_markdown if args.format == "markdown" else gatecheck.format_text
    passed = True
    for env in envs:
        try:
            base = gatecheck.base_releases(root, env, args.base)
        except gitbase.GitError as exc:
            print(f"mlplat gate: {exc}", file=sys.stderr)
            return EXIT_USAGE
        uri = args.tracking_uri or platform.environment(env).mlflow.tracking_uri
        results = gatecheck.check_pins(root, checked, env, base, uri)
        sys.stdout.write(formatter(results, env, args.base))
        passed = passed and all(r.passed for r in results)
    return EXIT_OK if passed else EXIT_ERRORS


def promote(root: Path, args: argparse.Namespace) -> int:
    from compiler import promote as promotion

    return _commit_pin("promote", lambda: promotion.promote(
        root, args.model, args.env, args.version, args.tracking_uri, candidate=args.candidate,
        approved_by=tuple(args.approved_by)))


def rollback(root: Path, args: argparse.Namespace) -> int:
    from compiler import promote as promotion

    return _commit_pin("rollback", lambda: promotion.rollback(root, args.model, args.env, args.tracking_uri))


def _commit_pin(command: str, action) -> int:
    from compiler import gitbase
    from compiler.promote import PromoteError

    try:
        done = action()
    except (PromoteError, gitbase.GitError) as exc:
        print(f"mlplat {command}: refused: {exc}", file=sys.stderr)
        return EXIT_ERRORS
    print(f"committed {done.commit[:12]} on branch {done.branch}; push it and open a pull request\n")
    print(done.message)
    return EXIT_OK


DEMO_MODEL = "tumor-classifier"


def demo(root: Path, args: argparse.Namespace) -> int:
    """The README's main job: compile every spec, run the reference model's pipeline locally, then serve
    the new champion with seldon-core and send it one real prediction."""
    print("== [1/3] validate and compile the specs")
    code = compile(root, argparse.Namespace(format="text", check=False))
    if code != EXIT_OK:
        return code
    print(f"== [2/3] train, evaluate, gate and register {DEMO_MODEL} on the embedded default")
    code = run(root, argparse.Namespace(model=DEMO_MODEL, env="dev", tracking_uri=None))
    if code != EXIT_OK:
        return code
    print(f"== [3/3] serve the champion of {DEMO_MODEL} with seldon-core-microservice and ask it once")
    return _serve_once(root, DEMO_MODEL)


def _serve_once(root: Path, model: str) -> int:
    import time

    from compiler import local_serve
    from compiler.local_run import WORK_DIR, default_tracking

    free_port = local_serve.free_port
    run_dir = root / WORK_DIR / "serving" / f"{model}-demo-{time.strftime('%Y%m%dT%H%M%S')}-{os.getpid()}"
    try:
        fetched = local_serve.fetch_version(root, model, None, default_tracking(root)[0], run_dir / "model")
        server = local_serve.start(root, fetched, run_dir, port=free_port(), grpc_port=free_port(),
                                   metrics_port=free_port())
    except local_serve.ServeError as exc:
        print(f"mlplat demo: {exc}", file=sys.stderr)
        return EXIT_ERRORS
    try:
        print(f"   serving version {fetched['version']} at {server.url}{local_serve.PREDICT_PATH}")
        features = fetched["features"]
        print(f"   request:  one eval row of {len(features)} features ({', '.join(features[:3])}, ...)")
        status, answer = server.predict([fetched["example"]])
        print(f"   response: HTTP {status} {json.dumps(answer, sort_keys=True)}")
    finally:
        server.stop()
    return EXIT_OK if status == 200 else EXIT_ERRORS
