"""Rows to hourly Parquet partitions, in bounded batches.

Rows wait in memory until `batch_rows` of them are buffered or the oldest has waited `flush_seconds`,
then each model's rows of each UTC hour become files of at most `batch_rows` rows
`<root>/<model>/date=YYYY-MM-DD/hour=HH/part-<first row's time>-<host>-<sequence>.parquet` (the host
keeps two sink replicas from choosing one name). A file's columns are the union of its rows' columns
(a row without one has it null), so a request with other features than the rows before it loses none.
On a local disk a file is written under a hidden name and renamed, so a reader never sees half of one,
and a write that fails (a full disk) removes its hidden file; on an object store the upload is the
commit. A failed write keeps its rows for the next flush; past `max_rows` rows or `max_bytes` of them
buffered (the store unreachable or full for long) the oldest rows are dropped and counted, so memory
stays bounded. A row counts as written only once the file holding it is in place.
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
                 max_bytes: int = 256 * 1024 * 1024, clock: Callable[[], float] = time.monotonic):
        import pyarrow.fs as pafs

        self.filesystem, self.root = pafs.FileSystem.from_uri(root)
        self.local = self.filesystem.type_name == "local"
        self.batch_rows, self.flush_seconds = batch_rows, flush_seconds
        self.max_rows = max_rows or 10 * batch_rows
        self.max_bytes = max_bytes
        self._clock = clock
        # What the sink counts: rows written per model, rows dropped, failed writes.
        self.on_written: Callable[[str, int], None] = lambda model, rows: None
        self.on_dropped: Callable[[int], None] = lambda rows: None
        self.on_error: Callable[[Exception], None] = print
        self._rows: list[tuple[str, dict[str, Any], int]] = []  # (model, row, its size), oldest first
        self._bytes = 0  # the buffered rows' sizes summed
        self._since: float | None = None  # when the oldest buffered row arrived
        self._lock = threading.Lock()  # guards _rows, _bytes and _since
        self._write_lock = threading.Lock()  # one flush at a time
        self._host = socket.gethostname().replace("/", "_")[:63]
        self._sequence = 0

    @property
    def buffered(self) -> int:
        return len(self._rows)

    @property
    def buffered_bytes(self) -> int:
        return self._bytes

    def add(self, model: str, rows: list[dict[str, Any]]) -> bool:
        """Buffer rows; whether a flush is due (the caller's writer thread runs it)."""
        with self._lock:
            if not self._rows:
                self._since = self._clock()
            for row in rows:
                size = row_bytes(row)
                self._rows.append((model, row, size))
                self._bytes += size
            dropped = self._bound()
        if dropped:
            self.on_dropped(dropped)
        return self.due()

    def _bound(self) -> int:
        """Drop the oldest rows past max_rows or max_bytes; how many. Under the lock."""
        dropped, count, size = 0, len(self._rows), self._bytes
        while dropped < count and (count - dropped > self.max_rows or size > self.max_bytes):
            size -= self._rows[dropped][2]
            dropped += 1
        del self._rows[:dropped]
        self._bytes = size
        return dropped

    def due(self) -> bool:
        with self._lock:
            return bool(self._rows) and (len(self._rows) >= self.batch_rows
                                         or self._clock() - (self._since or 0) >= self.flush_seconds)

    def flush(self) -> int:
        """Write everything buffered; returns the rows written. Rows of a failed file go back to the buffer."""
        with self._write_lock:
            with self._lock:
                taken, self._rows, self._since, self._bytes = self._rows, [], None, 0
            groups: dict[tuple[str, str], list[tuple[str, dict[str, Any], int]]] = {}
            for entry in taken:
                groups.setdefault((entry[0], _hour(entry[1]["timestamp"])), []).append(entry)
            # at most batch_rows a file: after failed writes the buffer is larger than a batch, and a store with
            # little room left (a nearly full disk) still takes what fits
            chunks = [((model, hour), entries[start:start + self.batch_rows])
                      for (model, hour), entries in sorted(groups.items())
                      for start in range(0, len(entries), self.batch_rows)]
            written, failed = 0, []
            for (model, hour), entries in chunks:
                try:
                    self._write(model, hour, [row for _, row, _ in entries])
                except Exception as exc:  # the store's error types vary (OSError, ArrowException, boto)
                    self.on_error(exc)
                    failed += entries
                    continue
                written += len(entries)
                self.on_written(model, len(entries))
            if failed:
                with self._lock:
                    self._rows[:0] = failed
                    self._bytes += sum(size for _, _, size in failed)
                    self._since = self._since if self._since is not None else self._clock()
                    dropped = self._bound()
                if dropped:
                    self.on_dropped(dropped)
            return written

    def _write(self, model: str, hour: str, rows: list[dict[str, Any]]) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        columns = list(dict.fromkeys(name for row in rows for name in row))  # every row's, first seen first
        table = pa.table({name: [row.get(name) for row in rows] for name in columns})
        table = table.set_column(table.schema.get_field_index("timestamp"), "timestamp",
                                 table.column("timestamp").cast(pa.timestamp("us", tz="UTC")))
        self._sequence += 1
        folder = f"{self.root.rstrip('/')}/{model}/{hour}"
        first = min(r["timestamp"] for r in rows)
        name = f"part-{first:%Y%m%dT%H%M%S}-{self._host}-{self._sequence:06d}.parquet"
        self.filesystem.create_dir(folder, recursive=True)
        final = f"{folder}/{name}"
        target = f"{folder}/.{name}.tmp" if self.local else final
        try:
            with self.filesystem.open_output_stream(target) as stream:
                pq.write_table(table, stream, compression="zstd")
            if target != final:
                self.filesystem.move(target, final)
        except BaseException:
            if target != final:  # a half-written hidden file (a full disk): gone, so that the next one has room
                try:
                    self.filesystem.delete_file(target)
                except Exception:  # noqa: BLE001 - never written at all
                    pass
            raise


def row_bytes(row: dict[str, Any]) -> int:
    """What a buffered row costs in memory, roughly: a dict's slots, its keys, and its values' objects."""
    return 232 + sum(len(key) + 49 + (len(value) + 49 if isinstance(value, str) else 32)
                     for key, value in row.items())


def _hour(moment: datetime) -> str:
    return f"date={moment:%Y-%m-%d}/hour={moment:%H}"
