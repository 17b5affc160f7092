"""Reservoir metrics of 004 §IV: memory capacity (eq. 9), spike efficiency (eq. 10), separation
rank, NRMSE and valid prediction time, SOPs."""

from __future__ import annotations

import numpy as np

from .readout import ridge_fit


def memory_capacity(states: np.ndarray, inputs: np.ndarray, tau_max: int = 100, washout: int = 100,
                    alpha: float = 1e-8, test_fraction: float = 0.3) -> float:
    """C = Σ_{τ=1}^{τ_max} Cov²(u(t−τ), y_τ(t)) / (Var u · Var y_τ) (004 eq. 9): y_τ is the linear
    readout of the states trained to recall u(t − τ), fitted on the first samples after
    ``washout`` and scored on the last ``test_fraction`` (an in-sample score would grow with
    N/samples even for a reservoir without memory)."""
    states, inputs = np.asarray(states, np.float64), np.asarray(inputs, np.float64).ravel()
    X = np.concatenate([np.ones((len(states) - washout, 1)), states[washout:]], 1)
    split = int(round(len(X) * (1 - test_fraction)))
    # every delay at once: one factorisation, τ_max right-hand sides
    targets = np.stack([inputs[washout - tau : len(inputs) - tau] for tau in range(1, tau_max + 1)], 1)
    W = ridge_fit(X[:split], targets[:split], alpha)
    y, t = X[split:] @ W, targets[split:]
    yc, tc = y - y.mean(0), t - t.mean(0)
    cov, var_y, var_t = (yc * tc).sum(0), (yc**2).sum(0), (tc**2).sum(0)
    ok = (var_y > 0) & (var_t > 0)
    total = float((cov[ok] ** 2 / (var_y[ok] * var_t[ok])).sum())
    return float(total)


def spike_efficiency(capacity: float, spikes_per_neuron: np.ndarray) -> float | None:
    """𝓔 = C / ((1/N)·Σ_i S_i) (004 eq. 10); ``None`` for a silent network (undefined)."""
    mean = float(np.mean(spikes_per_neuron))
    return capacity / mean if mean > 0 else None


def separation_rank(states: np.ndarray, energy: float = 0.99) -> int:
    """Number of singular values of the state matrix holding ``energy`` of their sum."""
    sv = np.linalg.svd(np.asarray(states, np.float64), compute_uv=False)
    if sv.sum() == 0:
        return 0
    return int(np.searchsorted(np.cumsum(sv) / sv.sum(), energy) + 1)


def rmse_t(pred: np.ndarray, truth: np.ndarray, std: np.ndarray) -> np.ndarray:
    """RMSE(t) = √((1/D)·Σ_i ((û_i(t) − u_i(t))/σ_i)²), σ_i the long-term std (004 §VI)."""
    return np.sqrt((((pred - truth) / std) ** 2).mean(1))


def nrmse(pred: np.ndarray, truth: np.ndarray, std: np.ndarray) -> float:
    """RMSE over all steps and variables, each variable normalised by its long-term std."""
    return float(np.sqrt((((pred - truth) / std) ** 2).mean()))


def vpt(pred: np.ndarray, truth: np.ndarray, std: np.ndarray, eps: float = 0.1) -> int:
    """VPT as 004 defines it: Σ_t 𝟙(RMSE(t) < ε), a count of steps."""
    return int((rmse_t(pred, truth, std) < eps).sum())


def vpt_first_crossing(pred: np.ndarray, truth: np.ndarray, std: np.ndarray, h: float, lyapunov: float, eps: float = 0.4) -> float:
    """The usual valid prediction time: first step with RMSE(t) > ε, in Lyapunov times λ_max·t."""
    err = rmse_t(pred, truth, std)
    bad = np.nonzero(err > eps)[0]
    steps = int(bad[0]) if len(bad) else len(err)
    return steps * h * lyapunov
