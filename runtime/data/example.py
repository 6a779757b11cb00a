"""The example specs' event data, generated here from a fixed seed: `example://<table>[?split=train|eval]`.

Nothing is downloaded and nothing binary is committed: the same call gives the same rows, on any
machine. The tables are those the example's feature definitions and models name:

- `customer-transactions`: a daily snapshot per customer (on about 70% of days) of rolling payment
  aggregates, the source of payments' `customer_transactions` feature view;
- `chargeback-labels` and `churn-labels`: entity/label tables (customer_id, event_timestamp, label) of
  payments' chargeback-risk and growth's churn-predictor. Each label is drawn from the features as they
  stood at the label's time, so a point-in-time join can learn it and a leaky one is not needed;
  `split=train` holds the labels before the cut-off day, `split=eval` those after it.
"""

from __future__ import annotations

import functools
import os
import tempfile
from pathlib import Path
from typing import Any

SEED = 20261101
CUSTOMERS = 2_000
DAYS = 90
START = "2026-09-01T00:00:00Z"
CUT_OFF_DAY = 70  # labels before it train, labels from it on evaluate
GENERATOR_VERSION = 1  # part of each written file's name: a changed generator never reads an old file
TABLES = ("customer-transactions", "chargeback-labels", "churn-labels")
_LABELS = {"chargeback-labels": ("charged_back", 6_000, 1), "churn-labels": ("churned", 6_000, 2)}


class ExampleDataError(ValueError):
    """An example:// URI that names no table or split."""


def table(name: str, split: str = "all") -> Any:
    """One of TABLES as a DataFrame; label tables by split (train, eval or all)."""
    if name not in TABLES:
        raise ExampleDataError(f"unknown example table {name!r}; known: {', '.join(TABLES)}")
    if split not in ("train", "eval", "all"):
        raise ExampleDataError(f"split must be train, eval or all, not {split!r}")
    if name == "customer-transactions":
        return _transactions().copy()
    labels = _labels(name)
    day = (labels["event_timestamp"] - labels["event_timestamp"].min().normalize()).dt.days
    if split == "all":
        return labels.copy()
    chosen = day < CUT_OFF_DAY if split == "train" else day >= CUT_OFF_DAY
    return labels[chosen].reset_index(drop=True)


def parquet_path(name: str, folder: Path) -> Path:
    """The table written once as Parquet under `folder` (what Feast's file source reads), atomically, so
    that concurrent steps never read half a file."""
    path = folder / f"{name}-v{GENERATOR_VERSION}.parquet"
    if not path.is_file():
        folder.mkdir(parents=True, exist_ok=True)
        handle, partial = tempfile.mkstemp(prefix=f".{name}-", suffix=".parquet", dir=folder)
        os.close(handle)
        try:
            table(name).to_parquet(partial, index=False)
            os.replace(partial, path)
        finally:
            Path(partial).unlink(missing_ok=True)
    return path


@functools.cache
def _transactions() -> Any:
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(SEED)
    engagement = rng.uniform(0.05, 1.0, CUSTOMERS)
    fading = rng.uniform(0, 1, CUSTOMERS) < 0.3  # these customers' activity falls away over the 90 days
    spend = rng.lognormal(3.0, 0.6, CUSTOMERS)
    grid = np.meshgrid(np.arange(CUSTOMERS), np.arange(DAYS), indexing="ij")
    customer, day = grid[0].ravel(), grid[1].ravel()
    observed = rng.uniform(0, 1, customer.size) < 0.7
    customer, day = customer[observed], day[observed]
    level = engagement[customer] * np.where(fading[customer], np.clip(1.2 - day / 60, 0.05, 1.0), 1.0)
    count = rng.poisson(12 * level)
    average = spend[customer] * rng.lognormal(0, 0.25, customer.size)
    seconds = rng.integers(0, 86_400, customer.size)
    frame = pd.DataFrame({
        "customer_id": (customer + 1).astype("int64"),
        "event_timestamp": pd.Timestamp(START) + pd.to_timedelta(day * 86_400 + seconds, unit="s"),
        "txn_count_7d": count.astype("int64"),
        "txn_amount_7d": np.round(count * average, 2),
        "avg_amount_30d": np.round(average, 2),
        "days_active_30d": rng.binomial(30, np.clip(level, 0, 1)).astype("int64"),
    })
    return frame.sort_values(["event_timestamp", "customer_id"], kind="stable").reset_index(drop=True)


@functools.cache
def _labels(name: str) -> Any:
    """Label rows at random times from day 10 on, each drawn from its customer's features as of then."""
    import numpy as np
    import pandas as pd

    column, rows, stream = _LABELS[name]
    rng = np.random.default_rng([SEED, stream])
    seconds = rng.integers(10 * 86_400, DAYS * 86_400, rows)
    labels = pd.DataFrame({"customer_id": rng.integers(1, CUSTOMERS + 1, rows).astype("int64"),
                           "event_timestamp": pd.Timestamp(START) + pd.to_timedelta(seconds, unit="s")})
    labels = labels.sort_values(["event_timestamp", "customer_id"], kind="stable").reset_index(drop=True)
    known = pd.merge_asof(labels, _transactions(), on="event_timestamp",
                          by="customer_id", direction="backward", tolerance=pd.Timedelta(days=30))
    if name == "chargeback-labels":
        logit = 4.0 * (np.log(known["avg_amount_30d"].fillna(20.0)) - 3.9) - 0.1 * known["days_active_30d"].fillna(0)
    else:
        logit = 2.5 - 0.45 * known["txn_count_7d"].fillna(0) - 0.12 * known["days_active_30d"].fillna(0)
    known[column] = (rng.uniform(0, 1, rows) < 1 / (1 + np.exp(-logit))).astype("int64")
    return known[["customer_id", "event_timestamp", column]]
