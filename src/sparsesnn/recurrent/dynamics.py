"""Simulation of a :class:`Reservoir`: LIF neurons with refractory period (004 eq. 1) and
optional STDP, driven by an analog input sequence.

τ_i dv/dt = a + R·I − v with a = 0, R = 1 (Euler, step dt); recurrent spikes arrive as delta
PSPs (v += Σ w·s of the previous step); v > θ_i emits a spike, resets v to 0 and holds it there
for ``refractory`` steps. Each data sample is presented for ``substeps`` steps; the features of
a sample, read at its last step, are the exponentially filtered spike trains and the membrane
potentials (the readout of a liquid state machine sees both; spikes alone are too sparse a
state for a few hundred neurons).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from .network import Reservoir
from .stdp import init_state, stdp_step


@dataclass
class SimState:
    v: torch.Tensor
    spikes: torch.Tensor
    refractory: torch.Tensor
    trace: torch.Tensor


def default_w_max(res: Reservoir) -> float:
    """STDP's weight cap: twice the largest initial excitatory magnitude."""
    plastic = res.excitatory[res.pre]
    return float(res.w[plastic].abs().max()) * 2 if bool(plastic.any()) else 0.0


def init_sim(n: int) -> SimState:
    return SimState(torch.zeros(n), torch.zeros(n), torch.zeros(n, dtype=torch.int32), torch.zeros(n))


def trace_decay(res: Reservoir, substeps: int) -> float:
    """Per-step decay of the feature traces: time constant two samples (2 · substeps steps)."""
    return math.exp(-res.dt / (2.0 * substeps * res.dt))


class Simulator:
    """Runs a reservoir on input sequences (state kept between calls, for closed-loop use)."""

    def __init__(self, res: Reservoir, substeps: int = 4) -> None:
        self.res, self.substeps = res, int(substeps)
        self.leak = (res.dt / res.tau).clamp(max=1.0)
        self.trace_decay = trace_decay(res, substeps)
        self.state = init_sim(res.n)
        self.recording: list | None = None  # a list collects (v before reset, spikes) per step

    def reset(self) -> None:
        self.state = init_sim(self.res.n)

    def run(self, inputs: torch.Tensor, stdp: bool = False, w_max: float | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        # vectors of a few thousand neurons: thread hand-offs cost more than the arithmetic, and
        # decaying traces and membranes reach subnormal floats that are 100× slower unflushed
        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        flush = torch.set_flush_denormal(True)
        try:
            return self._run(inputs, stdp, w_max)
        finally:
            torch.set_num_threads(threads)
            if flush:
                torch.set_flush_denormal(False)

    @torch.no_grad()
    def _run(self, inputs: torch.Tensor, stdp: bool, w_max: float | None) -> tuple[torch.Tensor, torch.Tensor]:
        """Present ``inputs`` ``[S, d]``; returns (features ``[S, 2N]``: spike traces then membrane
        potentials, spike counts per neuron).
        With ``stdp`` the recurrent weights learn (magnitudes of excitatory synapses, clamped to
        [0, w_max]; inhibitory synapses stay fixed)."""
        res, st = self.res, self.state
        drive = inputs.to(torch.float32) @ res.w_in.t()  # [S, N]
        feats = torch.empty(len(inputs), 2 * res.n)
        counts = torch.zeros(res.n)
        if stdp:
            plastic = res.excitatory[res.pre]
            syn = init_state(res.synapses)
            decay_p, decay_m = torch.exp(-res.dt / res.tau_plus), torch.exp(-res.dt / res.tau_minus)
            w_max = default_w_max(res) if w_max is None else w_max
        for i in range(len(inputs)):
            for _ in range(self.substeps):
                # event-driven recurrent input: only synapses of neurons that spiked carry current
                rec = torch.zeros(res.n).index_add_(0, res.post, res.w * st.spikes[res.pre])
                free = st.refractory <= 0
                v = st.v + self.leak * (drive[i] - st.v) + rec
                # a pruned neuron is gone: held at rest, its membrane is no readout feature
                v = torch.where(free & res.alive, v, torch.zeros_like(v))
                s = ((v > res.threshold) & free).to(torch.float32)
                if self.recording is not None:
                    self.recording.append((v.clone(), s))
                st.v = torch.where(s > 0, torch.zeros_like(v), v)
                st.refractory = torch.where(s > 0, torch.full_like(st.refractory, res.refractory), st.refractory - 1)
                if stdp:
                    dw = stdp_step(syn, s[res.pre], s[res.post], decay_p, decay_m, res.a_plus, res.a_minus)
                    mag = (res.w.abs() + dw * plastic).clamp(0.0, w_max)
                    res.w = torch.where(plastic, mag, res.w)
                st.spikes = s
                st.trace = st.trace * self.trace_decay + s
                counts += s
            feats[i, : res.n] = st.trace
            feats[i, res.n :] = st.v
        return feats, counts
