"""Trace-based STDP with per-synapse parameters (004 eq. 3–5), as pure functions.

Per synapse e (pre → post) two traces: x₊ follows presynaptic spikes with τ₊[e], x₋ postsynaptic
spikes with τ₋[e] (all-to-all, additive, increment 1). At every step, in this order:
  1. traces decay: x ← x·exp(−dt/τ);
  2. Δw[e] = A₊[e]·x₊[e]·s_post − A₋[e]·x₋[e]·s_pre (potentiation when the postsynaptic neuron
     fires after presynaptic spikes, depression in the reverse order; coincident spikes of the
     same step do not pair);
  3. traces add this step's spikes.
Summed over a run this is exactly
  Δw = Σ_{t_o} A₊ Σ_{t_i < t_o} e^{−(t_o − t_i)dt/τ₊} − Σ_{t_i} A₋ Σ_{t_o < t_i} e^{−(t_i − t_o)dt/τ₋},
the solution of eq. 3–5 for fixed spike trains (the test's oracle).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass
class STDPState:
    x_plus: torch.Tensor
    x_minus: torch.Tensor


def init_state(n_synapses: int) -> STDPState:
    return STDPState(torch.zeros(n_synapses), torch.zeros(n_synapses))


def stdp_step(
    state: STDPState,
    s_pre: torch.Tensor,
    s_post: torch.Tensor,
    decay_plus: torch.Tensor,
    decay_minus: torch.Tensor,
    a_plus: torch.Tensor,
    a_minus: torch.Tensor,
) -> torch.Tensor:
    """One step; ``s_pre``/``s_post`` are the spikes (0/1) at each synapse's ends. Updates the
    traces in place and returns Δw per synapse."""
    state.x_plus.mul_(decay_plus)
    state.x_minus.mul_(decay_minus)
    dw = a_plus * state.x_plus * s_post - a_minus * state.x_minus * s_pre
    state.x_plus.add_(s_pre)
    state.x_minus.add_(s_post)
    return dw
