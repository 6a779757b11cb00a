"""The NumPy baseline: both tables in memory, PSI (10 reference-quantile bins) and KS, vectorised over columns."""

from __future__ import annotations

import sys

import numpy as np
import pyarrow.parquet as pq


def main(reference_path: str, current_path: str) -> None:
    reference = np.column_stack([c.to_numpy() for c in pq.read_table(reference_path).columns])
    current = np.column_stack([c.to_numpy() for c in pq.read_table(current_path).columns])
    ref_sorted, cur_sorted = np.sort(reference, axis=0), np.sort(current, axis=0)
    n_ref, n_cur = len(reference), len(current)
    edges = np.quantile(ref_sorted, np.linspace(0, 1, 11)[1:-1], axis=0)  # 9 inner edges per column
    psi, ks = [], []
    for j in range(reference.shape[1]):
        ref_counts = np.diff(np.searchsorted(ref_sorted[:, j], edges[:, j]), prepend=0, append=n_ref)
        cur_counts = np.diff(np.searchsorted(cur_sorted[:, j], edges[:, j]), prepend=0, append=n_cur)
        p, q = np.clip(ref_counts / n_ref, 1e-6, None), np.clip(cur_counts / n_cur, 1e-6, None)
        psi.append(float(np.sum((p - q) * np.log(p / q))))
        points = np.concatenate([ref_sorted[:, j], cur_sorted[:, j]])
        cdf_ref = np.searchsorted(ref_sorted[:, j], points, side="right") / n_ref
        cdf_cur = np.searchsorted(cur_sorted[:, j], points, side="right") / n_cur
        ks.append(float(np.max(np.abs(cdf_ref - cdf_cur))))
    print({"psi": [round(v, 4) for v in psi], "ks": [round(v, 4) for v in ks]})


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
