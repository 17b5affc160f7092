"""Bayesian optimisation over parameter *distributions* (004 §III.C, eq. 6–8).

A candidate is a set of gamma distributions — membrane time constants of E and I neurons and
thresholds (shape ``shape_k``), STDP A₊, A₋, τ₊, τ₋ (shape ``stdp_shape_k``) — given by the
:class:`ReservoirConfig` fields of :data:`SPACE`. Homogeneous populations are point masses.

Distance: the 2-Wasserstein distance between the product distributions. In 1-D,
W₂²(P, Q) = ∫₀¹ (F_P⁻¹(u) − F_Q⁻¹(u))² du, and for independent marginals W₂² adds up, so each
candidate is embedded as its quantiles at u_m = (m − ½)/M, each block divided by a unit scale
(the width of its mean's search range) and by √M: the Euclidean distance of two embeddings is
the (midpoint-rule) W₂ between the candidates. On this L² embedding the Matérn function is a
positive-definite kernel (004 Theorem 2).

Surrogate: a Gaussian process with the modified Matérn kernel of eq. 6 on W (the printed Bessel
argument drops W, a typo), σ², κ and the noise fitted by maximum marginal likelihood, smoothness
ρ fixed (2.5 by default). Acquisition: expected improvement (eq. 8) over Sobol candidates, for
maximisation. Objective (eq. 7 / §VI): spike efficiency 𝓔 (eq. 10, the paper's choice) or the
negative closed-loop NRMSE on a validation stretch of the *training* series (never the test
horizon).
"""

from __future__ import annotations

import dataclasses
import math
from typing import Callable

import numpy as np
from scipy import optimize, special, stats

from .network import ReservoirConfig

# searched fields: (low, high) of each, sampled log-uniformly
SPACE: dict[str, tuple[float, float]] = {
    "tau_e": (5.0, 60.0),
    "tau_i": (2.0, 30.0),
    "shape_k": (1.0, 30.0),
    "a_plus": (1e-3, 2e-2),
    "a_minus": (1e-3, 2e-2),
    "tau_plus": (5.0, 60.0),
    "tau_minus": (5.0, 60.0),
    "stdp_shape_k": (1.0, 30.0),
}


def _blocks(cfg: ReservoirConfig) -> list[tuple[float, float, bool, float]]:
    """(mean, gamma shape, heterogeneous?, unit scale) of every distribution a reservoir draws."""
    hn, hs = cfg.neuron_het == "hetero", cfg.stdp_het == "hetero"
    k_n, k_s = cfg.shape_k, cfg.synapse_shape
    width = lambda f: SPACE[f][1] - SPACE[f][0]  # noqa: E731
    return [
        (cfg.tau_e, k_n, hn, width("tau_e")),
        (cfg.tau_i, k_n, hn, width("tau_i")),
        (cfg.threshold, 2 * k_n, hn, cfg.threshold),  # thresholds: shape 2k (network.build_reservoir)
        (cfg.a_plus, k_s, hs, width("a_plus")),
        (cfg.a_minus, k_s, hs, width("a_minus")),
        (cfg.tau_plus, k_s, hs, width("tau_plus")),
        (cfg.tau_minus, k_s, hs, width("tau_minus")),
    ]


def quantile_embedding(cfg: ReservoirConfig, m: int = 32) -> np.ndarray:
    """Scaled quantiles of every distribution of ``cfg``: ‖e(P) − e(Q)‖ = W₂(P, Q) (midpoint rule)."""
    u = (np.arange(m) + 0.5) / m
    parts = []
    for mean, k, hetero, scale in _blocks(cfg):
        q = stats.gamma.ppf(u, k, scale=mean / k) if hetero else np.full(m, mean)
        parts.append(q / (scale * math.sqrt(m)))
    return np.concatenate(parts)


def wasserstein_matern(w: np.ndarray, sigma2: float, kappa: float, rho: float) -> np.ndarray:
    """Eq. 6: σ²·2^{1−ρ}/Γ(ρ)·(√(2ρ)·W/κ)^ρ·K_ρ(√(2ρ)·W/κ), with its limit σ² at W = 0."""
    r = np.sqrt(2.0 * rho) * np.asarray(w, dtype=np.float64) / kappa
    out = np.full(r.shape, sigma2)
    pos = r > 1e-12
    out[pos] = sigma2 * 2.0 ** (1.0 - rho) / special.gamma(rho) * r[pos] ** rho * special.kv(rho, r[pos])
    return out


