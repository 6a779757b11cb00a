"""`python -m compiler.local.executor`: the part of Seldon Core's executor a laptop needs.

In a cluster every Seldon pod runs the executor (a Go binary, not on PyPI) in front of the model
server: clients call it, it calls the model, records `seldon_api_executor_server_requests_seconds`
(a histogram labelled deployment_name, predictor_name, predictor_version, service, method, code) on
its metrics port, gives every prediction a puid (the `Seldon-Puid` header, or a fresh UUID; echoed
in the response's header and meta.puid) and, with a `logger` on the graph, sends the request and
the response as binary CloudEvents to the logger URL, off the request path. `mlplat serve` and the
monitoring tests run this stand-in in the same place, so that the rendered rules, the PodMonitor's
labels and the prediction-log sink meet the same series and events locally as in a cluster. It is
not a general proxy: one model server, JSON bodies, HTTP/1.1.
"""

from __future__ import annotations

import argparse
import http.client
import json
import queue
import signal
import sys
import threading
import time
import uuid
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from compiler.runtime_contract import EXECUTOR_REQUESTS

BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)  # Go client's DefBuckets, as Seldon's
PUID_HEADER = "Seldon-Puid"
REQUEST_TYPE = "io.seldon.serving.inference.request"
RESPONSE_TYPE = "io.seldon.serving.inference.response"
MAX_QUEUED_EVENTS = 10_000


class Executor:
    def __init__(self, model_url: str, *, deployment: str, predictor: str, version: str, namespace: str,
                 logger_url: str | None):
        from prometheus_client import CollectorRegistry, Counter, Histogram

        self.model = urlsplit(model_url)
        if not self.model.hostname:
            raise ValueError(f"the model server's URL {model_url!r} names no host")
        self.model_host: str = self.model.hostname
        self.deployment, self.predictor, self.version, self.namespace = deployment, predictor, version, namespace
        self.logger = urlsplit(logger_url) if logger_url else None
        self.registry = CollectorRegistry()
        self.requests = Histogram(EXECUTOR_REQUESTS, "A histogram of latencies for executor server",
                                  ["deployment_name", "predictor_name", "predictor_version", "service", "method",
                                   "code"],
                                  buckets=BUCKETS, registry=self.registry)
        self.dropped = Counter("mlplat_local_executor_log_dropped", "CloudEvents not sent: queue full or logger down",
                               registry=self.registry)
        self.events: queue.Queue[tuple[str, str, bytes] | None] = queue.Queue(MAX_QUEUED_EVENTS)

    def forward(self, method: str, path: str, body: bytes,
                headers: dict[str, str]) -> tuple[int, bytes, dict[str, str]]:
        """Call the model server; the answer with the puid added, as the executor adds it."""
        started = time.perf_counter()
        puid = headers.get(PUID_HEADER.lower()) or str(uuid.uuid4())
        predicting = method == "POST" and path.rstrip("/").endswith("/predictions")
        if predicting:
            self._log(REQUEST_TYPE, puid, body)
        connection = http.client.HTTPConnection(self.model_host, self.model.port, timeout=60)
        try:
            connection.request(method, path, body=body or None,
                               headers={"Content-Type": headers.get("content-type", "application/json")})
            response = connection.getresponse()
            status, answer = response.status, response.read()
        except OSError as exc:
            status, answer = 503, json.dumps({"status": {"code": 503, "info": f"model server: {exc}"}}).encode()
        finally:
            connection.close()
        if predicting:
            answer = _with_puid(answer, puid)
            if status == 200:
                self._log(RESPONSE_TYPE, puid, answer)
            self.requests.labels(self.deployment, self.predictor, self.version, path, method.lower(),
                                 str(status)).observe(time.perf_counter() - started)
        return status, answer, {PUID_HEADER: puid}

    def _log(self, kind: str, puid: str, body: bytes) -> None:
        if self.logger is None:
            return
        try:
            self.events.put_nowait((kind, puid, body))
        except queue.Full:
            self.dropped.inc()

    def send_events(self) -> None:
        """The logger's worker: one CloudEvent per queued payload, until None arrives."""
        connection: http.client.HTTPConnection | None = None
        while (item := self.events.get()) is not None:
            kind, puid, body = item
            logger = self.logger
            if logger is None:  # nothing is queued without a logger
                continue
            headers = {"Content-Type": "application/json", "Ce-Specversion": "1.0", "Ce-Id": str(uuid.uuid4()),
                       "Ce-Type": kind, "Ce-Source": f"http://127.0.0.1/{self.deployment}",
                       "Ce-Time": datetime.now(UTC).isoformat(), "Ce-Requestid": puid, "Ce-Modelid": "model",
                       "Ce-Inferenceservicename": self.deployment, "Ce-Namespace": self.namespace,
                       "Ce-Endpoint": self.predictor, "Ce-Protocol": "seldon"}
            try:
                connection = connection or http.client.HTTPConnection(logger.hostname or "", logger.port,
                                                                      timeout=30)
                connection.request("POST", logger.path or "/", body=body, headers=headers)
                connection.getresponse().read()
            except OSError:
                self.dropped.inc()
                connection = None

    def close(self) -> None:
        self.events.put(None)


