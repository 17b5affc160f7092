"""Schedules for the removal fraction ζ and the target sparsity over topology updates."""

from __future__ import annotations

import math


def cosine_zeta(zeta0: float, step: int, total: int) -> float:
    """ζ_t = ζ/2 · (1 + cos(π t / T)) (001 A.5 eq. 26); 0 from step T on."""
    if total <= 0 or step >= total:
        return 0.0
    return zeta0 / 2.0 * (1.0 + math.cos(math.pi * step / total))


def constant_zeta(zeta0: float, step: int, total: int) -> float:
    return zeta0 if step < total else 0.0


ZETA_SCHEDULES = {"cosine": cosine_zeta, "constant": constant_zeta}


def sigmoid_sparsity(step: int, s_initial: float, s_final: float, t0: int, tf: int, k: float | None = None) -> float:
    """Sigmoid density decay of CHTss (003 eq. A6).

    s_t = s_i + (s_f − s_i) · σ(k (t − (t0 + tf)/2)), with k = 12/(tf − t0) by default (σ spans
    ≈ 0.0025…0.9975 between t0 and tf); exactly s_i up to t0 and s_f from tf on.
    """
    if step >= tf:
        return s_final
    if step <= t0:
        return s_initial
    k = 12.0 / max(1, tf - t0) if k is None else k
    x = 1.0 / (1.0 + math.exp(-k * (step - (t0 + tf) / 2.0)))
    return s_initial + (s_final - s_initial) * x
