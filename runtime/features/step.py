"""`python -m runtime features apply|materialize|serve`: the rendered Feast files of an environment made real.

    python -m runtime features apply --store environments/<env>/features/feature_store.yaml \
        --definitions environments/<env>/features/definitions.json
    python -m runtime features materialize --store ... --definitions ... --view <view> [--end ISO-8601]
    python -m runtime features serve --store ... --definitions ... [--host H] [--port P] [--end ISO-8601]

`apply` registers every definition in the environment's Feast registry (Feast's apply is idempotent:
an unchanged definition changes nothing). `materialize` applies first, so that the registry matches the
commit the pod was cloned at, then copies the view's values up to --end (default: now) into the
online store, from where the last materialisation ended (or one TTL before --end, the first time). Relative
paths in feature_store.yaml are read from the current folder (the repository's checkout, as the
CronWorkflow's working directory is).

`serve` runs Feast's feature server (what `feast serve` runs, through its Python API) for the model
server beside it. Its gunicorn worker is never recycled (gunicorn's default under `feast serve`
restarts it every 1,000 requests, leaving no server for seconds: docs/features.md) and logs no
access lines (the prediction log records requests). A registry that is a local file is the pod's
own (the embedded default): the definitions are applied to it first; a shared registry (s3://,
gs://) is only read, as the materialisation jobs write it. With --end, every online view is
materialised up to that time before serving (`mlplat serve`, on a private online store).

Exit codes: 0 done, 2 could not run (unreadable files, an unknown view, a store that refuses).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from pathlib import Path
from typing import Any

from runtime.features.definitions import feast_objects, feature_store, load_settings

SERVER_PORT = 6566  # Feast's own default
REGISTRY_TTL_SECONDS = 60  # how soon the server sees what a materialisation job applied


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m runtime features", description=__doc__.split("\n\n")[0])
    parser.add_argument("action", choices=["apply", "materialize", "serve"])
    parser.add_argument("--store", type=Path, required=True, help="the environment's rendered feature_store.yaml")
    parser.add_argument("--definitions", type=Path, required=True, help="the environment's definitions.json")
    parser.add_argument("--view", help="the feature view to materialise")
    parser.add_argument("--end", type=dt.datetime.fromisoformat, help="materialise up to this time (default: now)")
    parser.add_argument("--host", default="127.0.0.1", help="serve: the address to listen on")
    parser.add_argument("--port", type=int, default=SERVER_PORT, help="serve: the port to listen on")
    parser.add_argument("--workers", type=int, default=1, help="serve: gunicorn worker processes")
    return parser


def main(argv: list[str]) -> int:
    args = _parser().parse_args(argv)
    if args.action == "materialize" and not args.view:
        print("features materialize: --view is required", file=sys.stderr)
        return 2
    try:
        settings = load_settings(args.store)
        definitions = json.loads(args.definitions.read_text("utf-8"))
    except (OSError, ValueError) as exc:
        print(f"features {args.action}: cannot read the rendered files: {exc}", file=sys.stderr)
        return 2
    views = [v["name"] for v in definitions.get("featureViews", [])]
    if args.view is not None and args.view not in views:
        print(f"features materialize: no feature view {args.view!r} (the environment has: {', '.join(views)})",
              file=sys.stderr)
        return 2
    if args.action == "serve":
        return _serve(args, settings, definitions)
    try:
        store = feature_store(settings, Path.cwd())
        store.apply(feast_objects(definitions, Path.cwd()))
        if args.action == "materialize":
            _materialize(store, store.get_feature_view(args.view), _utc(args.end or dt.datetime.now(dt.UTC)))
    except Exception as exc:  # noqa: BLE001 - any store's failure is the step's, reported and exit 2
        print(f"features {args.action}: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 2
    print(json.dumps({"action": args.action, "project": settings.get("project"), "view": args.view,
                      "objects": _counts(definitions)}))
    return 0


def _serve(args: argparse.Namespace, settings: dict[str, Any], definitions: dict[str, Any]) -> int:
    from feast.feature_server import start_server

    try:
        store = feature_store(settings, Path.cwd())
        if "://" not in str(settings.get("registry", "")):
            store.apply(feast_objects(definitions, Path.cwd()))
        if args.end is not None:
            for view in store.list_feature_views():
                if view.online:
                    _materialize(store, view, _utc(args.end))
    except Exception as exc:  # noqa: BLE001 - reported, exit 2: the pod restarts and says why
        print(f"features serve: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 2
    print(json.dumps({"action": "serve", "project": settings.get("project"), "url": f"http://{args.host}:{args.port}"}),
          flush=True)
    start_server(store, host=args.host, port=args.port, no_access_log=True, workers=args.workers,
                 worker_connections=1000, max_requests=0, max_requests_jitter=0, keep_alive_timeout=30,
                 registry_ttl_sec=REGISTRY_TTL_SECONDS, tls_key_path="", tls_cert_path="", metrics=False)
    return 0


def _materialize(store: Any, view: Any, end: dt.datetime) -> None:
    """The view's values up to `end`, from where the last run ended, or one TTL back: Feast's
    materialize_incremental would count that TTL back from the machine's clock, not from `end`."""
    start = view.most_recent_end_time or end - view.ttl
    if start < end:
        store.materialize(start_date=start, end_date=end, feature_views=[view.name])


def _utc(moment: dt.datetime) -> dt.datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def _counts(definitions: dict[str, Any]) -> dict[str, int]:
    return {kind: len(items) for kind, items in definitions.items()}
