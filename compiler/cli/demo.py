"""`mlplat demo`: the README's main job on the embedded default: compile every spec, run the reference
model's pipeline locally, then serve the new champion with seldon-core and send it one real prediction."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

from compiler.cli.compile import compile as compile_command
from compiler.cli.exit_codes import EXIT_ERRORS, EXIT_OK
from compiler.cli.run import run as run_command
from compiler.local import serve as local_serve
from compiler.local.embedded import WORK_DIR, default_tracking

DEMO_MODEL = "tumor-classifier"


def arguments(parser: argparse.ArgumentParser) -> None:
    del parser  # no options: it runs the README's main job as it is


ARGUMENTS = {"demo": arguments}  # command -> what adds its options


def demo(root: Path, args: argparse.Namespace) -> int:
    print("== [1/3] validate and compile the specs")
    code = compile_command(root, argparse.Namespace(format="text", check=False))
    if code != EXIT_OK:
        return code
    print(f"== [2/3] train, evaluate, gate and register {DEMO_MODEL} on the embedded default")
    code = run_command(root, argparse.Namespace(model=DEMO_MODEL, env="dev", tracking_uri=None))
    if code != EXIT_OK:
        return code
    print(f"== [3/3] serve the champion of {DEMO_MODEL} with seldon-core-microservice and ask it once")
    return _serve_once(root, DEMO_MODEL)


def _serve_once(root: Path, model: str) -> int:
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
