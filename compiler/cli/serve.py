"""`mlplat serve MODEL [--version N]`: a registered version behind seldon-core-microservice and an
executor, every prediction logged under .mlplat/prediction-logs/ (compiler/local/serving_stack.py); a
model trained on a feature service with Feast's feature server beside it (compiler/local/feature_server.py)."""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from compiler.cli import options
from compiler.cli.common import checked_or_report
from compiler.cli.exit_codes import EXIT_ERRORS, EXIT_OK, EXIT_USAGE
from compiler.local import feature_server, serving_stack
from compiler.local import serve as local_serve
from compiler.local.embedded import WORK_DIR, default_tracking
from compiler.pipeline.features import served_definitions

PREDICTION_LOGS = f"{WORK_DIR}/prediction-logs"
LOCAL_ENVIRONMENT = "dev"  # whose feature definitions a local serve reads, as `mlplat run` trains in dev


def arguments(parser: argparse.ArgumentParser) -> None:
    options.model(parser)
    options.version(parser)
    options.tracking_uri(parser, options.LOCAL_REGISTRY)
    parser.add_argument("--port", type=int, default=9000, help="HTTP port of the executor clients call")
    parser.add_argument("--metrics-port", type=int, default=6000, help="the model server's metrics port")
    parser.add_argument("--executor-metrics-port", type=int, default=8000, help="the executor's metrics port")
    parser.add_argument("--prediction-log", type=Path,
                        help="where served predictions are logged (default: .mlplat/prediction-logs)")
    parser.add_argument("--no-prediction-log", action="store_true", help="log no predictions")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn worker processes (see benchmarks/serving)")
    parser.add_argument("--threads", type=int, default=1, help="threads per worker")
    parser.add_argument("--features-as-of", type=options.moment, metavar="TIME",
                        help="a model on a feature service: materialise its features up to TIME (ISO 8601) and "
                             "check their TTL as of TIME, e.g. 2026-11-30T12:00:00Z for the example's events "
                             "(default: now)")


ARGUMENTS = {"serve": arguments}  # command -> what adds its options


def serve(root: Path, args: argparse.Namespace) -> int:
    checked = checked_or_report(root, "text")
    if checked is None:
        return EXIT_USAGE
    found = [m for m in checked.models if m.name == args.model]
    if not found:
        print(f"mlplat serve: no model {args.model!r} (models: {', '.join(sorted({m.name for m in checked.models}))})",
              file=sys.stderr)
        return EXIT_USAGE
    tracking_uri = args.tracking_uri or default_tracking(root)[0]
    model = next((m for m in found if m.environment == LOCAL_ENVIRONMENT), found[0])
    service = model.spec.training.data.feature_service
    if args.features_as_of and not service:
        print(f"mlplat serve: --features-as-of is for a model trained on a feature service; {args.model} is not",
              file=sys.stderr)
        return EXIT_USAGE
    features = None
    if service:
        keys = tuple(e.join_key for f in served_definitions(checked.project.features, service) for e in f.spec.entities)
        features = feature_server.FeatureServing(service, model.environment, keys, args.features_as_of)
    log_dir = None if args.no_prediction_log else (args.prediction_log or root / PREDICTION_LOGS)
    ports = serving_stack.Ports(api=args.port, metrics=args.metrics_port, executor_metrics=args.executor_metrics_port)
    run_dir = root / WORK_DIR / "serving" / f"{args.model}-{time.strftime('%Y%m%dT%H%M%S')}-{os.getpid()}"
    # seldon-core runs in its own process group (so that a Ctrl-C meant for it reaches it only through
    # us); SIGTERM and SIGHUP become an exception here, so that the finally below stops that group.
    with _stop_on(signal.SIGTERM, signal.SIGHUP):
        try:
            fetched = local_serve.fetch_version(root, args.model, args.version, tracking_uri, run_dir / "model")
            server = serving_stack.start(root, fetched, run_dir, team=model.team, ports=ports, log_dir=log_dir,
                                         workers=args.workers, threads=args.threads, features=features)
        except local_serve.ServeError as exc:
            print(f"mlplat serve: {exc}", file=sys.stderr)
            return EXIT_ERRORS
        except (KeyboardInterrupt, _Stopped):
            return EXIT_OK  # start() has stopped whatever it had started
        try:
            print(f"serving {fetched['model']} version {fetched['version']} (artifact sha256 "
                  f"{fetched['artifactSha256'][:16]}...) with seldon-core-microservice behind an executor")
            print(f"  predictions: {server.url}{local_serve.PREDICT_PATH}")
            print(f"  metrics:     http://127.0.0.1:{ports.executor_metrics}/prometheus (executor), "
                  f"http://127.0.0.1:{ports.metrics}{local_serve.METRICS_PATH} (model)")
            if server.features is not None:
                print(f"  features:    {service} from {server.features.url} (Feast), as of "
                      f"{args.features_as_of.isoformat() if args.features_as_of else 'now'}; send entity keys")
            print(f"  logged to:   {server.log_dir or 'nowhere (--no-prediction-log)'}")
            print(f"  log:         {server.model.log}")
            example = local_serve.example_request(server.model, list(features.keys) if features else None)
            print(f"  try:         {example.replace(server.model.url, server.url)}")
            print("press Ctrl-C to stop", flush=True)
            server.model.process.wait()
        except (KeyboardInterrupt, _Stopped):
            pass
        finally:
            for stop_signal in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):  # a second one must not cut
                signal.signal(stop_signal, signal.SIG_IGN)                     # the stop short
            server.stop()
    return EXIT_OK


class _Stopped(Exception):
    """A stop signal arrived."""


@contextmanager
def _stop_on(*signals: signal.Signals) -> Iterator[None]:
    def stop(signum: int, _frame: object) -> None:
        raise _Stopped(signal.Signals(signum).name)

    previous = {s: signal.signal(s, stop) for s in signals}
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
