"""Spiking networks built from a layer spec: convolutions, pooling and linear layers with LIF
neurons after every synaptic layer but the last (001 A.5: 2FC, 3FC, 2Conv2FC, 6Conv2FC).

Every linear layer but the output one is a :class:`SparseLinear` when ``sparsity`` is given
(CH-SNN sparsifies all linear layers except the output, 001 §3.2); convolutions are dense, or
:class:`SparseConv2d` when ``conv_sparsity`` is given.
Pooling acts on the synaptic currents before the LIF neurons (pooling is linear), so every layer
receives binary spikes and a spike's cost is its out-degree. The output is read out as the
time-averaged output current. Layout is ``[T, B, ...]``; convolutions and pooling fold T into
the batch.
"""

from __future__ import annotations

from typing import Callable

import torch
from torch import nn

from ..energy.recorder import ActivityRecorder
from ..layers.sparse_linear import SparseLinear
from ..neurons import encoders
from ..neurons.lif import LIF
from .config import ModelConfig
from .layout import LayeredNet, is_linear, pool


class SpikingNet(LayeredNet):
    """``input_shape → spec… → n_classes`` of LIF populations (args as
    :class:`~sparsesnn.models.layout.LayeredNet`)."""

    def _build_populations(self, config: ModelConfig) -> None:
        if self.blocks:
            raise ValueError("model.arch: residual blocks (R<c>) are for ANNs trained for conversion (train --ann)")
        # one LIF population after every synaptic layer but the last (and after it too for a spike readout)
        n_populations = len(self.synapses) - (0 if config.readout == "spikes" else 1)
        self.neurons = nn.ModuleList(
            LIF(config.alpha, config.threshold, config.surrogate, config.surrogate_alpha, config.detach_reset)
            for _ in range(n_populations)
        )

    # ----- compute -----------------------------------------------------------------------------
    def _synapse(self, i: int, x: torch.Tensor, time_major: bool) -> torch.Tensor:
        layer = self.synapses[i]
        if not is_linear(layer):  # convolution
            if not time_major:
                return layer(x)
            return layer(x.flatten(0, 1)).unflatten(0, x.shape[:2])
        if isinstance(layer, SparseLinear):
            return layer(x, binary=time_major)
        return layer(x)

    def _pool(self, j: int, x: torch.Tensor) -> torch.Tensor:
        return pool(*self.pools[j], x.flatten(0, 1)).unflatten(0, x.shape[:2])

    def forward(
        self,
        x: torch.Tensor,
        recorder: ActivityRecorder | None = None,
        spike_noise: Callable[[torch.Tensor], torch.Tensor] | None = None,
    ) -> torch.Tensor:
        """Logits ``[B, n_classes]`` from static ``[B, *input_shape]`` or spikes ``[T, B, *input_shape]``:
        the output sequence averaged over time (current, or spike rate for a spike readout).

        ``spike_noise`` corrupts the first spike trains of the network: the input spikes, or the
        first hidden layer's spikes when the input is analog (robustness analysis, 001 A.9).
        """
        return self.forward_sequence(x, recorder, spike_noise, average=True).mean(0)

    def forward_sequence(
        self,
        x: torch.Tensor,
        recorder: ActivityRecorder | None = None,
        spike_noise: Callable[[torch.Tensor], torch.Tensor] | None = None,
        average: bool = False,
    ) -> torch.Tensor:
        """Output current, or output spikes for a spike readout, at every step: ``[T, B, n_classes]``.
        ``average`` (current readout): return only the time average ``[1, B, n_classes]``, computed
        as the output layer applied to the time-averaged spikes — the same value (the layer is
        linear) for 1/T of the products; SOPs are still counted from every spike."""
        cfg, T = self.config, self.config.T
        nd = len(self.input_shape)
        if x.dim() == nd + 1 and x.shape[1:] == self.input_shape and cfg.encoding == "direct":
            analog = True
            # direct encoding: the same analog input at every step, so its current is computed
            # once and held ([1, B, ...]) until the first LIF population expands it to T steps
            cur = self._synapse(0, x, time_major=False).unsqueeze(0)
            if recorder is not None:
                recorder.add_events(0, (x != 0).sum(0).flatten() * T, "mac")
        else:
            analog = False
            if x.dim() == nd + 1:
                x = encoders.poisson(x, T) if cfg.encoding == "poisson" else encoders.latency(x, T)
            if x.dim() != nd + 2 or tuple(x.shape[2:]) != self.input_shape:
                raise ValueError(f"expected input [B, {self.input_shape}] or [T, B, {self.input_shape}]; got {tuple(x.shape)}")
            if spike_noise is not None:
                x = spike_noise(x)
            cur = self._synapse(0, x, time_major=True)
            if recorder is not None:
                recorder.add_events(0, (x != 0).sum((0, 1)).flatten(), "ac")
        population = 0
        for kind, index in self.plan[1:]:
            if kind == "syn":
                spikes = self.neurons[population](cur, steps=T)
                if spike_noise is not None and analog and population == 0:
                    spikes = spike_noise(spikes)
                if recorder is not None:
                    recorder.add_spikes(population, spikes.flatten(2))
                population += 1
                cur = spikes
                if recorder is not None:
                    recorder.add_events(index, cur.sum((0, 1)).flatten(), "ac")
                if average and index == len(self.synapses) - 1 and cfg.readout == "current":
                    # sum then divide: mean's backward would materialise a [T, B, N] gradient, while
                    # sum's is a stride-0 view that the LIF backward reads as one row
                    cur = self._synapse(index, cur.sum(0) / cur.shape[0], time_major=False).unsqueeze(0)
                else:
                    cur = self._synapse(index, cur, time_major=True)
            elif kind == "pool":  # on currents, so the spikes reaching the next layer stay binary
                cur = self._pool(index, cur)
            else:
                cur = cur.flatten(2)
        if self.config.readout == "spikes":
            cur = self.neurons[population](cur, steps=T)
            if recorder is not None:
                recorder.add_spikes(population, cur)
        if recorder is not None:
            recorder.add_samples(cur.shape[1])
        # a held current reaches here only in a net without hidden populations
        return cur if average else cur.expand(T, *cur.shape[1:])
