"""A version's features read by entity key from the environment's Feast feature server (`feast serve`,
its HTTP API): what the model server (runtime.serving.MlplatModel) reads for requests that carry
entity keys, and checks the features a request carries against.

The model server's environment is seldon-core 1.18's (protobuf 3), where Feast itself cannot be
installed; the feature server runs from the runtime image, which has Feast, and this client needs only
the standard library. Feast does not apply a view's TTL online, so the age of each value is checked
here against its view's TTL, on an injectable clock. A missing entity or value, a stale one and a sent
value that differs from the online one are errors that name the entity and features, never a silent
default.
"""

from __future__ import annotations

import json
import math
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from compiler.runtime_contract import duration_seconds

MISSING, STALE, UNREACHABLE, MISMATCH = "missing", "stale", "unreachable", "mismatch"
# A sent float equals the online one within this relative tolerance: a client may hold it as float32
RELATIVE_TOLERANCE = 1e-6
_KEY_TYPES = {"int64": int, "string": str}  # an entity's valueType -> the JSON value its key takes


class FeatureLookupError(Exception):
    """The features of some requested entities could not be served, or differ from what the request sent;
    `reason` is one of MISSING, STALE, UNREACHABLE or MISMATCH (the counted error's label)."""

    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason, self.message = reason, message


