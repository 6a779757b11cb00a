"""Point-in-time training frames through Feast's historical retrieval, one row per label row.

Feast's file offline store, given label rows, returns one row per distinct (entity keys, timestamp)
and leaves out a row whose every feature value is older than its view's TTL (or newer than the
label), instead of giving it missing values: training examples would be silently dropped, and the
set biased towards entities with fresh data. So Feast is asked for each distinct (keys, timestamp)
once, and its answer is joined back onto every label row, in their order, rows it left out with
their features missing.
"""

from __future__ import annotations

from typing import Any

TIMESTAMP = "event_timestamp"


def training_frame(store: Any, service: str, labels: Any) -> Any:
    """`labels` (entity keys, `event_timestamp`, label columns) with the service's features as of each
    row's timestamp: a value written after it never reaches the row, one older than the TTL is missing."""
    features = store.get_feature_service(service)
    keys = sorted({key for projection in features.feature_view_projections
                   for key in store.get_feature_view(projection.name).join_keys})
    asked = labels[[*keys, TIMESTAMP]].drop_duplicates().reset_index(drop=True)
    found = store.get_historical_features(entity_df=asked, features=features).to_df()
    columns = [c for c in found.columns if c not in asked.columns]
    return labels.reset_index(drop=True).merge(found[[*keys, TIMESTAMP, *columns]], on=[*keys, TIMESTAMP],
                                               how="left", validate="many_to_one")