def _with_puid(answer: bytes, puid: str) -> bytes:
    try:
        body = json.loads(answer)
    except ValueError:
        return answer
    if isinstance(body, dict):
        meta = body.setdefault("meta", {})
        if isinstance(meta, dict):
            meta["puid"] = puid
    return json.dumps(body).encode()


def _servers(executor: Executor, host: str, port: int, metrics_port: int) -> list[ThreadingHTTPServer]:
    class Api(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # headers and body are two writes: no 40 ms delayed-ACK wait between

        def _relay(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            status, answer, extra = executor.forward(self.command, self.path, body,
                                                     {k.lower(): v for k, v in self.headers.items()})
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(answer)))
            for name, value in extra.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(answer)

        do_GET = do_POST = _relay  # noqa: N815 - the stdlib's names

        def log_message(self, *_: Any) -> None:
            pass

    class Metrics(BaseHTTPRequestHandler):
        disable_nagle_algorithm = True

        def do_GET(self) -> None:  # noqa: N802
            from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

            payload = generate_latest(executor.registry)
            self.send_response(200)
            self.send_header("Content-Type", CONTENT_TYPE_LATEST)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *_: Any) -> None:
            pass

    servers = [ThreadingHTTPServer((host, port), Api), ThreadingHTTPServer((host, metrics_port), Metrics)]
    for server in servers:
        server.daemon_threads = True
    return servers


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m compiler.local.executor", description=__doc__.splitlines()[0])
    parser.add_argument("--model-url", required=True, help="the model server, e.g. http://127.0.0.1:9001")
    parser.add_argument("--port", type=int, default=9000)
    parser.add_argument("--metrics-port", type=int, default=8000)
    parser.add_argument("--deployment", required=True)
    parser.add_argument("--predictor", default="main")
    parser.add_argument("--version", default="")
    parser.add_argument("--namespace", default="local")
    parser.add_argument("--logger-url", help="where the request and response CloudEvents go")
    args = parser.parse_args(argv)
    executor = Executor(args.model_url, deployment=args.deployment, predictor=args.predictor, version=args.version,
                        namespace=args.namespace, logger_url=args.logger_url)
    servers = _servers(executor, "127.0.0.1", args.port, args.metrics_port)
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    for server in servers:
        threading.Thread(target=server.serve_forever, daemon=True).start()
    sender = threading.Thread(target=executor.send_events, daemon=True)
    sender.start()
    print(f"executor: 127.0.0.1:{args.port} -> {args.model_url}; metrics on {args.metrics_port}", file=sys.stderr,
          flush=True)
    stop.wait()
    for server in servers:
        server.shutdown()
    executor.close()
    sender.join(timeout=30)  # what was queued reaches the sink before it is stopped
    return 0


if __name__ == "__main__":
    sys.exit(main())
