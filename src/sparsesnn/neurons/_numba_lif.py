"""Compiled multi-step LIF (001 eq. 1): one pass over T per neuron, forward and BPTT backward.

Layout ``[T, M]`` (M = batch × neurons, contiguous); neurons are split into blocks processed in
parallel, the inner loop runs over contiguous 1-D slices and vectorises. The scalars are cast to
the arrays' dtype first: float64 constants against float32 arrays make every element a
round-trip through float64, and with 2-D indexing the loop did not vectorise (5× slower).
"""

from __future__ import annotations

import math

import numba as nb
import numpy as np
from numba import prange

BLOCK = 2048


# Surrogate derivatives σ'(x) (same as surrogate.py), every constant in the arrays' dtype: a
# float64 literal would promote the whole loop to float64. ``pi_a`` = π·a/2.
@nb.njit(inline="always", fastmath=True)
def _sigmoid(x, a, pi_a, one, zero):
    s = one / (one + math.exp(-a * x))
    return a * s * (one - s)


@nb.njit(inline="always", fastmath=True)
def _arctan(x, a, pi_a, one, zero):
    y = pi_a * x
    return a / (one + one) / (one + y * y)


@nb.njit(inline="always", fastmath=True)
def _triangle(x, a, pi_a, one, zero):
    return max(zero, a - abs(x)) / (a * a)


@nb.njit(inline="always", fastmath=True)
def _bptt(g, h, gh_next, dsig, reset, al, th, one, zero):
    """∂L/∂h(t) from ∂L/∂z(t), σ'(h(t) − θ) and ∂L/∂h(t+1); h(t+1) depends on z(t) through the
    reset, ∂h(t+1)/∂z(t) = −α·h(t) (``reset`` = α, or 0 when detached)."""
    z = one if h >= th else zero
    return (g - reset * gh_next * h) * dsig + gh_next * al * (one - z)


@nb.njit(parallel=True, fastmath=True, cache=True, nogil=True)
def lif_forward(current, T, alpha, theta):
    """Returns (spikes, h) ``[T, M]`` with h the membrane after integration at each step;
    ``current`` is ``[T, M]``, or ``[1, M]`` held for all T steps (read in place, never copied)."""
    M = current.shape[1]
    held = current.shape[0] == 1
    one, zero = current.dtype.type(1.0), current.dtype.type(0.0)
    a, th = current.dtype.type(alpha), current.dtype.type(theta)
    spikes = np.empty((T, M), dtype=current.dtype)
    hs = np.empty((T, M), dtype=current.dtype)
    for blk in prange((M + BLOCK - 1) // BLOCK):
        m0 = blk * BLOCK
        m1 = min(M, m0 + BLOCK)
        h = np.zeros(m1 - m0, dtype=current.dtype)
        keep = np.ones(m1 - m0, dtype=current.dtype)  # 1 − z(t−1)
        for t in range(T):
            cur = current[0 if held else t, m0:m1]
            h_t, z_t = hs[t, m0:m1], spikes[t, m0:m1]
            for k in range(m1 - m0):
                v = keep[k] * a * h[k] + cur[k]
                z = one if v >= th else zero
                h[k] = v
                keep[k] = one - z
                h_t[k] = v
                z_t[k] = z
    return spikes, hs


@nb.njit(parallel=True, fastmath=True, cache=True, nogil=True)
def lif_backward(grad_spikes, hs, alpha, theta, code, a, detach_reset, grad_start, held):
    """BPTT from the last step back to ``grad_start``; earlier steps get zero gradient
    (truncated backpropagation, used by S-TP's target windows). ``held``: the current was one
    ``[1, M]`` row held for every step, so its gradient is the sum over steps, ``[1, M]``,
    accumulated in the same pass instead of written per step and summed afterwards.
    ``grad_spikes`` is ``[T, M]``, or ``[1, M]`` when ∂L/∂z is the same at every step."""
    T, M = hs.shape
    steady = grad_spikes.shape[0] == 1  # the same ∂L/∂z at every step
    one, zero = hs.dtype.type(1.0), hs.dtype.type(0.0)
    al, th, sa = hs.dtype.type(alpha), hs.dtype.type(theta), hs.dtype.type(a)
    reset = zero if detach_reset else al
    pi_a = hs.dtype.type(0.5 * math.pi * a)
    grad = np.zeros((1, M) if held else (T, M), dtype=hs.dtype)
    for blk in prange((M + BLOCK - 1) // BLOCK):
        m0 = blk * BLOCK
        m1 = min(M, m0 + BLOCK)
        gh_next = np.zeros(m1 - m0, dtype=hs.dtype)
        for t in range(T - 1, grad_start - 1, -1):
            row = grad[0 if held else t, m0:m1]
            h_t, g_t = hs[t, m0:m1], grad_spikes[0 if steady else t, m0:m1]
            # one loop per surrogate: a branch on ``code`` inside the loop stops it vectorising (10×)
            if code == 1:
                for k in range(m1 - m0):
                    gh = _bptt(g_t[k], h_t[k], gh_next[k], _arctan(h_t[k] - th, sa, pi_a, one, zero), reset, al, th, one, zero)
                    row[k] += gh
                    gh_next[k] = gh
            elif code == 0:
                for k in range(m1 - m0):
                    gh = _bptt(g_t[k], h_t[k], gh_next[k], _sigmoid(h_t[k] - th, sa, pi_a, one, zero), reset, al, th, one, zero)
                    row[k] += gh
                    gh_next[k] = gh
            else:
                for k in range(m1 - m0):
                    gh = _bptt(g_t[k], h_t[k], gh_next[k], _triangle(h_t[k] - th, sa, pi_a, one, zero), reset, al, th, one, zero)
                    row[k] += gh
                    gh_next[k] = gh
    return grad
