"""The current window: the Parquet files the request logger wrote for a model in the last hours.

Layout under the environment's prediction log: `<team>/<model>/date=YYYY-MM-DD/hour=HH/*.parquet`,
one folder per UTC hour. A window of N hours ending at `now` takes the N complete hours before the
current one; the hour still being written is left for the next run.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from runtime.drift.source import ColumnSource, SourceError, empty_source


def hour_folders(prefix: str, window_seconds: int, now: datetime) -> list[str]:
    end = now.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    hours = max(1, -(-window_seconds // 3600))
    starts = [end - timedelta(hours=h) for h in range(hours, 0, -1)]
    base = prefix.rstrip("/")
    return [f"{base}/date={s:%Y-%m-%d}/hour={s:%H}" for s in starts]


def open_window(label: str, prefix: str, window_seconds: int, now: datetime) -> ColumnSource:
    """The window's Parquet files, oldest hour first, as one source; hours with no folder add nothing."""
    import pyarrow.dataset as ds
    import pyarrow.fs as pafs

    try:
        filesystem, root = pafs.FileSystem.from_uri(prefix)
        files: list[str] = []
        for folder in hour_folders(root, window_seconds, now):
            infos = filesystem.get_file_info(pafs.FileSelector(folder, allow_not_found=True))
            files += sorted(i.path for i in infos if i.type == pafs.FileType.File and i.path.endswith(".parquet"))
        if not files:
            return empty_source(label)
        dataset = ds.dataset(files, format="parquet", filesystem=filesystem)
        return ColumnSource(label, dataset.schema, dataset.count_rows(), _dataset=dataset)
    except (OSError, ValueError) as exc:  # pyarrow's ArrowInvalid is a ValueError
        raise SourceError(f"{label}: cannot read the prediction log at {prefix}: {exc}") from exc
