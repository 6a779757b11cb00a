"""Instant queries against Prometheus' HTTP API, answered in full before one deadline or not at all.

The canary analysis moves production traffic on what this returns, so every answer is checked before
it is believed, and anything doubtful raises `Blind` (the analysis then holds and says so):

- one deadline for every query of an analysis together: each connect, send and read gets only the
  time left, so neither a silent socket nor one that trickles a byte at a time can hold it longer;
- the status must be 200: a redirect is not followed (the address is configuration, and the answer
  of another host is not Prometheus'), and any other status is an error;
- the body is read to its end (at most MAX_BODY bytes) and must be Prometheus' JSON: `status` success,
  `data.resultType` vector, a list of results, each with a `metric` object and a `[time, "value"]`;
- each value is a finite number; counts are non-negative and at most MAX_COUNT (a count beyond it is
  no count a serving stack makes in one step, and overflows the exact tests' arithmetic);
- each series appears once: two results with the same grouping labels (two Prometheus servers behind
  one address, a relabelling that lost a label) make the sum ambiguous, so they are refused, not added.

Standard library only: the analysis' pod should not need more than it uses.
"""

from __future__ import annotations

import http.client
import io
import json
import math
import socket
import ssl
import time
import urllib.parse
from collections.abc import Callable
from typing import Any

MAX_BODY = 8 * 1024 * 1024  # bytes of one answer; the analysis' answers are a few kilobytes
MAX_COUNT = 10**12  # requests of one side in one step: far beyond any serving stack's
CHUNK = 64 * 1024


class Blind(Exception):
    """Prometheus gave no usable answer; the message says what was wrong."""


class Deadline:
    """One point in time for a whole analysis; `clock` is injectable so that tests decide when it passes."""

    def __init__(self, seconds: float, clock: Callable[[], float] = time.monotonic):
        self.seconds, self._clock = seconds, clock
        self._at = clock() + seconds

    def passed(self) -> str:
        return (f"Prometheus did not answer in full within the analysis' deadline of {self.seconds:g} s "
                "(rollout.analysis.deadline)")

    def left(self) -> float:
        """Seconds left; Blind once none are."""
        left = self._at - self._clock()
        if left <= 0:
            raise Blind(self.passed())
        return left


class _DeadlineReader(io.RawIOBase):
    """The socket's bytes, each read bounded by the time the deadline leaves (a trickle ends there too)."""

    def __init__(self, sock: socket.socket, deadline: Deadline):
        self.sock, self.deadline = sock, deadline

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        self.sock.settimeout(self.deadline.left())
        try:
            return self.sock.recv_into(buffer)
        except TimeoutError as exc:
            raise Blind(self.deadline.passed()) from exc


class _DeadlineSocket:
    """What http.client needs of a socket, with every send and read bounded by the deadline."""

    def __init__(self, sock: socket.socket, deadline: Deadline):
        self.sock, self.deadline = sock, deadline

    def sendall(self, data: bytes) -> None:
        self.sock.settimeout(self.deadline.left())
        self.sock.sendall(data)

    def makefile(self, mode: str, *_: Any, **__: Any) -> io.BufferedReader:
        assert "r" in mode
        return io.BufferedReader(_DeadlineReader(self.sock, self.deadline))

    def close(self) -> None:
        """http.client closes its end when the answer says so, before its body is read: get() closes the socket
        once it has read it."""


