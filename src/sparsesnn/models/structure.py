"""Link and node sparsity of a chain of linear layers (sparse or dense)."""

from __future__ import annotations

import torch
from torch import nn

from ..layers.sparse_linear import SparseLinear


def _degrees(layer: nn.Module) -> tuple[torch.Tensor, torch.Tensor]:
    """(in-degree of outputs, out-degree of inputs) counted on links that exist."""
    if isinstance(layer, SparseLinear):
        return layer.in_degree(), layer.out_degree()
    nz = layer.weight.detach() != 0
    return nz.sum(1), nz.sum(0)


def structure_metrics(synapses: list[nn.Module]) -> dict:
    """Link sparsity of the sparsifiable layers (all but the output) and node sparsity.

    A hidden neuron is inactive when it has no incoming or no outgoing link (001 §3.2.3); node
    sparsity is the inactive fraction of hidden neurons, input node sparsity that of inputs.
    """
    body = synapses[:-1]
    links = sum(int(_degrees(l)[0].sum()) for l in body)
    slots = sum(l.in_features * l.out_features for l in body)
    all_links = links + int(_degrees(synapses[-1])[0].sum())
    all_slots = slots + synapses[-1].in_features * synapses[-1].out_features
    dead, hidden = 0, 0
    for a, b in zip(synapses[:-1], synapses[1:]):
        in_deg, _ = _degrees(a)
        _, out_deg = _degrees(b)
        dead += int(((in_deg == 0) | (out_deg == 0)).sum())
        hidden += a.out_features
    _, first_out = _degrees(synapses[0])
    return {
        "link_sparsity": 1.0 - links / slots if slots else 0.0,
        "overall_link_sparsity": 1.0 - all_links / all_slots,
        "links": links,
        "node_sparsity": dead / hidden if hidden else 0.0,
        "input_node_sparsity": float((first_out == 0).to(torch.float64).mean()),
        "layer_links": [int(_degrees(l)[0].sum()) for l in synapses],
    }