@dataclass(frozen=True)
class OnlineFeatures:
    url: str  # the feature server, e.g. http://127.0.0.1:6566
    service: str
    features: tuple[str, ...]  # in the order the model was trained on them
    keys: tuple[str, ...]  # the entities' join keys
    ttl_seconds: dict[str, int]  # feature -> its view's TTL
    key_types: dict[str, str] = field(default_factory=dict)  # join key -> its entity's valueType
    clock: Callable[[], float] = field(default=time.time, compare=False)
    timeout_seconds: float = 2.0

    @classmethod
    def from_definitions(cls, url: str, definitions: dict[str, Any], service: str, **options: Any) -> OnlineFeatures:
        """The client for a service of rendered definitions (environments/<env>/features/definitions.json)."""
        from runtime.features.training import service_columns

        served, keys = service_columns(definitions, service)
        ttl = {v["name"]: duration_seconds(v["ttl"]) for v in definitions.get("featureViews", [])}
        types = {e["joinKey"]: e.get("valueType", "int64") for e in definitions.get("entities", [])}
        return cls(url.rstrip("/"), service, tuple(f["name"] for f in served), tuple(keys),
                   {f["name"]: ttl[f["view"]] for f in served}, {k: types[k] for k in keys}, **options)

    def check_keys(self, entities: dict[str, list[Any]]) -> None:
        """ValueError naming the first key value that is not of its entity's type (an int64 key takes whole
        numbers, a string key strings): the feature server would answer it with an opaque 500."""
        for key, values in entities.items():
            wanted = _KEY_TYPES.get(self.key_types.get(key, "int64"), int)
            for row, value in enumerate(values):
                if isinstance(value, bool) or not isinstance(value, wanted):
                    raise ValueError(f"row {row}: entity key {key} is {value!r}; it takes "
                                     + ("whole numbers" if wanted is int else "strings"))

    def lookup(self, entities: dict[str, list[Any]]) -> list[list[Any]]:
        """One row of feature values per entity, in `features` order; every problem of every row in one error."""
        unknown = sorted(set(entities) - set(self.keys))
        absent = [k for k in self.keys if k not in entities]
        if unknown or absent:
            raise ValueError(f"entity keys must be exactly {', '.join(self.keys)}"
                             + (f"; unknown: {', '.join(unknown)}" if unknown else "")
                             + (f"; missing: {', '.join(absent)}" if absent else ""))
        answer = self._post({"feature_service": self.service, "entities": entities, "full_feature_names": False})
        names = answer["metadata"]["feature_names"]
        columns = {name: result for name, result in zip(names, answer["results"], strict=True)}
        rows = len(next(iter(entities.values())))
        now = self.clock()
        missing, stale = [], []
        for row in range(rows):
            who = ", ".join(f"{k}={entities[k][row]}" for k in self.keys)
            lost = [f for f in self.features if columns[f]["statuses"][row] != "PRESENT"
                    or columns[f]["values"][row] is None]
            old = [f for f in self.features if f not in lost
                   and now - epoch_seconds(columns[f]["event_timestamps"][row]) > self.ttl_seconds[f]]
            if lost:
                missing.append(f"{who}: {', '.join(lost)}")
            if old:
                stale.append(f"{who}: {', '.join(old)}")
        if missing:
            raise FeatureLookupError(MISSING, "no online value (an unknown entity, or a view not materialised) for "
                                     + "; ".join(missing[:10]) + _more(missing))
        if stale:
            raise FeatureLookupError(STALE, "online values older than their view's TTL (materialisation is behind) "
                                     "for " + "; ".join(stale[:10]) + _more(stale))
        return [[columns[f]["values"][row] for f in self.features] for row in range(rows)]

    def compare(self, entities: dict[str, list[Any]], names: list[str], sent: list[list[Any]],
                online: list[list[Any]]) -> None:
        """MISMATCH naming each entity and feature whose sent value differs from the online one (rows of the
        features `names`, in that order): the training-serving skew a team that sends its features wants refused."""
        differ = []
        for row, (ours, theirs) in enumerate(zip(sent, online, strict=True)):
            wrong = [f"{name}={mine!r} (online {stored!r})" for name, mine, stored in zip(
                names, ours, theirs, strict=True) if not _same(mine, stored)]
            if wrong:
                who = ", ".join(f"{k}={entities[k][row]}" for k in self.keys)
                differ.append(f"{who}: {', '.join(wrong)}")
        if differ:
            raise FeatureLookupError(MISMATCH, "sent features differ from the online store's values for "
                                     + "; ".join(differ[:10]) + _more(differ))

    def warm_up(self, seconds: float, sleep: Callable[[float], None] = time.sleep) -> int:
        """Until the feature server answers a lookup (of one entity that need not exist), within `seconds`; the
        tries it took. The model server calls it while it loads, so that it reports ready, and takes traffic,
        only once the feature server does: its first lookup after a start loads Feast's registry and store,
        slower than a request's timeout. RuntimeError where it never answers (the model server does not start)."""
        probe = {key: [_KEY_TYPES.get(self.key_types.get(key, "int64"), int)()] for key in self.keys}
        body = json.dumps({"feature_service": self.service, "entities": probe, "full_feature_names": False}).encode()
        give_up, tries, failure = time.monotonic() + seconds, 0, None
        while (left := give_up - time.monotonic()) > 0:
            tries += 1
            request = urllib.request.Request(f"{self.url}/get-online-features", data=body,
                                             headers={"Content-Type": "application/json"})
            try:
                with urllib.request.urlopen(request, timeout=left) as response:
                    json.loads(response.read())
                    return tries
            except (urllib.error.URLError, OSError, ValueError) as exc:  # not up yet, or still loading
                failure = exc
            sleep(min(0.5, max(give_up - time.monotonic(), 0)))
        raise RuntimeError(f"the feature server at {self.url} did not answer a lookup within {seconds:g} s "
                           f"(MLPLAT_FEATURE_READY_SECONDS): {failure}")

    def _post(self, body: dict[str, Any]) -> dict[str, Any]:
        request = urllib.request.Request(f"{self.url}/get-online-features", data=json.dumps(body).encode(),
                                         headers={"Content-Type": "application/json"})
        failure: Exception | None = None
        # Two tries: a read is idempotent, and gunicorn (under `feast serve`) recycles its worker every
        # --max-requests requests, closing the connection of the request in flight.
        for _ in range(2):
            try:
                with urllib.request.urlopen(request, timeout=self.timeout_seconds) as response:
                    return json.loads(response.read())
            except urllib.error.HTTPError as exc:  # it answered: asking again would get the same answer
                raise FeatureLookupError(UNREACHABLE, f"the feature server at {self.url} answered {exc.code}: "
                                         f"{exc.read()[:500].decode(errors='replace')}") from exc
            except (urllib.error.URLError, OSError, ValueError) as exc:
                failure = exc
        raise FeatureLookupError(UNREACHABLE, f"the feature server at {self.url} did not answer: {failure}"
                                 ) from failure


def _same(sent: Any, stored: Any) -> bool:
    if isinstance(sent, int | float) and isinstance(stored, int | float) and not isinstance(sent, bool):
        return math.isclose(sent, stored, rel_tol=RELATIVE_TOLERANCE, abs_tol=1e-12)
    return sent == stored


def epoch_seconds(timestamp: str) -> float:
    """An ISO 8601 time (Feast's, with a Z) as seconds since the epoch."""
    return datetime.fromisoformat(timestamp.replace("Z", "+00:00")).timestamp()


def _more(items: list[str]) -> str:
    return f"; and {len(items) - 10} more" if len(items) > 10 else ""