def get(url: str, deadline: Deadline) -> bytes:
    """The body of a GET answered with 200 before the deadline, at most MAX_BODY bytes; Blind otherwise."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise Blind(f"{url} is not an http(s) address")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        raw = socket.create_connection((parts.hostname, port), timeout=deadline.left())
    except OSError as exc:
        raise Blind(f"Prometheus at {parts.scheme}://{parts.netloc} cannot be reached: {exc}") from exc
    try:
        if parts.scheme == "https":
            raw.settimeout(deadline.left())
            raw = ssl.create_default_context().wrap_socket(raw, server_hostname=parts.hostname)
        connection = http.client.HTTPConnection(parts.hostname, port)
        connection.sock = _DeadlineSocket(raw, deadline)  # type: ignore[assignment]
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        connection.request("GET", target, headers={"Accept": "application/json", "Accept-Encoding": "identity"})
        response = connection.getresponse()
        if 300 <= response.status < 400:
            raise Blind(f"Prometheus answered {response.status} (to {response.getheader('Location')!r}); "
                        "a redirect is not followed: set monitoring.prometheus to the address that answers")
        body = bytearray()
        while chunk := response.read(CHUNK):
            body += chunk
            if len(body) > MAX_BODY:
                raise Blind(f"Prometheus' answer is larger than {MAX_BODY:,} bytes")
        if response.status != 200:
            raise Blind(f"Prometheus answered HTTP {response.status}: {_error_of(bytes(body))}")
        return bytes(body)
    except (OSError, http.client.HTTPException) as exc:  # reset, closed early, a malformed status line
        raise Blind(f"Prometheus at {parts.scheme}://{parts.netloc} did not answer in full: "
                    f"{type(exc).__name__}: {exc}") from exc
    finally:
        raw.close()


def _error_of(body: bytes) -> str:
    try:
        answer = json.loads(body)
        return str(answer.get("error", answer))[:300] if isinstance(answer, dict) else body[:300].decode("replace")
    except ValueError:
        return body[:300].decode("utf-8", "replace") or "(no body)"


class Prometheus:
    def __init__(self, url: str, deadline: Deadline):
        self.url, self.deadline = url.rstrip("/"), deadline

    def vector(self, expr: str, at: float, by: str | None = None, signed: bool = False) -> dict[str, float]:
        """The instant vector of `expr` at `at`, as {value of label `by` (or ""): value}; Blind unless every
        result is well formed, finite, non-negative (unless `signed`) and unique by `by`."""
        params = urllib.parse.urlencode({"query": expr, "time": f"{at:.3f}"})
        body = get(f"{self.url}/api/v1/query?{params}", self.deadline)
        return parse_vector(body, expr, by, signed)


def parse_vector(body: bytes, expr: str, by: str | None = None, signed: bool = False) -> dict[str, float]:
    """An instant query's answer, checked as the module says."""
    try:
        answer = json.loads(body)
    except ValueError as exc:
        raise Blind(f"Prometheus' answer to {expr!r} is not JSON: {exc}") from exc
    if not isinstance(answer, dict) or answer.get("status") != "success":
        error = answer.get("error", answer) if isinstance(answer, dict) else answer
        raise Blind(f"Prometheus refused {expr!r}: {str(error)[:300]}")
    data = answer.get("data")
    if not isinstance(data, dict) or data.get("resultType") != "vector" or not isinstance(data.get("result"), list):
        raise Blind(f"Prometheus' answer to {expr!r} has no vector result (data.resultType vector, data.result a "
                    f"list): {str(data)[:200]}")
    values: dict[str, float] = {}
    for row in data["result"]:
        if not (isinstance(row, dict) and isinstance(row.get("metric"), dict) and isinstance(row.get("value"), list)
                and len(row["value"]) == 2 and isinstance(row["value"][1], str)):
            raise Blind(f"a result of {expr!r} is not a series with a [time, \"value\"] pair: {str(row)[:200]}")
        key = row["metric"].get(by, "") if by else ""
        if not isinstance(key, str):
            raise Blind(f"a result of {expr!r} has a non-text label {by}: {key!r}")
        value = _number(row["value"][1], expr, signed)
        if key in values:
            raise Blind(f"{expr!r} answered two series" + (f" for {by}={key!r}" if by else "")
                        + "; one was expected (two Prometheus servers behind one address, or labels lost?)")
        values[key] = value
    return values


def _number(text: str, expr: str, signed: bool) -> float:
    try:
        value = float(text)
    except ValueError as exc:
        raise Blind(f"{expr!r} answered {text[:40]!r}, which is not a number") from exc
    if not math.isfinite(value):
        raise Blind(f"{expr!r} answered {text}: a count must be finite")
    if abs(value) > MAX_COUNT:
        raise Blind(f"{expr!r} answered {text}, more than {MAX_COUNT:.0e}: not a count of one step")
    if value < 0 and not signed:
        raise Blind(f"{expr!r} answered {text}: a count cannot be negative")
    return value
