"""Sparse ANNs trained with Cannistraci-Hebb training and then converted to SNNs (002, 003).

The same layer-spec skeleton as :class:`~sparsesnn.models.net.SpikingNet` (pooling on the
pre-activations, activation before every synaptic layer but the first), with a QCFS, CS-QCFS or
ReLU activation in place of each LIF population, so the converter replaces activations by
spiking neurons one for one and the topology stays exactly the ANN's (003 eq. 1).
"""

from __future__ import annotations

from typing import Callable

import torch
from torch import nn

from ..conversion.activations import make_activation
from .config import ModelConfig
from .layout import LayeredNet, pool


class SparseANN(LayeredNet):
    """``input_shape → spec… → n_classes`` with quantised activations.

    Args as :class:`~sparsesnn.models.layout.LayeredNet`; ``config.activation``, ``config.levels``
    (L) and ``config.qcfs_lambda`` (initial λ) choose the activation.
    """

    spiking = False

    def _build_populations(self, config: ModelConfig) -> None:
        self.activations = nn.ModuleList(
            make_activation(config.activation, config.levels, config.qcfs_lambda, shape) for shape in self.populations
        )

    def forward(self, x: torch.Tensor, recorder=None, taps: list | None = None,
                activation: Callable[[int, torch.Tensor], torch.Tensor] | None = None) -> torch.Tensor:
        """Logits ``[B, n_classes]`` of ``[B, *input_shape]``. ``taps``, if given, receives the
        (pre-activation, activation) pair of every population, in order (calibration);
        ``activation(population, z)``, if given, replaces the activations (closed-form
        converters such as AEC)."""
        if tuple(x.shape[1:]) != self.input_shape:
            raise ValueError(f"expected input [B, {self.input_shape}]; got {tuple(x.shape)}")
        cur = self.synapses[0](x)
        population = 0

        def fire(z: torch.Tensor) -> torch.Tensor:
            nonlocal population
            act = self.activations[population](z) if activation is None else activation(population, z)
            if taps is not None:
                taps.append((z, act))
            population += 1
            return act

        for kind, index in self.plan[1:]:
            if kind == "syn":
                cur = self.synapses[index](fire(cur))
            elif kind == "block":
                cur = self.residual(index, fire(cur), fire)
            elif kind == "pool":
                cur = pool(*self.pools[index], cur)
            else:
                cur = cur.flatten(1)
        return cur
