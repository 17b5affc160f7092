"""Compiled multi-step LIF (001 eq. 1): one pass over T per neuron, forward and BPTT backward.

Layout ``[T, M]`` (M = batch × neurons, contiguous); neurons are split into blocks processed in
parallel, the inner loop runs over a contiguous block and vectorises.
"""

from __future__ import annotations

import math

import numba as nb
import numpy as np
from numba import prange

BLOCK = 2048


@nb.njit(inline="always", fastmath=True)
def _surrogate(x, code, a):
    if code == 0:  # sigmoid
        s = 1.0 / (1.0 + math.exp(-a * x))
        return a * s * (1.0 - s)
    if code == 1:  # arctan
        y = 0.5 * math.pi * a * x
        return 0.5 * a / (1.0 + y * y)
    return max(0.0, a - abs(x)) / (a * a)  # triangle


@nb.njit(parallel=True, fastmath=True, cache=True, nogil=True)
def lif_forward(current, alpha, theta):
    """Returns (spikes, h) with h the membrane after integration at each step."""
    T, M = current.shape
    spikes = np.empty_like(current)
    hs = np.empty_like(current)
    for blk in prange((M + BLOCK - 1) // BLOCK):
        m0 = blk * BLOCK
        m1 = min(M, m0 + BLOCK)
        h = np.zeros(m1 - m0, dtype=current.dtype)
        keep = np.ones(m1 - m0, dtype=current.dtype)  # 1 − z(t−1)
        for t in range(T):
            cur = current[t]
            for k in range(m1 - m0):
                v = keep[k] * alpha * h[k] + cur[m0 + k]
                z = 1.0 if v >= theta else 0.0
                h[k] = v
                keep[k] = 1.0 - z
                hs[t, m0 + k] = v
                spikes[t, m0 + k] = z
    return spikes, hs


@nb.njit(parallel=True, fastmath=True, cache=True, nogil=True)
def lif_backward(grad_spikes, hs, alpha, theta, code, a, detach_reset, grad_start):
    """BPTT from the last step back to ``grad_start``; earlier steps get zero gradient
    (truncated backpropagation, used by S-TP's target windows)."""
    T, M = hs.shape
    grad = np.zeros_like(hs)
    for blk in prange((M + BLOCK - 1) // BLOCK):
        m0 = blk * BLOCK
        m1 = min(M, m0 + BLOCK)
        gh_next = np.zeros(m1 - m0, dtype=hs.dtype)
        for t in range(T - 1, grad_start - 1, -1):
            for k in range(m1 - m0):
                h = hs[t, m0 + k]
                z = 1.0 if h >= theta else 0.0
                gz = grad_spikes[t, m0 + k]
                if not detach_reset:
                    gz -= alpha * gh_next[k] * h
                gh = gz * _surrogate(h - theta, code, a) + gh_next[k] * alpha * (1.0 - z)
                grad[t, m0 + k] = gh
                gh_next[k] = gh
    return grad
