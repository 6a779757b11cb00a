"""Data drift: the reference (training data) against a window of logged features.

    source.py  tabular data read one column at a time
    window.py  the current window: the Parquet files the request logger wrote in the last hours
    stats.py   per-feature drift scores over all rows, as Evidently 0.7 defines them
    detect.py  drift detection over all rows, with the data checks that make a bad window an error
    report.py  Evidently's HTML report, drawn from a bounded sample with the all-rows scores
    push.py    the results to a Pushgateway, where the drift alerts read them

The statistics are computed here on every row, one column at a time (`stats`), with the same
definitions as Evidently's stat tests; Evidently then draws its HTML report from a bounded sample
with those all-rows scores (`report`). That keeps a 1M-row window in bounded memory and seconds,
where Evidently on all rows needs minutes and gigabytes (benchmarks/drift).
"""
