"""Lyapunov exponents of a spiking reservoir through its surrogate Jacobian (notes §6).

Estimator: Benettin/QR on the map v(t) → v(t+1) along a driven trajectory, with the spike
nonlinearity replaced by a surrogate derivative σ′(v − θ) = 1/(g|v − θ| + 1)² (a hard threshold
would give the trivial spectrum log(1 − dt/τ)):
    J_t = diag((1 − dt/τ)(1 − s_t)) + W·diag(σ′_t).
``m`` orthonormal vectors are propagated and re-orthonormalised every step in float64; the
spectrum is the time average of log|diag R|. A per-neuron exponent is the projection
λ_i = ⟨Σ_k λ_k^loc(t)·Q_ik(t)²⟩ (how much of each local exponent neuron i carries), as the
notes propose where the paper is silent.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse
import torch

from .network import Reservoir


@dataclass
class Trajectory:
    v: torch.Tensor  # [steps, N] membrane potential before the spike decision
    s: torch.Tensor  # [steps, N] spikes


def record(res: Reservoir, drive_inputs: torch.Tensor, substeps: int) -> Trajectory:
    """Membranes (before reset) and spikes of every simulation step under ``drive_inputs``."""
    from .dynamics import Simulator

    sim = Simulator(res, substeps)
    sim.recording = []
    sim.run(drive_inputs)
    return Trajectory(torch.stack([v for v, _ in sim.recording]), torch.stack([s for _, s in sim.recording]))


def surrogate(v: torch.Tensor, theta: torch.Tensor, g: float = 5.0) -> torch.Tensor:
    return 1.0 / (g * (v - theta).abs() + 1.0) ** 2


def spectrum(res: Reservoir, traj: Trajectory, m: int = 32, skip: int = 100, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(top-m Lyapunov exponents per step, per-neuron exponents) along ``traj`` (float64, scipy
    CSR for the recurrent product, LAPACK QR)."""
    n = res.n
    m = min(m, n)
    q, _ = np.linalg.qr(np.random.default_rng(seed).standard_normal((n, m)))
    decay = 1.0 - np.minimum(res.dt / res.tau.numpy().astype(np.float64), 1.0)
    W = scipy.sparse.csr_matrix((res.w.numpy().astype(np.float64), (res.post.numpy(), res.pre.numpy())), shape=(n, n))
    dead = ~res.alive.numpy()
    sg_all = surrogate(traj.v, res.threshold).numpy().astype(np.float64)
    s_all = traj.s.numpy().astype(np.float64)
    sums = np.zeros(m)
    per_neuron = np.zeros(n)
    count = 0
    for t in range(len(sg_all)):
        jq = (decay * (1.0 - s_all[t]))[:, None] * q + W @ (sg_all[t][:, None] * q)
        jq[dead] = 1e-12 * q[dead]  # pruned neurons: no dynamics, a vanishing direction
        q, r = np.linalg.qr(jq)
        local = np.log(np.maximum(np.abs(np.diag(r)), 1e-300))
        if t >= skip:
            sums += local
            per_neuron += (q**2) @ local
            count += 1
    return sums / max(1, count), per_neuron / max(1, count)
