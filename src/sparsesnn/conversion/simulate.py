"""Run a converted SNN once up to ``max_T`` and tally, for every T = 1..max_T, the accuracy,
spikes and synaptic operations (each T from the same simulation; AEC, whose T is a coding
window, is evaluated in closed form per window).

Counting (002 eq. 3, 003 eq. 2): a non-zero value arriving at a synaptic layer costs its
out-degree on the frozen sparse topology — one AC per existing link for a spike (graded, signed
or weighted spikes included), one MAC per existing link for an analog input value (the first
layer under direct input). Zeros cost nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import nn

from ..models.ann import SparseANN
from . import neurons
from .aec import aec_encode
from ..models.layout import pool

METHODS = {
    "qcfs": {"decoding": "mean", "time_step": "one step = one pass of every layer; latency T"},
    "csqcfs": {"decoding": "mean", "time_step": "one step = one pass of every layer; latency T"},
    "snm": {"decoding": "mean", "time_step": "one step = one pass of every layer; latency T"},
    "dcgs": {"decoding": "differential", "time_step": "T + 1 passes: frame 0 carries the bias responses, frame 1 the input"},
    # a ViT (SparseViT) converts with DCGS only: LayerNorm, softmax and GELU need its differential coding
    "aec": {"decoding": "window sum", "time_step": "T = one coding window per layer (≤ 2 spikes per neuron); layer-pipelined latency ≈ layers·(T + 1)"},
}


@dataclass
class Tally:
    """Sums over the evaluated samples, cumulative up to each T (index T − 1)."""

    max_T: int
    populations: int
    correct: torch.Tensor = field(init=False)
    spikes: torch.Tensor = field(init=False)  # [populations, max_T]
    acs: torch.Tensor = field(init=False)
    macs: torch.Tensor = field(init=False)
    ops: dict[str, torch.Tensor] = field(default_factory=dict)  # by kind, where a converter reports them
    n: int = 0

    def __post_init__(self) -> None:
        self.correct = torch.zeros(self.max_T, dtype=torch.float64)
        self.spikes = torch.zeros(self.populations, self.max_T, dtype=torch.float64)
        self.acs = torch.zeros(self.max_T, dtype=torch.float64)
        self.macs = torch.zeros(self.max_T, dtype=torch.float64)


def _syn(layer: nn.Module, seq: torch.Tensor) -> torch.Tensor:
    """A synaptic layer applied at every step of ``[T, B, ...]``."""
    return layer(seq.flatten(0, 1)).unflatten(0, seq.shape[:2])


def _ops_per_step(seq: torch.Tensor, degree: torch.Tensor) -> torch.Tensor:
    """Σ over samples and inputs of [value ≠ 0]·out-degree, per step of ``[T, B, ...]``."""
    events = (seq != 0).flatten(2).sum(1).to(torch.float64)
    return events @ degree.to(torch.float64)


class ConvertedSNN:
    """A :class:`SparseANN` with its activations replaced by the spiking neurons of ``method``.

    Args:
        model: the trained ANN (weights and topology are used as they are).
        method: one of :data:`METHODS`.
        thresholds: per population, θ broadcastable to one sample (AEC: its 6 parameters).
        n_thresholds: DCGS multi-threshold levels.
    """

    def __init__(self, model: SparseANN, method: str, thresholds: list[torch.Tensor], n_thresholds: int = 4) -> None:
        if method not in METHODS:
            raise ValueError(f"conversion method must be one of {list(METHODS)}; got {method!r}")
        if any(kind == "MP" for kind, _ in model.pools):
            raise ValueError("max pooling does not convert to rate-coded spikes; train the ANN with AP (average pooling)")
        self.model, self.method, self.thresholds, self.n_thresholds = model.eval(), method, thresholds, n_thresholds
        self.window_thresholds: dict[int, list[torch.Tensor]] = {}  # AEC: parameters tuned for one window T
        self.degrees = model.out_degrees()
        # what one spike of each population costs: the out-degrees of all synapses it feeds summed
        # (an identity shortcut adds one AC)
        self.fan_out = [sum(self.degrees[t] if t >= 0 else torch.ones_like(self.degrees[targets[0]]) for t in targets)
                        for targets in model.targets]
        self.populations = len(model.activations)
        self.neuron_counts = [int(torch.tensor(s).prod()) for s in model.populations]

    @torch.no_grad()
    def run(self, x: torch.Tensor, y: torch.Tensor, tally: Tally) -> None:
        """Add one batch ``x`` ``[B, *input_shape]`` with labels ``y`` to ``tally``."""
        if self.method == "aec":
            for T in range(1, tally.max_T + 1):
                self._aec_window(x, y, T, tally)
        else:
            self._sequence(x, y, tally)
        tally.n += len(y)

    def _sequence(self, x: torch.Tensor, y: torch.Tensor, tally: Tally) -> None:
        m, T = self.model, tally.max_T
        diff = self.method == "dcgs"
        first = m.synapses[0](x)
        macs = float((x != 0).flatten(1).sum(0).to(torch.float64) @ self.degrees[0].to(torch.float64))
        if diff:  # frames: 0 = bias response only, 1 = the input, then silence
            bias = m.synapses[0](torch.zeros_like(x[:1])).expand_as(first)
            cur = torch.stack([bias, first, *([bias] * (T - 1))])
            tally.macs += macs  # the analog input enters once, at step 1
        else:  # direct input: the same analog current at every step
            cur = first.unsqueeze(0).expand(T, *first.shape)
            tally.macs += macs * torch.arange(1, T + 1, dtype=torch.float64)
        population = 0

        def fire(z: torch.Tensor) -> torch.Tensor:
            """Spikes of the next population; each costs the out-degree of every synapse it feeds."""
            nonlocal population
            s = self._fire(z, self.thresholds[population])
            counted = s[1:] if diff else s
            tally.spikes[population] += torch.cumsum((counted != 0).flatten(1).sum(1).to(torch.float64), 0)
            tally.acs += torch.cumsum(_ops_per_step(counted, self.fan_out[population]), 0)
            population += 1
            return s

        for kind, index in m.plan[1:]:
            if kind == "syn":
                cur = _syn(m.synapses[index], fire(cur))
            elif kind == "block":
                cur = m.residual(index, fire(cur), fire, _syn)
            elif kind == "pool":
                cur = pool(*m.pools[index], cur.flatten(0, 1)).unflatten(0, cur.shape[:2])
            else:
                cur = cur.flatten(2)
        if diff:
            decoded = neurons.differential_decode(cur)
        else:
            steps = torch.arange(1, T + 1, dtype=cur.dtype).view(-1, 1, 1)
            decoded = torch.cumsum(cur, 0) / steps
        tally.correct += (decoded.argmax(-1) == y).sum(1).to(torch.float64)

    def _fire(self, z: torch.Tensor, theta: torch.Tensor) -> torch.Tensor:
        if self.method in ("qcfs", "csqcfs"):
            return neurons.if_rate(z, theta)
        if self.method == "snm":
            return neurons.snm(z, theta)
        return neurons.mth_diff(z, theta, self.n_thresholds)

    def _aec_window(self, x: torch.Tensor, y: torch.Tensor, T: int, tally: Tally) -> None:
        logits, spikes, acs = self.aec_forward(x, T, self.window_thresholds.get(T))
        tally.correct[T - 1] += float((logits.argmax(-1) == y).sum())
        tally.spikes[:, T - 1] += torch.tensor(spikes, dtype=torch.float64)
        tally.acs[T - 1] += acs
        tally.macs[T - 1] += float((x != 0).flatten(1).sum(0).to(torch.float64) @ self.degrees[0].to(torch.float64))

    def aec_forward(self, x: torch.Tensor, T: int, params: list[torch.Tensor] | None = None):
        """(logits, spikes per population, ACs) of AEC with window ``T``; differentiable in
        ``params`` (default: the converter's) for threshold fine-tuning."""
        m = self.model
        params = self.thresholds if params is None else params
        spikes, acs = [], [0.0]

        def encode(population: int, z: torch.Tensor) -> torch.Tensor:
            u, count = aec_encode(m.activations[population](z), params[population], T)
            spikes.append(float(count.sum()))
            acs[0] += float(count.flatten(1).sum(0).to(torch.float64) @ self.fan_out[population].to(torch.float64))
            return u

        return m(x, activation=encode), spikes, acs[0]
