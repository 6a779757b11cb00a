"""seldon-core's metrics store, patched where it is slow, and the exception it answers with.

SeldonMetrics.update is wrapped (update_if_any): serialised, and skipped for nothing to record, since
seldon-core 1.18 pays two IPC round-trips to its multiprocessing manager even for an empty list. The
store is remembered from its making, so counts can be handed over before any request succeeded
(store()). BadRequest is seldon-core's SeldonMicroserviceException: a status code and a reason with the
message; outside the serving environment a stand-in with the same fields, so the model class imports
and tests without seldon-core.
"""

from __future__ import annotations

import threading
from typing import Any

_seldon_metrics: Any = None  # seldon-core's SeldonMetrics of this process, once made (None outside seldon-core)
_update_lock = threading.Lock()  # the flush thread and request threads hand counts over one at a time


def store() -> Any:
    """This process' SeldonMetrics, or None before seldon-core made one (and outside seldon-core)."""
    return _seldon_metrics


def update_if_any(store: Any, custom_metrics: list, method: str) -> None:
    """SeldonMetrics.update, serialised, and skipped for nothing to record (seldon-core 1.18 pays two IPC
    round-trips even for an empty list). Its read-modify-write of the worker's counters spans two locks
    of its own, so two concurrent hand-overs could lose one: ours serialises them."""
    global _seldon_metrics
    _seldon_metrics = store  # the worker's store, for the flush thread (MlplatModel.flush_idle)
    if custom_metrics and _seldon_update is not None:
        with _update_lock:
            _seldon_update(store, custom_metrics, method)


try:  # present in the serving image; the class is also importable (and testable) without it
    from seldon_core.flask_utils import SeldonMicroserviceException as BadRequest
    from seldon_core.metrics import SeldonMetrics

    _seldon_update = SeldonMetrics.update
    SeldonMetrics.update = update_if_any
    _seldon_init = SeldonMetrics.__init__

    def _remember_store(store: Any, *args: Any, **kwargs: Any) -> None:
        """The store known from its making (before the workers fork), so that a refused request's counts can
        be handed over before any request has succeeded."""
        global _seldon_metrics
        _seldon_init(store, *args, **kwargs)
        _seldon_metrics = store

    SeldonMetrics.__init__ = _remember_store
except ImportError:  # pragma: no cover - exercised only outside the serving environment
    _seldon_update = None

    class BadRequest(Exception):  # type: ignore[no-redef]
        def __init__(self, message: str, status_code: int = 400, reason: str = "MICROSERVICE_BAD_DATA"):
            super().__init__(message)
            self.message, self.status_code, self.reason = message, status_code, reason
