"""Compiled event-driven CPU kernel (numba, parallel over samples)."""

from __future__ import annotations

import numba as nb
import numpy as np
from numba import prange

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
