"""Layer specs → synaptic layers: the feed-forward skeleton shared by the spiking networks
(:class:`~sparsesnn.models.net.SpikingNet`) and the ANNs trained for conversion
(:class:`~sparsesnn.models.ann.SparseANN`), so a converted SNN has exactly its ANN's layers.

Spec tokens: ``<c>C<k>`` convolution (padding k//2), ``AP<k>``/``MP<k>`` pooling, ``<n>`` linear,
``R<c>`` a residual basic block (ANNs for conversion): two 3×3 convolutions with an activation
between them, plus the block's input — directly, or through a 1×1 convolution when the channel
count changes — added to the second convolution's output before the next activation (a
residual adds currents, which is also how a converted SNN adds it).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn

from ..energy.sops import conv_out_degree, out_degree
from ..topology.weight_init import kaiming_std, sswi_std, swi_std
from .structure import structure_metrics
from ..layers.sparse_conv import SparseConv2d
from ..layers.sparse_linear import SparseLinear, SparseLinks


@dataclass
class Layout:
    """``plan``: ("syn", synapse index) / ("pool", pool index) / ("flatten", 0) / ("block", block
    index), in order; ``in_shapes[i]``: the shape one sample has entering synapse i;
    ``populations[p]``: the shape of the p-th activation (spiking population) in forward order;
    ``targets[p]``: the synapses population p feeds (−1: an identity shortcut), what its spikes
    cost; ``blocks[b]``: synapse indices (first conv, second conv, shortcut conv or None)."""

    synapses: list[nn.Module]
    plan: list[tuple[str, int]]
    pools: list[tuple[str, int]]
    in_shapes: list[tuple[int, ...]]
    populations: list[tuple[int, ...]]
    targets: list[list[int]]
    blocks: list[tuple[int, int, int | None]]


def _conv(c_in: int, c_out: int, k: int, conv_sparsity: float | None, bias: bool) -> nn.Module:
    if conv_sparsity is not None:
        return SparseConv2d(c_in, c_out, k, conv_sparsity, padding=k // 2, bias=bias)
    return nn.Conv2d(c_in, c_out, k, padding=k // 2, bias=bias)


def build_layout(
    input_shape: tuple[int, ...],
    tokens: list[str],
    sparsity: float | None,
    conv_sparsity: float | None = None,
    bias: bool = True,
) -> Layout:
    """Synaptic layers for ``tokens`` (the last token is the output layer). Every linear layer
    but the output one is a :class:`SparseLinear` when ``sparsity`` is given (CH-SNN and CHT keep
    the classifier dense, 001 §3.2, 003 fn. 1); convolutions are :class:`SparseConv2d` when
    ``conv_sparsity`` is given."""
    synapses: list[nn.Module] = []
    plan: list[tuple[str, int]] = []
    pools: list[tuple[str, int]] = []
    in_shapes: list[tuple[int, ...]] = []
    populations: list[tuple[int, ...]] = []
    targets: list[list[int]] = []
    blocks: list[tuple[int, int, int | None]] = []
    shape = tuple(input_shape)

    def add(layer: nn.Module, in_shape: tuple[int, ...], fed_by: int | None = None) -> int:
        """Append a synapse; it gets its own population (an activation precedes every synapse but
        the first) unless ``fed_by`` names an existing one (a shortcut)."""
        synapses.append(layer)
        in_shapes.append(in_shape)
        index = len(synapses) - 1
        if fed_by is not None:
            targets[fed_by].append(index)
        elif index:
            populations.append(in_shape)
            targets.append([index])
        return index

    for j, token in enumerate(tokens):
        last = j == len(tokens) - 1
        if token.startswith("R"):
            c = int(token[1:])
            if not synapses or len(shape) != 3:
                raise ValueError(f"residual block {token} needs a preceding convolution ([C, H, W] input); got shape {shape}")
            first = add(_conv(shape[0], c, 3, conv_sparsity, bias), shape)  # creates the block input's population
            block_input = len(targets) - 1
            second = add(_conv(c, c, 3, conv_sparsity, bias), (c, *shape[1:]))
            if shape[0] != c:
                short = add(_conv(shape[0], c, 1, conv_sparsity, bias), shape, fed_by=block_input)
            else:
                short = None
                targets[block_input].append(-1)  # identity shortcut: one AC per spike
            blocks.append((first, second, short))
            plan.append(("block", len(blocks) - 1))
            shape = (c, *shape[1:])
        elif "C" in token:
            if len(shape) != 3:
                raise ValueError(f"convolution {token} needs [C, H, W] input; got shape {shape}")
            c, k = (int(v) for v in token.split("C"))
            plan.append(("syn", add(_conv(shape[0], c, k, conv_sparsity, bias), shape)))
            shape = (c, shape[1] + 2 * (k // 2) - k + 1, shape[2] + 2 * (k // 2) - k + 1)
        elif token[:2] in ("AP", "MP"):
            size = int(token[2:])
            pools.append((token[:2], size))
            plan.append(("pool", len(pools) - 1))
            shape = (shape[0], shape[1] // size, shape[2] // size)
        else:
            if len(shape) > 1:
                plan.append(("flatten", 0))
                shape = (math.prod(shape),)
            n = int(token)
            sparse = sparsity is not None and not last
            plan.append(("syn", add(SparseLinear(shape[0], n, sparsity, bias=bias) if sparse else nn.Linear(shape[0], n, bias=bias), shape)))
            shape = (n,)
    return Layout(synapses, plan, pools, in_shapes, populations, targets, blocks)


def pool(kind: str, size: int, x: torch.Tensor) -> torch.Tensor:
    """Average or max pooling of ``[N, C, H, W]``."""
    return (F.avg_pool2d if kind == "AP" else F.max_pool2d)(x, size)


def is_linear(layer: nn.Module) -> bool:
    return isinstance(layer, (SparseLinear, nn.Linear))


def fan_in(layer: nn.Module) -> int:
    """Inputs of one output unit in the dense layout (in_features, or C_in·k·k)."""
    return layer.in_features if isinstance(layer, SparseLinks) else layer.weight[0].numel()


@torch.no_grad()
def out_degrees(synapses: list[nn.Module], in_shapes: list[tuple[int, ...]]) -> list[torch.Tensor]:
    """Links leaving each input element of every synaptic layer (flattened), on the current
    topology: what one presynaptic event costs there."""
    out = []
    for layer, shape in zip(synapses, in_shapes):
        if is_linear(layer):
            out.append(out_degree(layer).cpu())
        else:
            kernel = layer.kernel() if isinstance(layer, SparseConv2d) else layer.weight
            out.append(conv_out_degree(kernel != 0, shape, layer.padding))
    return out


def batch_input(x: torch.Tensor, events: bool, input_shape: tuple[int, ...], T: int) -> torch.Tensor:
    """A data batch as model input: static ``[B, ...]`` → ``[B, *input_shape]``; spike frames
    ``[B, T, ...]`` → ``[T, B, *input_shape]``."""
    x = x.float()
    if events:
        if x.shape[1] != T:
            raise ValueError(f"data has {x.shape[1]} time bins but model.T is {T}")
        return x.transpose(0, 1).reshape(x.shape[1], x.shape[0], *input_shape)
    return x.reshape(x.shape[0], *input_shape)


class LayeredNet(nn.Module):
    """What every layer-spec network shares: ``config``
    (:class:`~sparsesnn.models.config.ModelConfig`), ``input_shape`` and the synaptic skeleton
    (``synapses``, ``plan``, ``pools``, ``in_shapes``) for ``config.spec()`` plus an output layer of
    ``n_classes``; the subclass adds its neurons in :meth:`_build_populations`.

    Args:
        input_shape: shape of one sample without batch or time, e.g. ``(784,)`` or ``(2, 34, 34)``.
        n_classes: output width.
        config: :class:`~sparsesnn.models.config.ModelConfig` (its ``spec()`` gives the hidden layers).
        sparsity: link sparsity of the sparse linear layers; ``None`` builds the dense twin.
        conv_sparsity: link sparsity of the sparse convolutions; ``None``: dense convolutions.
    """

    synapses: nn.ModuleList
    in_shapes: list[tuple[int, ...]]
    input_shape: tuple[int, ...]

    def __init__(self, input_shape: tuple[int, ...], n_classes: int, config, sparsity: float | None = None,
                 conv_sparsity: float | None = None) -> None:
        super().__init__()
        self.config = config.validate()
        self.input_shape = tuple(int(s) for s in input_shape)
        layout = build_layout(self.input_shape, [*config.spec(), str(n_classes)], sparsity, conv_sparsity, config.bias)
        self.synapses = nn.ModuleList(layout.synapses)
        self.plan, self.pools, self.in_shapes = layout.plan, layout.pools, layout.in_shapes
        self.populations, self.targets, self.blocks = layout.populations, layout.targets, layout.blocks
        self._build_populations(self.config)

    def _build_populations(self, config) -> None:
        """Add the neurons (or activations) of ``self.populations``."""
        raise NotImplementedError

    def residual(self, index: int, a: torch.Tensor, fire: Callable[[torch.Tensor], torch.Tensor],
                 apply: Callable[[nn.Module, torch.Tensor], torch.Tensor] | None = None) -> torch.Tensor:
        """Output current of residual block ``index`` given its input activation ``a``: the second
        conv of ``fire``(first conv) plus ``a`` or its 1×1 projection. ``apply(layer, x)`` runs a
        synaptic layer (default ``layer(x)``; the converter maps it over time steps)."""
        first, second, short = self.blocks[index]
        syn = (lambda i, t: self.synapses[i](t)) if apply is None else (lambda i, t: apply(self.synapses[i], t))
        return syn(second, fire(syn(first, a))) + (a if short is None else syn(short, a))

    # ----- structure ---------------------------------------------------------------------------
    def sparse_layers(self) -> list[SparseLinks]:
        return [m for m in self.synapses if isinstance(m, SparseLinks)]

    def chains(self) -> None:
        """Consecutive sparse linear layers chain by shape (the engine's default)."""
        return None

    def structure(self) -> dict:
        return structure_metrics(self.linear_layers())

    def linear_layers(self) -> list[nn.Module]:
        """The linear layers (sparse or dense), in order: what CH-SNN sparsifies, plus the readout."""
        return [m for m in self.synapses if is_linear(m)]

    def out_degrees(self) -> list[torch.Tensor]:
        """Links leaving each input element of every synaptic layer, on the current topology."""
        return out_degrees(list(self.synapses), self.in_shapes)

    @torch.no_grad()
    def init_weights(self, temporal_sparsity: float = 0.5) -> None:
        """Draw all weights with the configured rule (SSWI: 001 eq. 3); biases start at zero."""
        n = len(self.synapses)
        for i, layer in enumerate(self.synapses):
            sparse = isinstance(layer, SparseLinks)
            s = 1.0 - layer.density if sparse else 0.0
            rule = self.config.weight_init
            if rule == "sswi":
                position = "first" if i == 0 else ("last" if i == n - 1 else "hidden")
                std = sswi_std(fan_in(layer), s, position, self.config.threshold, temporal_sparsity)
            elif rule == "swi":
                std = swi_std(fan_in(layer), s)
            else:
                std = kaiming_std(fan_in(layer))
            (layer.weight_values if sparse else layer.weight).normal_(0.0, std)
            if layer.bias is not None:
                layer.bias.zero_()

    def batch_input(self, x: torch.Tensor, events: bool) -> torch.Tensor:
        return batch_input(x, events, self.input_shape, self.config.T)