def _distances(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    d2 = (a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2.0 * a @ b.T
    return np.sqrt(np.maximum(d2, 0.0))


class DistributionGP:
    """GP regression on embedded distributions; targets standardised, (σ², κ, noise) by maximum
    marginal likelihood with a few restarts."""

    def __init__(self, rho: float = 2.5, seed: int = 0) -> None:
        self.rho, self.rng = rho, np.random.default_rng(seed)

    def _nll(self, log_params: np.ndarray, d: np.ndarray, y: np.ndarray) -> float:
        sigma2, kappa, noise = np.exp(log_params)
        k = wasserstein_matern(d, sigma2, kappa, self.rho) + (noise + 1e-9) * np.eye(len(y))
        try:
            c = np.linalg.cholesky(k)
        except np.linalg.LinAlgError:
            return 1e10
        alpha = np.linalg.solve(c.T, np.linalg.solve(c, y))
        return float(0.5 * y @ alpha + np.log(np.diag(c)).sum())

    def fit(self, x: np.ndarray, y: np.ndarray) -> "DistributionGP":
        self.x = np.asarray(x, dtype=np.float64)
        y = np.asarray(y, dtype=np.float64)
        self.mu, self.sd = float(y.mean()), float(y.std()) or 1.0
        self.y = (y - self.mu) / self.sd
        d = _distances(self.x, self.x)
        scale = float(np.median(d[d > 0])) if (d > 0).any() else 1.0
        bounds = [(math.log(1e-2), math.log(1e2)), (math.log(scale * 1e-2), math.log(scale * 1e2)), (math.log(1e-6), math.log(1.0))]
        best = None
        for start in [np.array([0.0, math.log(scale), math.log(1e-2)])] + [
            np.array([self.rng.uniform(*b) for b in bounds]) for _ in range(4)
        ]:
            r = optimize.minimize(self._nll, start, args=(d, self.y), method="L-BFGS-B", bounds=bounds)
            if best is None or r.fun < best.fun:
                best = r
        self.sigma2, self.kappa, self.noise = np.exp(best.x)
        k = wasserstein_matern(d, self.sigma2, self.kappa, self.rho) + (self.noise + 1e-9) * np.eye(len(self.y))
        self.chol = np.linalg.cholesky(k)
        self.alpha = np.linalg.solve(self.chol.T, np.linalg.solve(self.chol, self.y))
        return self

    def predict(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Posterior mean and standard deviation of the objective (original units)."""
        ks = wasserstein_matern(_distances(np.asarray(x, dtype=np.float64), self.x), self.sigma2, self.kappa, self.rho)
        mean = ks @ self.alpha
        v = np.linalg.solve(self.chol, ks.T)
        var = np.maximum(self.sigma2 - (v * v).sum(0), 1e-12)
        return self.mu + self.sd * mean, self.sd * np.sqrt(var)


def expected_improvement(mean: np.ndarray, std: np.ndarray, best: float) -> np.ndarray:
    """Eq. 8 (maximisation): (μ − f_best)·Φ(Z) + σ·φ(Z), Z = (μ − f_best)/σ."""
    std = np.maximum(std, 1e-12)
    z = (mean - best) / std
    return (mean - best) * stats.norm.cdf(z) + std * stats.norm.pdf(z)


def _configs(base: ReservoirConfig, unit: np.ndarray) -> list[ReservoirConfig]:
    """Points of the unit cube → configs (log-uniform in each searched field)."""
    lo = np.log([SPACE[f][0] for f in SPACE])
    hi = np.log([SPACE[f][1] for f in SPACE])
    values = np.exp(lo + unit * (hi - lo))
    return [dataclasses.replace(base, **{f: float(v) for f, v in zip(SPACE, row)}) for row in values]


def check_budget(n_init: int, n_iter: int) -> None:
    if n_init < 2 or n_iter < 0:
        raise ValueError(f"need n_init >= 2 (the GP needs two points) and n_iter >= 0; got {n_init}, {n_iter}")


def optimise(
    objective: Callable[[ReservoirConfig], float],
    base: ReservoirConfig,
    n_init: int = 8,
    n_iter: int = 20,
    candidates: int = 1024,
    rho: float = 2.5,
    seed: int = 0,
    on_evaluation: Callable[[dict], None] | None = None,
) -> list[dict]:
    """Maximise ``objective`` over the distributions of :data:`SPACE`: ``n_init`` Sobol points,
    then ``n_iter`` steps of GP + expected improvement. Returns every evaluation in order."""
    check_budget(n_init, n_iter)
    rng = np.random.default_rng(seed)

    def draw(n: int) -> np.ndarray:  # a fresh scrambled Sobol block of 2^m points (balanced), first n
        return stats.qmc.Sobol(len(SPACE), scramble=True, seed=rng).random_base2(math.ceil(math.log2(n)))[:n]

    history: list[dict] = []

    def evaluate(cfg: ReservoirConfig, phase: str, ei: float | None) -> None:
        value = float(objective(cfg))
        if not math.isfinite(value):
            raise ValueError(f"objective returned {value} for {cfg}")
        row = {"evaluation": len(history), "phase": phase, "objective": value,
               "best": max([value] + [h["objective"] for h in history]), "expected_improvement": ei,
               "params": {f: getattr(cfg, f) for f in SPACE}, "embedding": quantile_embedding(cfg)}
        history.append(row)
        if on_evaluation is not None:
            on_evaluation({k: v for k, v in row.items() if k != "embedding"})

    for cfg in _configs(base, draw(n_init)):
        evaluate(cfg, "init", None)
    gp = DistributionGP(rho, seed)
    for _ in range(n_iter):
        gp.fit(np.stack([h["embedding"] for h in history]), np.array([h["objective"] for h in history]))
        pool = _configs(base, draw(candidates))
        mean, std = gp.predict(np.stack([quantile_embedding(c) for c in pool]))
        ei = expected_improvement(mean, std, max(h["objective"] for h in history))
        j = int(np.argmax(ei))
        evaluate(pool[j], "bo", float(ei[j]))
    return [{k: v for k, v in h.items() if k != "embedding"} for h in history]
