"""Evidently's HTML drift report, drawn from a bounded sample but showing the all-rows scores.

Evidently on a full window costs minutes and gigabytes (benchmarks/drift). Its stat tests are
pluggable, so the report runs a registered test that answers with the score `stats` computed over
every row: the drift table and verdicts match the step's decision exactly, and only the
distribution plots come from the sample.
"""

from __future__ import annotations

import os
from pathlib import Path

from runtime.drift.detect import DriftResult, Sample

_NAMES = {"psi": "PSI", "ks": "K-S statistic", "wasserstein": "Wasserstein distance (normed)",
          "jensenshannon": "Jensen-Shannon distance"}


def write_report(result: DriftResult, sample: Sample, path: Path) -> None:
    os.environ.setdefault("DO_NOT_TRACK", "1")  # no usage reporting from pods or laptops
    import pandas as pd
    from evidently import DataDefinition, Dataset, Report
    from evidently.legacy.calculations.stattests.registry import StatTest, register_stattest
    from evidently.legacy.core import ColumnType
    from evidently.presets import DataDriftPreset

    scores = result.scores()

    def all_rows_score(reference: pd.Series, current: pd.Series, feature_type: object,
                       threshold: float) -> tuple[float, bool]:
        value = scores[str(reference.name)]
        return value, value >= threshold

    stat_test = StatTest(
        name=f"mlplat-{result.method}",
        display_name=f"{_NAMES[result.method]}, all {result.reference_rows:,} / {result.current_rows:,} rows",
        allowed_feature_types=[ColumnType.Numerical, ColumnType.Categorical],
        default_threshold=result.threshold,
    )
    # Registered per report: the registry is keyed by name, so this replaces an earlier report's scores.
    register_stattest(stat_test, all_rows_score)
    kinds = {f.feature: f.kind for f in result.features}
    definition = DataDefinition(numerical_columns=[f for f, k in kinds.items() if k == "numeric"],
                                categorical_columns=[f for f, k in kinds.items() if k == "categorical"])
    report = Report([DataDriftPreset(columns=list(kinds), method=stat_test, threshold=result.threshold)])
    snapshot = report.run(Dataset.from_pandas(pd.DataFrame(sample.current), data_definition=definition),
                          Dataset.from_pandas(pd.DataFrame(sample.reference), data_definition=definition))
    path.parent.mkdir(parents=True, exist_ok=True)
    snapshot.save_html(str(path))
