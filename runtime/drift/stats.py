"""Per-feature drift scores over all rows, defined as Evidently 0.7 defines them.

Every method is a distance: higher means more drift, and a feature drifts when its score reaches the
threshold. PSI and Jensen-Shannon bin numeric features into Sturges bins over the combined range (a
reference with at most 20 distinct values is compared value by value, as categorical features are);
Wasserstein is normed by the reference's standard deviation. `ks` is the Kolmogorov-Smirnov
statistic D, not its p-value: with a million rows every p-value is tiny.
"""

from __future__ import annotations

import math

import numpy as np

METHODS = ("psi", "ks", "wasserstein", "jensenshannon")
NUMERIC_ONLY = ("ks", "wasserstein")
# Evidently compares a numeric reference with at most this many distinct values value by value.
DISCRETE_MAX_VALUES = 20


def score(method: str, reference: np.ndarray, current: np.ndarray) -> float:
    """Drift score of one feature. Both arrays hold only valid values (no NaN, inf or null)."""
    if method == "ks":
        from scipy.stats import ks_2samp

        return float(ks_2samp(reference, current, method="asymp").statistic)
    if method == "wasserstein":
        from scipy.stats import wasserstein_distance

        return float(wasserstein_distance(reference, current) / max(float(np.std(reference)), 0.001))
    ref_share, cur_share = binned_shares(reference, current)
    if method == "psi":
        ref_share, cur_share = _fill_zeroes(ref_share), _fill_zeroes(cur_share)
        return float(np.sum((ref_share - cur_share) * np.log(ref_share / cur_share)))
    if method == "jensenshannon":
        from scipy.spatial.distance import jensenshannon

        return float(jensenshannon(ref_share, cur_share))
    raise ValueError(f"unknown drift method {method!r}; known: {', '.join(METHODS)}")


def binned_shares(reference: np.ndarray, current: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Share of each side's rows per bin (numeric) or per distinct value (categorical, or few values)."""
    numeric = reference.dtype.kind in "iuf" and current.dtype.kind in "iuf"
    if numeric and _distinct_more_than(reference, DISCRETE_MAX_VALUES):
        edges = _sturges_edges(reference, current)
        return (np.histogram(reference, edges)[0] / len(reference),
                np.histogram(current, edges)[0] / len(current))
    keys, codes = np.unique(np.concatenate([reference, current]), return_inverse=True)
    ref_counts = np.bincount(codes[: len(reference)], minlength=len(keys))
    cur_counts = np.bincount(codes[len(reference):], minlength=len(keys))
    return ref_counts / len(reference), cur_counts / len(current)


def _distinct_more_than(values: np.ndarray, limit: int) -> bool:
    # Looking at a prefix first avoids sorting a million rows to learn that they are continuous.
    head = values[: 10 * limit]
    return len(np.unique(head)) > limit or len(np.unique(values)) > limit


def _sturges_edges(reference: np.ndarray, current: np.ndarray) -> np.ndarray:
    """numpy.histogram_bin_edges(concatenate([reference, current]), "sturges"), without the copy."""
    low = float(min(reference.min(), current.min()))
    high = float(max(reference.max(), current.max()))
    if low == high:
        low, high = low - 0.5, high + 0.5
    width = (high - low) / (math.log2(len(reference) + len(current)) + 1.0)
    bins = int(math.ceil((high - low) / width))
    return np.linspace(low, high, bins + 1, endpoint=True)


def _fill_zeroes(shares: np.ndarray) -> np.ndarray:
    """Evidently's PSI replaces empty bins by a small share so the logarithm stays finite."""
    filled = shares.astype(float)
    smallest = filled[filled != 0].min()
    filled[filled == 0] = smallest / 10**6 if smallest <= 0.0001 else 0.0001
    return filled


def drifted(score_value: float, threshold: float) -> bool:
    return score_value >= threshold
