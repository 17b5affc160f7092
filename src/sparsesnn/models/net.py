"""Spiking networks built from a layer spec: convolutions, pooling and linear layers with LIF
neurons after every synaptic layer but the last (001 A.5: 2FC, 3FC, 2Conv2FC, 6Conv2FC).

Every linear layer but the output one is a :class:`SparseLinear` when ``sparsity`` is given
(CH-SNN sparsifies all linear layers except the output, 001 §3.2); convolutions stay dense.
Pooling acts on the synaptic currents before the LIF neurons (pooling is linear), so every layer
receives binary spikes and a spike's cost is its out-degree. The output is read out as the
time-averaged output current. Layout is ``[T, B, ...]``; convolutions and pooling fold T into
the batch.
"""

from __future__ import annotations

import math
from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn

from ..energy.recorder import ActivityRecorder
from ..energy.sops import out_degree
from ..layers.sparse_linear import SparseLinear
from ..neurons import encoders
from ..neurons.lif import LIF
from ..topology.weight_init import kaiming_std, sswi_std, swi_std
from .structure import structure_metrics
from .config import ModelConfig


def batch_input(x: torch.Tensor, events: bool, input_shape: tuple[int, ...], T: int) -> torch.Tensor:
    """A data batch as model input: static ``[B, ...]`` → ``[B, *input_shape]``; spike frames
    ``[B, T, ...]`` → ``[T, B, *input_shape]``."""
    x = x.float()
    if events:
        if x.shape[1] != T:
            raise ValueError(f"data has {x.shape[1]} time bins but model.T is {T}")
        return x.transpose(0, 1).reshape(x.shape[1], x.shape[0], *input_shape)
    return x.reshape(x.shape[0], *input_shape)


