"""Spiking multi-layer perceptron: sparse hidden layers, a dense readout (001 A.5, 2FC/3FC)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import torch
from torch import nn

from ..energy.recorder import ActivityRecorder
from ..layers.sparse_linear import SparseLinear
from ..neurons import encoders
from ..neurons.lif import LIF
from ..neurons.surrogate import SURROGATES
from ..topology.weight_init import WEIGHT_INITS, kaiming_std, sswi_std, swi_std


@dataclass
class ModelConfig:
    """Architecture and neuron settings.

    Attributes:
        hidden: widths of the hidden LIF layers (e.g. ``[1568]`` for 784-1568-10).
        T: simulation time steps.
        encoding: ``direct`` (analog input, first-layer current computed once and reused at every
            step), ``poisson`` or ``latency``. Inputs already shaped ``[T, B, N]`` are used as is.
        alpha, threshold, surrogate, surrogate_alpha, detach_reset: LIF settings (001 eq. 1).
        weight_init: ``sswi`` (001 eq. 3), ``swi`` or ``kaiming``.
        bias: learn biases.
    """

    hidden: list[int] = field(default_factory=lambda: [1568])
    T: int = 8
    encoding: str = "direct"
    alpha: float = 0.5
    threshold: float = 1.0
    surrogate: str = "arctan"
    surrogate_alpha: float | None = None
    detach_reset: bool = False
    weight_init: str = "sswi"
    bias: bool = True

    def validate(self) -> "ModelConfig":
        if not self.hidden or any(int(h) < 1 for h in self.hidden):
            raise ValueError(f"model.hidden must be a non-empty list of positive widths; got {self.hidden}")
        if int(self.T) < 1:
            raise ValueError(f"model.T must be >= 1; got {self.T}")
        if self.encoding not in encoders.ENCODERS:
            raise ValueError(f"model.encoding must be one of {list(encoders.ENCODERS)}; got {self.encoding!r}")
        if self.surrogate not in SURROGATES:
            raise ValueError(f"model.surrogate must be one of {sorted(SURROGATES)}; got {self.surrogate!r}")
        if self.weight_init not in WEIGHT_INITS:
            raise ValueError(f"model.weight_init must be one of {list(WEIGHT_INITS)}; got {self.weight_init!r}")
        if not 0.0 < self.alpha <= 1.0:
            raise ValueError(f"model.alpha must be in (0, 1]; got {self.alpha}")
        if not self.threshold > 0.0:
            raise ValueError(f"model.threshold must be > 0; got {self.threshold}")
        return self


class SpikingMLP(nn.Module):
    """``n_in → hidden… → n_classes``; hidden layers are LIF populations.

    Every synaptic layer but the output one is a :class:`SparseLinear` when ``sparsity`` is given
    (CH-SNN sparsifies all linear layers except the output, 001 §3.2), dense ``nn.Linear``
    otherwise (the FC twin). The output is read out as the time-averaged output current.
    """

    def __init__(self, n_in: int, n_classes: int, config: ModelConfig, sparsity: float | None = None) -> None:
        super().__init__()
        self.config = config.validate()
        self.n_in = n_in
        widths = [n_in, *[int(h) for h in config.hidden], n_classes]
        layers: list[nn.Module] = []
        for i in range(len(widths) - 1):
            last = i == len(widths) - 2
            if sparsity is not None and not last:
                layers.append(SparseLinear(widths[i], widths[i + 1], sparsity, bias=config.bias))
            else:
                layers.append(nn.Linear(widths[i], widths[i + 1], bias=config.bias))
        self.synapses = nn.ModuleList(layers)
        self.neurons = nn.ModuleList(
            LIF(config.alpha, config.threshold, config.surrogate, config.surrogate_alpha, config.detach_reset)
            for _ in config.hidden
        )

    def sparse_layers(self) -> list[SparseLinear]:
        return [m for m in self.synapses if isinstance(m, SparseLinear)]

    @torch.no_grad()
    def init_weights(self, temporal_sparsity: float = 0.5) -> None:
        """Draw all weights with the configured rule; biases start at zero."""
        n = len(self.synapses)
        for i, layer in enumerate(self.synapses):
            fan_in = layer.in_features
            s = 1.0 - layer.density if isinstance(layer, SparseLinear) else 0.0
            rule = self.config.weight_init
            if rule == "sswi":
                position = "first" if i == 0 else ("last" if i == n - 1 else "hidden")
                std = sswi_std(fan_in, s, position, self.config.threshold, temporal_sparsity)
            elif rule == "swi":
                std = swi_std(fan_in, s)
            else:
                std = kaiming_std(fan_in)
            values = layer.weight_values if isinstance(layer, SparseLinear) else layer.weight
            values.normal_(0.0, std)
            if layer.bias is not None:
                layer.bias.zero_()

    def forward(
        self,
        x: torch.Tensor,
        recorder: ActivityRecorder | None = None,
        spike_noise: Callable[[torch.Tensor], torch.Tensor] | None = None,
    ) -> torch.Tensor:
        """Logits ``[B, n_classes]`` from static ``[B, n_in]`` or spike ``[T, B, n_in]`` input.

        ``spike_noise`` corrupts the first spike trains of the network: the input spikes, or the
        first hidden layer's spikes when the input is analog (robustness analysis, 001 A.9).
        """
        cfg = self.config
        first = self.synapses[0]
        analog = x.dim() == 2 and x.shape[1] == self.n_in and cfg.encoding == "direct"
        if analog:
            # direct encoding: the same analog input at every step, so compute its current once
            current = first(x).unsqueeze(0).expand(cfg.T, -1, -1)
            if recorder is not None:
                recorder.add_events(0, (x != 0).sum(0) * cfg.T, "mac")
        else:
            if x.dim() == 2:
                x = encoders.poisson(x, cfg.T) if cfg.encoding == "poisson" else encoders.latency(x, cfg.T)
            if x.dim() != 3 or x.shape[-1] != self.n_in:
                raise ValueError(f"expected input [B, {self.n_in}] or [T, B, {self.n_in}]; got {tuple(x.shape)}")
            if spike_noise is not None:
                x = spike_noise(x)
            current = first(x, binary=True) if isinstance(first, SparseLinear) else first(x)
            if recorder is not None:
                recorder.add_events(0, (x != 0).sum((0, 1)), "ac")
        for i, lif in enumerate(self.neurons):
            spikes = lif(current)
            if spike_noise is not None and analog and i == 0:
                spikes = spike_noise(spikes)
            nxt = self.synapses[i + 1]
            current = nxt(spikes, binary=True) if isinstance(nxt, SparseLinear) else nxt(spikes)
            if recorder is not None:
                recorder.add_spikes(i, spikes)
                recorder.add_events(i + 1, spikes.sum((0, 1)), "ac")
        if recorder is not None:
            recorder.add_samples(current.shape[1])
        return current.mean(0)
