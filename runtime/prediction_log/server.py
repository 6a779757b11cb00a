"""`python -m runtime prediction-log`: the sink Seldon's executors send their CloudEvents to.

POST / takes one event: 202 when it is kept (a request or response waiting for its pair, or a pair
turned into rows), 400 with the reason otherwise; a bad event is counted and logged, never raised, and
the executor sends off the request path, so nothing here can slow or break serving. A request and
its response meet by request id within `pair_seconds`; an event whose pair never comes is counted as
unpaired and forgotten (at most `max_pending` events and `max_pending_bytes` of them wait at once). A
body must arrive whole within `read_seconds` (a client that sends less than its Content-Length, or
trickles it, gets 408 and is disconnected). GET /health answers 200; GET /prometheus (and /metrics)
the sink's counters. SIGTERM (and SIGINT) stop taking events and write every buffered row: exit 0,
or 1 with the number of rows lost when some could not be written (a full disk, a store that refuses).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from runtime.prediction_log import events
from runtime.prediction_log.writer import PartitionWriter

MAX_EVENT_BYTES = 16 * 1024 * 1024
READ_SECONDS = 30.0  # for a whole body, however it arrives
LOGGED_PER_MINUTE = 10  # bad events logged per reason and minute; the counters count every one


class Throttle:
    """At most `limit` lines per key and minute, then one line saying how many were left out."""

    def __init__(self, log: Callable[[str], None], clock: Callable[[], float], limit: int = LOGGED_PER_MINUTE):
        self._log, self._clock, self._limit = log, clock, limit
        self._windows: dict[str, tuple[float, int]] = {}
        self._lock = threading.Lock()

    def __call__(self, key: str, line: str) -> None:
        now = self._clock()
        with self._lock:
            start, count = self._windows.get(key, (now, 0))
            if now - start >= 60:
                if count > self._limit:
                    self._log(f"prediction-log: {key}: {count - self._limit} more in the last minute, not logged")
                start, count = now, 0
            self._windows[key] = (start, count + 1)
        if count < self._limit:
            self._log(line)


class Sink:
    """Events in, rows to the writer; counters for Prometheus."""

    def __init__(self, writer: PartitionWriter, models: frozenset[str], *, pair_seconds: float = 60,
                 max_pending: int = 10_000, max_pending_bytes: int = 256 * 1024 * 1024,
                 clock: Callable[[], float] = time.monotonic,
                 now: Callable[[], datetime] = lambda: datetime.now(UTC), log: Callable[[str], None] = print):
        from prometheus_client import CollectorRegistry, Counter, Gauge

        self.writer, self.models = writer, models
        self.pair_seconds, self.max_pending, self.max_pending_bytes = pair_seconds, max_pending, max_pending_bytes
        self._pending_bytes = 0
        self._clock, self._now, self._log = clock, now, log
        self._throttled = Throttle(log, clock)  # a flood of bad events must not become a flood of log lines
        self._in_flight = 0  # events being handled: close() waits for them (handler threads are daemons)
        self._idle = threading.Condition()
        self._pending: OrderedDict[str, tuple[float, events.Event]] = OrderedDict()
        self._lock = threading.Lock()
        self.registry = CollectorRegistry()
        self.events = Counter("mlplat_prediction_log_events", "CloudEvents received, by outcome", ["outcome"],
                              registry=self.registry)
        for outcome in ("accepted", events.MALFORMED, events.UNKNOWN_MODEL, events.BAD_SCHEMA):
            self.events.labels(outcome=outcome)
        self.unpaired = Counter("mlplat_prediction_log_unpaired", "Requests or responses whose pair never came",
                                registry=self.registry)
        self.rows_written = Counter("mlplat_prediction_log_rows_written", "Rows written to Parquet",
                                    ["logged_model"], registry=self.registry)
        self.rows_dropped = Counter("mlplat_prediction_log_rows_dropped", "Rows dropped: the store could not take "
                                    "them while the buffer was full, or at shutdown", registry=self.registry)
        self.write_errors = Counter("mlplat_prediction_log_write_errors", "Failed Parquet writes (rows kept)",
                                    registry=self.registry)
        Gauge("mlplat_prediction_log_buffered_rows", "Rows waiting to be written", registry=self.registry
              ).set_function(lambda: writer.buffered)
        Gauge("mlplat_prediction_log_buffered_bytes", "Memory the rows waiting to be written hold, roughly",
              registry=self.registry).set_function(lambda: writer.buffered_bytes)
        Gauge("mlplat_prediction_log_pending_bytes", "Bytes of the events waiting for their pair",
              registry=self.registry).set_function(lambda: self._pending_bytes)
        writer.on_written = lambda model, n: self.rows_written.labels(logged_model=model).inc(n)
        writer.on_dropped = self.rows_dropped.inc
        writer.on_error = self._write_failed

    def accept(self, headers: dict[str, str], body: bytes) -> tuple[int, str]:
        """One event; (HTTP status, reason). Never raises for bad input."""
        with self._idle:
            self._in_flight += 1
        try:
            return self._accept(headers, body)
        finally:
            with self._idle:
                self._in_flight -= 1
                self._idle.notify_all()

    def _accept(self, headers: dict[str, str], body: bytes) -> tuple[int, str]:
        try:
            event = events.parse(headers, body, self.models)
            pair = self._pair(event)
            if pair is not None:
                request, response = pair
                self.writer.add(request.deployment, events.rows(request, response, request.deployment, self._now()))
        except events.BadEvent as exc:
            self.events.labels(outcome=exc.reason).inc()
            self._throttled(exc.reason, f"prediction-log: {exc.reason}: {exc}")
            return 400, exc.reason
        self.events.labels(outcome="accepted").inc()
        return 202, "accepted"

    def _pair(self, event: events.Event) -> tuple[events.Event, events.Event] | None:
        key = f"{event.deployment}\0{event.request_id}"
        with self._lock:
            self._expire()
            waiting = self._pending.get(key)
            if waiting is not None and waiting[1].kind != event.kind:
                del self._pending[key]
                self._pending_bytes -= waiting[1].size
                other = waiting[1]
                return (event, other) if event.kind == "request" else (other, event)
            if waiting is not None:  # a second request (or response) with one id: the newer one waits
                self.unpaired.inc()
                self._pending_bytes -= waiting[1].size
            self._pending[key] = (self._clock(), event)
            self._pending_bytes += event.size
            self._pending.move_to_end(key)
            while self._pending and self._pending_bytes > self.max_pending_bytes:  # memory, in bytes
                self._forget_oldest()
            return None

    def _expire(self) -> None:
        """Forget (and count) what waited longer than pair_seconds, and the oldest past max_pending (room for
        one more). Under the lock."""
        limit = self._clock() - self.pair_seconds
        while self._pending and (len(self._pending) >= self.max_pending
                                 or next(iter(self._pending.values()))[0] < limit):
            self._forget_oldest()

    def _forget_oldest(self) -> None:
        _, (_, forgotten) = self._pending.popitem(last=False)
        self._pending_bytes -= forgotten.size
        self.unpaired.inc()

    def _write_failed(self, exc: Exception) -> None:
        self.write_errors.inc()  # a full disk fails every flush: the counter counts them all, the log a few
        self._throttled("write_failed", f"prediction-log: a write to {self.writer.root} failed (rows kept for the "
                                        f"next flush): {exc}")

    def close(self, wait: float = 10) -> tuple[int, int]:
        """Write what is buffered once the events being handled are in (at most `wait` seconds); events
        still waiting for their pair count as unpaired. (rows written, rows lost: those the last write could
        not take, counted as dropped)."""
        with self._idle:
            self._idle.wait_for(lambda: self._in_flight == 0, timeout=wait)
        with self._lock:
            self.unpaired.inc(len(self._pending))
            self._pending.clear()
            self._pending_bytes = 0
        written = self.writer.flush()
        lost = self.writer.buffered
        if lost:
            self.rows_dropped.inc(lost)
        return written, lost

    def metrics(self) -> tuple[bytes, str]:
        from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

        return generate_latest(self.registry), CONTENT_TYPE_LATEST


def make_server(sink: Sink, host: str, port: int, read_seconds: float = READ_SECONDS) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        timeout = read_seconds  # a connection that says nothing (headers included) is closed after this
        # Headers and body leave in two writes; with Nagle's algorithm each answer would wait for the
        # client's delayed ACK (40 ms), which caps one executor connection at 25 events a second.
        disable_nagle_algorithm = True

        def do_POST(self) -> None:  # noqa: N802 - the stdlib's name
            try:
                length = int(self.headers.get("Content-Length", ""))
            except ValueError:
                return self._answer(411, {"error": "a Content-Length is required"}, close=True)
            if length < 0 or length > MAX_EVENT_BYTES:
                sink.events.labels(outcome=events.MALFORMED).inc()
                return self._answer(413, {"error": f"an event may hold at most {MAX_EVENT_BYTES} bytes"}, close=True)
            body = self._body(length)
            if body is None:
                sink.events.labels(outcome=events.MALFORMED).inc()
                return self._answer(408, {"error": f"the body did not arrive whole within {read_seconds:g} s"},
                                    close=True)
            status, reason = sink.accept({k.lower(): v for k, v in self.headers.items()}, body)
            self._answer(status, {"result": reason})

        def _body(self, length: int) -> bytes | None:
            """`length` bytes read within read_seconds, however slowly they come; None where they do not."""
            give_up, parts, got = time.monotonic() + read_seconds, [], 0
            while got < length:
                left = give_up - time.monotonic()
                if left <= 0:
                    return None
                self.connection.settimeout(left)
                try:
                    part = self.rfile.read1(min(length - got, 65536))
                except (TimeoutError, OSError):
                    return None
                if not part:  # the client closed before sending it all
                    return None
                parts.append(part)
                got += len(part)
            return b"".join(parts)

        def do_GET(self) -> None:  # noqa: N802
            if self.path.split("?")[0] in ("/prometheus", "/metrics"):
                payload, content_type = sink.metrics()
                return self._send(200, payload, content_type)
            if self.path == "/health":
                return self._answer(200, {"status": "ok"})
            self._answer(404, {"error": "POST events to /; GET /health or /prometheus"})

        def _answer(self, status: int, body: dict[str, Any], close: bool = False) -> None:
            self._send(status, json.dumps(body).encode(), "application/json", close)

        def _send(self, status: int, payload: bytes, content_type: str, close: bool = False) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(payload)))
            if close:
                self.send_header("Connection", "close")
                self.close_connection = True
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *_: Any) -> None:  # one line per event would drown the pod's log
            pass

    server = ThreadingHTTPServer((host, port), Handler)
    server.daemon_threads = True
    return server


def _parser() -> argparse.ArgumentParser:
    env = os.environ.get
    parser = argparse.ArgumentParser(prog="python -m runtime prediction-log", description=__doc__.splitlines()[0])
    parser.add_argument("--output", default=env("MLPLAT_PREDICTION_LOG"),
                        help="the team's prediction log (<predictionLog>/<team>); a folder or s3:// URI")
    parser.add_argument("--models", default=env("MLPLAT_LOGGED_MODELS", ""),
                        help="comma-separated SeldonDeployment names whose events are kept")
    parser.add_argument("--host", default="0.0.0.0", help="address to listen on (0.0.0.0 in a pod)")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--batch-rows", type=int, default=int(env("MLPLAT_BATCH_ROWS", "10000")))
    parser.add_argument("--flush-seconds", type=float, default=float(env("MLPLAT_FLUSH_SECONDS", "60")))
    parser.add_argument("--pair-seconds", type=float, default=60)
    parser.add_argument("--max-pending", type=int, default=10_000)
    parser.add_argument("--max-pending-bytes", type=int, default=int(env("MLPLAT_MAX_PENDING_BYTES", str(256 << 20))))
    parser.add_argument("--max-buffered-bytes", type=int,
                        default=int(env("MLPLAT_MAX_BUFFERED_BYTES", str(256 << 20))))
    parser.add_argument("--read-seconds", type=float, default=READ_SECONDS, help="for a whole event body")
    return parser


def main(argv: list[str]) -> int:
    args = _parser().parse_args(argv)
    models = frozenset(m for m in args.models.split(",") if m)
    if not args.output or not models:
        print("prediction-log: --output (MLPLAT_PREDICTION_LOG) and --models (MLPLAT_LOGGED_MODELS) are required",
              file=sys.stderr)
        return 2
    log = lambda line: print(line, file=sys.stderr, flush=True)  # noqa: E731
    writer = PartitionWriter(args.output, batch_rows=args.batch_rows, flush_seconds=args.flush_seconds,
                             max_bytes=args.max_buffered_bytes)
    sink = Sink(writer, models, pair_seconds=args.pair_seconds, max_pending=args.max_pending,
                max_pending_bytes=args.max_pending_bytes, log=log)
    server = make_server(sink, args.host, args.port, args.read_seconds)
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    threading.Thread(target=server.serve_forever, name="http", daemon=True).start()
    log(f"prediction-log: listening on {args.host}:{server.server_address[1]}, writing {', '.join(sorted(models))} "
        f"to {args.output}")
    # The writer's loop: a flush when a batch is full or its oldest row is due; a tick bounds the wait.
    tick = min(1.0, args.flush_seconds)
    while not stop.wait(tick):
        if writer.due():
            writer.flush()
    server.shutdown()
    server.server_close()
    written, lost = sink.close()
    if lost:
        log(f"prediction-log: stopped; wrote {written} buffered rows, and LOST {lost}: the last write to "
            f"{args.output} failed (see above); mlplat_prediction_log_rows_dropped_total counts them")
        return 1
    log(f"prediction-log: stopped; wrote {written} buffered rows")
    return 0