class SpikingNet(nn.Module):
    """``input_shape → spec… → n_classes``.

    Args:
        input_shape: shape of one sample without batch or time, e.g. ``(784,)`` or ``(2, 34, 34)``.
        n_classes: output width.
        config: :class:`ModelConfig` (its ``spec()`` gives the hidden layers).
        sparsity: link sparsity of the sparse linear layers; ``None`` builds the dense twin.
    """

    def __init__(self, input_shape: tuple[int, ...], n_classes: int, config: ModelConfig, sparsity: float | None = None) -> None:
        super().__init__()
        self.config = config.validate()
        self.input_shape = tuple(int(s) for s in input_shape)
        synapses: list[nn.Module] = []
        self.plan: list[tuple[str, int]] = []  # ("syn", synapse index) / ("pool", pool index) / ("flatten", 0)
        self.pools: list[tuple[str, int]] = []
        shape = self.input_shape
        in_shapes = []
        tokens = [*config.spec(), str(n_classes)]
        for j, token in enumerate(tokens):
            last = j == len(tokens) - 1
            if "C" in token:
                if len(shape) != 3:
                    raise ValueError(f"convolution {token} needs [C, H, W] input; got shape {shape}")
                c, k = (int(v) for v in token.split("C"))
                in_shapes.append(shape)
                synapses.append(nn.Conv2d(shape[0], c, k, padding=k // 2, bias=config.bias))
                shape = (c, shape[1] + 2 * (k // 2) - k + 1, shape[2] + 2 * (k // 2) - k + 1)
                self.plan.append(("syn", len(synapses) - 1))
            elif token[:2] in ("AP", "MP"):
                size = int(token[2:])
                self.pools.append((token[:2], size))
                self.plan.append(("pool", len(self.pools) - 1))
                shape = (shape[0], shape[1] // size, shape[2] // size)
            else:
                if len(shape) > 1:
                    self.plan.append(("flatten", 0))
                    shape = (math.prod(shape),)
                n = int(token)
                in_shapes.append(shape)
                sparse = sparsity is not None and not last
                synapses.append(SparseLinear(shape[0], n, sparsity, bias=config.bias) if sparse else nn.Linear(shape[0], n, bias=config.bias))
                shape = (n,)
                self.plan.append(("syn", len(synapses) - 1))
        self.synapses = nn.ModuleList(synapses)
        self.in_shapes = in_shapes
        # one LIF population after every synaptic layer but the last (and after it too for a spike readout)
        n_populations = len(synapses) - (0 if config.readout == "spikes" else 1)
        self.neurons = nn.ModuleList(
            LIF(config.alpha, config.threshold, config.surrogate, config.surrogate_alpha, config.detach_reset)
            for _ in range(n_populations)
        )

    # ----- structure ---------------------------------------------------------------------------
    def sparse_layers(self) -> list[SparseLinear]:
        return [m for m in self.synapses if isinstance(m, SparseLinear)]

    def chains(self) -> None:
        """Consecutive sparse linear layers chain by shape (the engine's default)."""
        return None

    def structure(self) -> dict:
        return structure_metrics(self.linear_layers())

    def linear_layers(self) -> list[nn.Module]:
        """The linear layers (sparse or dense), in order: what CH-SNN sparsifies, plus the readout."""
        return [m for m in self.synapses if isinstance(m, (SparseLinear, nn.Linear))]

    @torch.no_grad()
    def out_degrees(self) -> list[torch.Tensor]:
        """Links leaving each input element of every synaptic layer (flattened), on the current
        topology: what one presynaptic event costs there."""
        out = []
        for layer, shape in zip(self.synapses, self.in_shapes):
            if isinstance(layer, (SparseLinear, nn.Linear)):
                out.append(out_degree(layer).cpu())
            else:  # conv: (output channel, output position) pairs fed by each input element
                live = (layer.weight != 0).to(torch.float32).cpu()
                ones = torch.ones(1, *shape)
                h = F.conv2d(ones, live, padding=layer.padding)
                out.append(F.conv_transpose2d(torch.ones_like(h), live, padding=layer.padding).round().long().flatten())
        return out

    @torch.no_grad()
    def init_weights(self, temporal_sparsity: float = 0.5) -> None:
        """Draw all weights with the configured rule (SSWI: 001 eq. 3); biases start at zero."""
        n = len(self.synapses)
        for i, layer in enumerate(self.synapses):
            sparse = isinstance(layer, SparseLinear)
            fan_in = layer.in_features if sparse else layer.weight[0].numel()
            s = 1.0 - layer.density if sparse else 0.0
            rule = self.config.weight_init
            if rule == "sswi":
                position = "first" if i == 0 else ("last" if i == n - 1 else "hidden")
                std = sswi_std(fan_in, s, position, self.config.threshold, temporal_sparsity)
            elif rule == "swi":
                std = swi_std(fan_in, s)
            else:
                std = kaiming_std(fan_in)
            (layer.weight_values if sparse else layer.weight).normal_(0.0, std)
            if layer.bias is not None:
                layer.bias.zero_()

    # ----- compute -----------------------------------------------------------------------------
    def batch_input(self, x: torch.Tensor, events: bool) -> torch.Tensor:
        return batch_input(x, events, self.input_shape, self.config.T)

    def _synapse(self, i: int, x: torch.Tensor, time_major: bool) -> torch.Tensor:
        layer = self.synapses[i]
        if isinstance(layer, nn.Conv2d):
            if not time_major:
                return layer(x)
            return layer(x.flatten(0, 1)).unflatten(0, x.shape[:2])
        if isinstance(layer, SparseLinear):
            return layer(x, binary=time_major)
        return layer(x)

    def _pool(self, j: int, x: torch.Tensor) -> torch.Tensor:
        kind, size = self.pools[j]
        pool = F.avg_pool2d if kind == "AP" else F.max_pool2d
        return pool(x.flatten(0, 1), size).unflatten(0, x.shape[:2])

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
        return self.forward_sequence(x, recorder, spike_noise).mean(0)

    def forward_sequence(
        self,
        x: torch.Tensor,
        recorder: ActivityRecorder | None = None,
        spike_noise: Callable[[torch.Tensor], torch.Tensor] | None = None,
    ) -> torch.Tensor:
        """Output current, or output spikes for a spike readout, at every step: ``[T, B, n_classes]``."""
        cfg, T = self.config, self.config.T
        nd = len(self.input_shape)
        if x.dim() == nd + 1 and x.shape[1:] == self.input_shape and cfg.encoding == "direct":
            analog = True
            # direct encoding: the same analog input at every step, so compute its current once
            cur = self._synapse(0, x, time_major=False)
            cur = cur.unsqueeze(0).expand(T, *cur.shape)
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
                spikes = self.neurons[population](cur)
                if spike_noise is not None and analog and population == 0:
                    spikes = spike_noise(spikes)
                if recorder is not None:
                    recorder.add_spikes(population, spikes.flatten(2))
                population += 1
                cur = spikes
                if recorder is not None:
                    recorder.add_events(index, cur.sum((0, 1)).flatten(), "ac")
                cur = self._synapse(index, cur, time_major=True)
            elif kind == "pool":  # on currents, so the spikes reaching the next layer stay binary
                cur = self._pool(index, cur)
            else:
                cur = cur.flatten(2)
        if self.config.readout == "spikes":
            cur = self.neurons[population](cur)
            if recorder is not None:
                recorder.add_spikes(population, cur)
        if recorder is not None:
            recorder.add_samples(cur.shape[1])
        return cur
