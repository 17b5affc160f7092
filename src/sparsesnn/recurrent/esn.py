"""An echo state network (Jaeger 2001) on the same forecasting protocol as the HRSNN: the
non-spiking reservoir a reader compares spiking reservoirs with (notes §7 asks for an
equal-size ESN next to every chaotic-prediction figure).

x(t) = (1 − a)·x(t−1) + a·tanh(W x(t−1) + W_in u(t)), W sparse (``density``) rescaled to spectral
radius ρ, W_in uniform in ±``input_scale``; the readout and the closed loop are
:func:`~sparsesnn.recurrent.run.forecast`'s, so errors are measured identically.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .run import TaskConfig, forecast


@dataclass
class ESNConfig:
    neurons: int = 500
    density: float = 0.02
    spectral_radius: float = 0.9
    input_scale: float = 0.5
    leak: float = 0.3
    seed: int = 0


@dataclass
class ESN:
    w: np.ndarray  # [N, N]
    w_in: np.ndarray  # [N, d]
    leak: float

    def step(self, x: np.ndarray, u: np.ndarray) -> np.ndarray:
        """One update of the state ``x`` ``[N]`` with input ``u`` ``[d]``."""
        return (1.0 - self.leak) * x + self.leak * np.tanh(self.w @ x + self.w_in @ u)

    def run(self, u: np.ndarray, x: np.ndarray | None = None) -> np.ndarray:
        """States ``[S, N]`` for inputs ``u`` ``[S, d]`` from ``x`` (default: rest)."""
        x = np.zeros(len(self.w)) if x is None else x
        out = np.empty((len(u), len(self.w)))
        for t, ut in enumerate(u):
            x = out[t] = self.step(x, ut)
        return out


def build_esn(cfg: ESNConfig, inputs: int) -> ESN:
    if cfg.neurons < 1 or not 0.0 < cfg.density <= 1.0 or not 0.0 < cfg.leak <= 1.0 or cfg.spectral_radius <= 0:
        raise ValueError(f"ESN needs neurons >= 1, density and leak in (0, 1], spectral_radius > 0; got {cfg}")
    rng = np.random.default_rng(cfg.seed)
    w = rng.normal(0.0, 1.0, (cfg.neurons, cfg.neurons)) * (rng.random((cfg.neurons, cfg.neurons)) < cfg.density)
    radius = float(np.max(np.abs(np.linalg.eigvals(w))))
    if radius > 0:
        w *= cfg.spectral_radius / radius
    return ESN(w, rng.uniform(-cfg.input_scale, cfg.input_scale, (cfg.neurons, inputs)), cfg.leak)


class _ESNModel:
    """An ESN as a :class:`~sparsesnn.recurrent.run.ForecastModel`."""

    def __init__(self, esn: ESN) -> None:
        self.esn, self.x = esn, np.zeros(len(esn.w))

    def run(self, inputs: np.ndarray) -> np.ndarray:
        states = self.esn.run(inputs, self.x)
        self.x = states[-1]
        return states

    def save(self) -> np.ndarray:
        return self.x.copy()

    def load(self, state: np.ndarray) -> None:
        self.x = state


def esn_forecast(cfg: ESNConfig, task: TaskConfig, u: np.ndarray) -> dict:
    """Teacher-forced ridge readout and closed-loop prediction of ``u`` by an ESN (the task's
    ``ridge`` is the ESN's)."""
    return forecast(_ESNModel(build_esn(cfg, u.shape[1])), u, task)
