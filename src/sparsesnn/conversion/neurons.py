"""Spiking neurons of the converters as pure functions over a whole input sequence.

Every function takes the synaptic input ``z`` of one population for all steps, ``[T, B, ...]``,
and thresholds ``theta`` broadcastable to one step ``[B, ...]``, and returns the emitted values
``[T, B, ...]`` (spike amplitude = θ, so ANN weights are used unchanged; notes §0). Layer by
layer over the whole sequence is exact for feed-forward networks and lets the synapses run on
``T·B`` rows at once.
"""

from __future__ import annotations

import torch


def if_rate(z: torch.Tensor, theta: torch.Tensor) -> torch.Tensor:
    """IF neuron of QCFS / CS-QCFS (Bu et al. 2022): V(0) = θ/2; V ← V + z; s = θ·[V ≥ θ];
    V ← V − s (reset by subtraction). With constant z the mean output over T = L steps equals
    the QCFS activation with L levels."""
    v = (theta / 2).expand_as(z[0]).clone()
    out = torch.empty_like(z)
    for t in range(z.shape[0]):
        v += z[t]
        s = (v >= theta).to(z.dtype) * theta
        v -= s
        out[t] = s
    return out


def snm(z: torch.Tensor, theta: torch.Tensor) -> torch.Tensor:
    """Signed neuron with memory (SNM, Wang et al. 2022): V(0) = 0, M(0) = 0;
    s = θ·[V ≥ θ] − θ·[V ≤ −θ]·[M > 0]; V ← V − s; M ← M + s. A negative spike only takes back an
    earlier positive one, so the net count M/θ never drops below 0."""
    v = torch.zeros_like(z[0])
    m = torch.zeros_like(z[0], dtype=torch.int32)  # M/θ as an exact count: float sums of θ drift
    out = torch.empty_like(z)
    for t in range(z.shape[0]):
        v += z[t]
        n = (v >= theta).to(torch.int32) - ((v <= -theta) & (m > 0)).to(torch.int32)
        s = n.to(z.dtype) * theta
        v -= s
        m += n
        out[t] = s
    return out


def _mth_fire(v: torch.Tensor, c: torch.Tensor, theta: torch.Tensor, n: int, signed: bool = False) -> torch.Tensor:
    """One graded spike of a multi-threshold neuron (DCGS): levels θ/2^k (k = 0..n−1), firing
    +θ/2^k* for the smallest k with V ≥ 0.75·θ/2^k, or −θ/2^k* for the smallest k with
    V ≤ −0.75·θ/2^k while the cumulative output C still holds θ/2^k (the ReLU stays ≥ 0;
    ``signed``: the unconstrained neuron DCGS puts before the linear layers of a ViT)."""
    s = torch.zeros_like(v)
    done = torch.zeros_like(v, dtype=torch.bool)
    for k in range(n):
        level = theta / (2**k)
        pos = ~done & (v >= 0.75 * level)
        neg = ~done & ~pos & (v <= -0.75 * level)
        if not signed:
            neg &= c >= level
        s = torch.where(pos, level.expand_as(v), s)
        s = torch.where(neg, -level.expand_as(v), s)
        done |= pos | neg
    return s


def mth_diff(z: torch.Tensor, theta: torch.Tensor, n_thresholds: int = 4, signed: bool = False) -> torch.Tensor:
    """Differential-coding multi-threshold neuron of DCGS (Huang et al. 2025).

    ``z`` has T + 1 frames: frame 0 carries the bias response b alone (inputs are zero), frames
    t ≥ 1 the synaptic input. Let Î_t = Î_{t−1} + (z_t − b)/t be the decoded input and Ô_t the
    decoded output (Ô_t = Ô_{t−1} + s_t/t). The neuron integrates the rate-equivalent input
    Î_{t−1} + (z_t − b) minus the rate-equivalent output Ô_{t−1}, fires a graded *correction*
    s_t, and its cumulative output C counts Ô_{t−1} + s_t. An estimate that is already right
    emits nothing: spikes are only corrections, the source of DCGS's spike savings.
    ``signed``: negative corrections are not limited by C (the neuron encodes a signed value,
    not a ReLU). Returns the corrections ``[T + 1, B, ...]`` (frame 0 is zero).
    """
    b = z[0]
    i_hat = b.clone()  # Î starts at b so that I_1 = b + (z_1 − b) = z_1: the bias enters once
    o_hat = torch.zeros_like(b)
    c = torch.zeros_like(b)
    v = torch.zeros_like(b)
    out = torch.zeros_like(z)
    for t in range(1, z.shape[0]):
        dz = z[t] - b
        v += i_hat + dz - o_hat
        c += o_hat
        s = _mth_fire(v, c, theta, n_thresholds, signed)
        c += s
        v -= s
        i_hat += dz / t
        o_hat += s / t
        out[t] = s
    return out


def differential_decode(y: torch.Tensor) -> torch.Tensor:
    """Decoded output of a differential-coded analog layer with frames ``[T + 1, B, C]``:
    D_t = y_0 + Σ_{τ≤t} (y_τ − y_0)/τ, the value the ANN layer would output for the inputs
    decoded up to step t (bias y_0 counted once). Returns ``[T, B, C]`` for t = 1..T."""
    steps = torch.arange(1, y.shape[0], dtype=y.dtype, device=y.device).view(-1, *([1] * (y.dim() - 1)))
    return y[0] + torch.cumsum((y[1:] - y[0]) / steps, 0)


def differential_values(s: torch.Tensor) -> torch.Tensor:
    """What a differential spike train ``[T + 1, ...]`` encodes after each step t ≥ 1:
    Σ_{τ≤t} s_τ/τ (the decoded output Ô_t). Returns ``[T, ...]``."""
    return differential_decode(torch.cat([torch.zeros_like(s[:1]), s[1:]]))
