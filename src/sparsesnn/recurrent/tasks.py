"""Chaotic time series for reservoir prediction (004 §VI), integrated with tight tolerances.

Each system is integrated with DOP853 at rtol 1e-10 / atol 1e-12 from a fixed start, a transient
is discarded so the series lies on the attractor, and it is sampled every ``h`` time units.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.integrate import solve_ivp


def lorenz63(t, u, sigma=10.0, rho=28.0, beta=8.0 / 3.0):
    x, y, z = u
    return [sigma * (y - x), x * (rho - z) - y, x * y - beta * z]


def rossler(t, u, a=0.2, b=0.2, c=5.7):
    x, y, z = u
    return [-y - z, x + a * y, b + z * (x - c)]


def lorenz96(t, u, forcing=8.0):
    return (np.roll(u, -1) - np.roll(u, 2)) * np.roll(u, 1) - u + forcing


@dataclass(frozen=True)
class System:
    rhs: object
    u0: tuple
    h: float  # sampling step
    transient: float  # time units discarded
    lyapunov: float  # largest Lyapunov exponent (for VPT in Lyapunov times)


SYSTEMS = {
    "lorenz63": System(lorenz63, (1.0, 1.0, 1.0), 0.03, 50.0, 0.906),
    "rossler": System(rossler, (-0.1, 0.0, 0.02), 0.1, 200.0, 0.071),
    # 10 variables, F = 8 (λ_max ≈ 1.3 for this size)
    "lorenz96": System(lorenz96, tuple([8.01] + [8.0] * 9), 0.01, 50.0, 1.3),
}


def generate(name: str, n_steps: int, rtol: float = 1e-10, atol: float = 1e-12) -> np.ndarray:
    """``[n_steps, dims]`` samples of system ``name`` after its transient."""
    if name not in SYSTEMS:
        raise ValueError(f"task must be one of {list(SYSTEMS)}; got {name!r}")
    if rtol > 1e-9:
        raise ValueError(f"rtol must be <= 1e-9 for a trustworthy chaotic ground truth; got {rtol}")
    s = SYSTEMS[name]
    t_eval = s.transient + s.h * np.arange(n_steps)
    sol = solve_ivp(s.rhs, (0.0, t_eval[-1]), np.asarray(s.u0, dtype=np.float64), method="DOP853",
                    t_eval=t_eval, rtol=rtol, atol=atol)
    if not sol.success:
        raise RuntimeError(f"integration of {name} failed: {sol.message}")
    return sol.y.T.copy()
