"""Rows to hourly Parquet partitions, in bounded batches.

Rows wait in memory until `batch_rows` of them are buffered or the oldest has waited `flush_seconds`,
then each model's rows of each UTC hour become one file
`<root>/<model>/date=YYYY-MM-DD/hour=HH/part-<first row's time>-<host>-<sequence>.parquet` (the host
keeps two sink replicas from choosing one name). On a local disk a file is written under a hidden
name and renamed, so a reader never sees half of one; on an object store the upload is the commit.
A failed write keeps its rows for the next flush; past `max_rows` buffered (the store unreachable for
long) the oldest rows are dropped and counted, so memory stays bounded.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any


class PartitionWriter:
    def __init__(self, root: str, *, batch_rows: int = 10_000, flush_seconds: float = 60, max_rows: int | None = None,
                 clock: Callable[[], float] = time.monotonic):
        import pyarrow.fs as pafs

        self.filesystem, self.root = pafs.FileSystem.from_uri(root)
        self.local = self.filesystem.type_name == "local"
        self.batch_rows, self.flush_seconds = batch_rows, flush_seconds
        self.max_rows = max_rows or 10 * batch_rows
        self._clock = clock
        # What the sink counts: rows written per model, rows dropped, failed writes.
        self.on_written: Callable[[str, int], None] = lambda model, rows: None
        self.on_dropped: Callable[[int], None] = lambda rows: None
        self.on_error: Callable[[Exception], None] = print
        self._rows: list[tuple[str, dict[str, Any]]] = []  # (model, row), oldest first
        self._since: float | None = None  # when the oldest buffered row arrived
        self._lock = threading.Lock()  # guards _rows and _since
        self._write_lock = threading.Lock()  # one flush at a time
        self._host = socket.gethostname().replace("/", "_")[:63]
        self._sequence = 0

    @property
    def buffered(self) -> int:
        return len(self._rows)

    def add(self, model: str, rows: list[dict[str, Any]]) -> bool:
        """Buffer rows; whether a flush is due (the caller's writer thread runs it)."""
        with self._lock:
            if not self._rows:
                self._since = self._clock()
            self._rows.extend((model, row) for row in rows)
            excess = len(self._rows) - self.max_rows
            if excess > 0:
                del self._rows[:excess]
        if excess > 0:
            self.on_dropped(excess)
        return self.due()

    def due(self) -> bool:
        with self._lock:
            return bool(self._rows) and (len(self._rows) >= self.batch_rows
                                         or self._clock() - (self._since or 0) >= self.flush_seconds)

    def flush(self) -> int:
        """Write everything buffered; returns the rows written. Rows of a failed file go back to the buffer."""
        with self._write_lock:
            with self._lock:
                taken, self._rows, self._since = self._rows, [], None
            groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
            for model, row in taken:
                groups.setdefault((model, _hour(row["timestamp"])), []).append(row)
            written, failed = 0, []
            for (model, hour), rows in sorted(groups.items()):
                try:
                    self._write(model, hour, rows)
                except Exception as exc:  # the store's error types vary (OSError, ArrowException, boto)
                    self.on_error(exc)
                    failed += [(model, row) for row in rows]
                    continue
                written += len(rows)
                self.on_written(model, len(rows))
            if failed:
                with self._lock:
                    self._rows[:0] = failed
                    self._since = self._since if self._since is not None else self._clock()
            return written

    def _write(self, model: str, hour: str, rows: list[dict[str, Any]]) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        table = pa.Table.from_pylist(rows)
        table = table.set_column(table.schema.get_field_index("timestamp"), "timestamp",
                                 table.column("timestamp").cast(pa.timestamp("us", tz="UTC")))
        self._sequence += 1
        folder = f"{self.root.rstrip('/')}/{model}/{hour}"
        first = min(r["timestamp"] for r in rows)
        name = f"part-{first:%Y%m%dT%H%M%S}-{self._host}-{self._sequence:06d}.parquet"
        self.filesystem.create_dir(folder, recursive=True)
        final = f"{folder}/{name}"
        target = f"{folder}/.{name}.tmp" if self.local else final
        with self.filesystem.open_output_stream(target) as stream:
            pq.write_table(table, stream, compression="zstd")
        if target != final:
            self.filesystem.move(target, final)


def _hour(moment: datetime) -> str:
    return f"date={moment:%Y-%m-%d}/hour={moment:%H}"
