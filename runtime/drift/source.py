"""Tabular data the drift step reads one column at a time.

Parquet (a file, a folder, or the files of a window: runtime.drift.window) is read column by column, so memory stays
bounded by one column whatever the width; CSV has no column index and is read once, its monitored
columns only; `sklearn://` and `example://` datasets come through runtime.data.uris.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse


class SourceError(Exception):
    """The data cannot be opened at all (missing file, unreadable format)."""


@dataclass
class ColumnSource:
    """Columns of a table, read on demand."""

    label: str
    schema: Any  # pyarrow.Schema
    num_rows: int
    _dataset: Any = None  # pyarrow.dataset.Dataset, read per column
    _table: Any = None  # pyarrow.Table, already in memory

    @property
    def columns(self) -> list[str]:
        return list(self.schema.names)

    def table(self) -> Any:
        """Every column as one pyarrow.Table (for narrow tables such as logged predictions)."""
        return self._table if self._table is not None else self._dataset.to_table()

    def column(self, name: str) -> Any:
        """The column as a pyarrow ChunkedArray."""
        if self._table is not None:
            return self._table.column(name)
        return self._dataset.to_table(columns=[name]).column(name)


def table_source(label: str, table: Any) -> ColumnSource:
    """A pyarrow.Table already in memory."""
    return ColumnSource(label, table.schema, table.num_rows, _table=table)


def empty_source(label: str) -> ColumnSource:
    import pyarrow as pa

    return table_source(label, pa.table({}))


def training_reference(spec: Any) -> ColumnSource:
    """The frame a feature-service model was trained on (its label table joined with its features)."""
    import pyarrow as pa

    from runtime.data.datasets import load_split
    from runtime.data.uris import DataError

    try:
        return table_source("reference", pa.Table.from_pandas(load_split(spec, "train").frame, preserve_index=False))
    except DataError as exc:
        raise SourceError(f"reference: {exc}") from exc


def open_source(label: str, location: str, columns: list[str], target: str = "target") -> ColumnSource:
    """Open a file, folder or URI without reading its rows yet."""
    import pyarrow as pa
    import pyarrow.dataset as ds

    parsed = urlparse(location)
    if parsed.scheme in ("sklearn", "example"):
        from runtime.data.uris import DataError, load

        try:
            table = pa.Table.from_pandas(load(location, target), preserve_index=False)
        except DataError as exc:
            raise SourceError(f"{label}: {exc}") from exc
        return table_source(label, table)
    path = unquote(parsed.path) if parsed.scheme == "file" else location
    if not parsed.scheme or parsed.scheme == "file":
        if not Path(path).exists():
            raise SourceError(f"{label}: no such file or folder: {path}")
    try:
        if path.endswith(".csv"):
            return _csv(label, path, columns)
        return _dataset(label, ds.dataset(path, format="parquet"))
    except (pa.ArrowInvalid, OSError) as exc:
        raise SourceError(f"{label}: cannot read {location}: {exc}") from exc


def _dataset(label: str, dataset: Any) -> ColumnSource:
    return ColumnSource(label, dataset.schema, dataset.count_rows(), _dataset=dataset)


def _csv(label: str, path: str, columns: list[str]) -> ColumnSource:
    import pyarrow.csv as csv

    header = csv.open_csv(path).schema
    wanted = [c for c in columns if c in header.names]
    table = csv.read_csv(path, convert_options=csv.ConvertOptions(include_columns=wanted))
    # The schema of the whole file, so a renamed column is still seen (and named) as present.
    return ColumnSource(label, header if not wanted else _merge(header, table.schema), table.num_rows, _table=table)


def _merge(header: Any, read: Any) -> Any:
    """The header's column names with the types the full read inferred for the columns it read."""
    import pyarrow as pa

    return pa.schema([read.field(n) if n in read.names else header.field(n) for n in header.names])
