"""`mlplat serve MODEL [--version N]`: a registered version behind seldon-core-microservice
(compiler/local/serve.py)."""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from compiler.cli.exit_codes import EXIT_ERRORS, EXIT_OK
from compiler.local import serve as local_serve
from compiler.local.embedded import WORK_DIR, default_tracking


def serve(root: Path, args: argparse.Namespace) -> int:
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
