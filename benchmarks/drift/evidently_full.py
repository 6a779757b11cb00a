"""Evidently 0.7 on every row: DataDriftPreset with PSI, HTML report saved (the cost mlplat avoids)."""

from __future__ import annotations

import os
import sys
import tempfile

import pyarrow.parquet as pq


def main(reference_path: str, current_path: str) -> None:
    os.environ.setdefault("DO_NOT_TRACK", "1")
    from evidently import DataDefinition, Dataset, Report
    from evidently.presets import DataDriftPreset

    reference = pq.read_table(reference_path).to_pandas()
    current = pq.read_table(current_path).to_pandas()
    definition = DataDefinition(numerical_columns=list(reference.columns))
    snapshot = Report([DataDriftPreset(method="psi", threshold=0.2)]).run(
        Dataset.from_pandas(current, data_definition=definition),
        Dataset.from_pandas(reference, data_definition=definition))
    snapshot.save_html(os.path.join(tempfile.gettempdir(), "evidently-full-report.html"))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
