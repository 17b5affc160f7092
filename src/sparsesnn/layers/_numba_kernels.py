"""Compiled CPU kernels (numba, parallel) for sparse × dense products.

Layouts are feature-major: ``XT`` is ``[n_in, N]`` and results are ``[n_out, N]`` so the inner
loops run over N contiguous columns and vectorise (one broadcast value × a contiguous strip).
"""

from __future__ import annotations

import numba as nb
import numpy as np
from numba import prange

TILE = 32  # columns of N per strip: a 4096-row strip of XT is 512 KiB, about one L2


@nb.njit(parallel=True, fastmath=True, cache=True, nogil=True)
def csr_times_dense(crow, col, val, XT, n_out):
    """``YT = W @ XT`` for CSR ``W`` (``n_out`` rows) and dense ``XT`` ``[n_in, N]``."""
    N = XT.shape[1]
    YT = np.empty((n_out, N), dtype=XT.dtype)
    n_tiles = (N + TILE - 1) // TILE
    for job in prange(n_out * n_tiles):
        t = job // n_out
        o = job - t * n_out
        n0 = t * TILE
        w = min(TILE, N - n0)
        acc = np.zeros(TILE, dtype=XT.dtype)
        for p in range(crow[o], crow[o + 1]):
            v = val[p]
            src = XT[col[p]]
            for k in range(w):
                acc[k] += v * src[n0 + k]
        for k in range(w):
            YT[o, n0 + k] = acc[k]
    return YT


@nb.njit(parallel=True, fastmath=True, cache=True, nogil=True)
def sampled_dot(rows, cols, GT, XT):
    """``out[p] = GT[rows[p]] · XT[cols[p]]`` — the value gradient of a sparse layer."""
    nnz = rows.shape[0]
    N = GT.shape[1]
    out = np.empty(nnz, dtype=GT.dtype)
    for p in prange(nnz):
        a = GT[rows[p]]
        b = XT[cols[p]]
        s = 0.0
        for k in range(N):
            s += a[k] * b[k]
        out[p] = s
    return out


@nb.njit(parallel=True, fastmath=True, cache=True, nogil=True)
def event_driven(t_crow, t_col, t_val, X, n_out):
    """``Y = X @ Wᵀ`` for binary ``X`` ``[N, n_in]``: each active input adds its out-links.

    Cost ∝ active inputs × their out-degree; ``t_*`` is the CSR of Wᵀ (links grouped by input).
    """
    N, n_in = X.shape
    Y = np.zeros((N, n_out), dtype=t_val.dtype)
    for n in prange(N):
        x = X[n]
        y = Y[n]
        for i in range(n_in):
            if x[i] != 0:
                for p in range(t_crow[i], t_crow[i + 1]):
                    y[t_col[p]] += t_val[p]
    return Y
