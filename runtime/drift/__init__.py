"""Data drift: the reference (training data) against a window of logged features.

The statistics are computed here on every row, one column at a time (`stats`), with the same
definitions as Evidently's stat tests; Evidently then draws its HTML report from a bounded sample
with those all-rows scores (`report`). That keeps a 1M-row window in bounded memory and seconds,
where Evidently on all rows needs minutes and gigabytes (benchmarks/drift).
"""
