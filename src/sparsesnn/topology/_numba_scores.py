"""Compiled CH3-L3 (path-based) kernel: cost ∝ Σ_u Σ_{a∈N(u)} (d² + d²), no N×N intermediates.

For each output u (in parallel): DD[u, ·] (common inputs with every other output) is counted
once in an O(n_out) scratch row; for each input a ∈ N(u), TT[a, ·] (common outputs with every
other input) is counted in an O(n_in) scratch row; then every path u–a–b–v adds
[(k_a − TT[a, v])(k_b − DD[b, u])]^(−½) to S[u, v] (notes §2.1 closed form).
"""

from __future__ import annotations

import math

import numba as nb
import numpy as np
from numba import prange


@nb.njit(parallel=True, cache=True, nogil=True)
def ch3_l3_rows(crow, cols, ccol, t_rows, k_out, k_in, n_out, n_in, n_chunks):
    out = np.zeros((n_out, n_in), dtype=np.float64)
    chunk = (n_out + n_chunks - 1) // n_chunks
    for c in prange(n_chunks):
        dd = np.zeros(n_out, dtype=np.int32)
        tt = np.zeros(n_in, dtype=np.int32)
        linked = np.zeros(n_in, dtype=np.bool_)
        for u in range(c * chunk, min(n_out, (c + 1) * chunk)):
            row = out[u]
            for p in range(crow[u], crow[u + 1]):
                a = cols[p]
                linked[a] = True
                for q in range(ccol[a], ccol[a + 1]):
                    dd[t_rows[q]] += 1
            for p in range(crow[u], crow[u + 1]):
                a = cols[p]
                for q in range(ccol[a], ccol[a + 1]):  # TT[a, ·] over outputs of a
                    b = t_rows[q]
                    for r in range(crow[b], crow[b + 1]):
                        tt[cols[r]] += 1
                ka = k_in[a]
                for q in range(ccol[a], ccol[a + 1]):
                    b = t_rows[q]
                    if b == u:
                        continue
                    inv_b = k_out[b] - dd[b]
                    for r in range(crow[b], crow[b + 1]):
                        v = cols[r]
                        if not linked[v]:
                            row[v] += 1.0 / math.sqrt((ka - tt[v]) * inv_b)
                for q in range(ccol[a], ccol[a + 1]):  # reset the scratch row
                    b = t_rows[q]
                    for r in range(crow[b], crow[b + 1]):
                        tt[cols[r]] = 0
            for p in range(crow[u], crow[u + 1]):
                a = cols[p]
                linked[a] = False
                for q in range(ccol[a], ccol[a + 1]):
                    dd[t_rows[q]] = 0
    return out
