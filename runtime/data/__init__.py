"""The data a run reads: datasets by URI, identified by their content, and the example data.

    uris.py      a dataset URI (sklearn://, example://, file://, s3://, gs://) loaded into a DataFrame
    datasets.py  a run's splits, each read once, digested, and recorded on the tracking run
    digests.py   the promotion rule for data identity: one `version` label, one content digest
    example.py   the example specs' event and label tables, generated from a fixed seed

A team's training code reads its data through this package (`from runtime import data`, then
`data.load(uri, target)` and `data.feature_columns(frame, target)`), so those names are kept here.
"""

from runtime.data.uris import DataError, feature_columns, load, load_rows

__all__ = ["DataError", "feature_columns", "load", "load_rows"]
