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


def token_layers_structure(layers: list[nn.Module]) -> dict:
    """Link sparsity of a transformer's token-wise linear layers (the head excluded) and the
    share of their outputs left without an incoming link (layers here do not chain one after
    another, so a neuron's out-links are not checked)."""
    links = sum(int(_degrees(m)[0].sum()) for m in layers)
    slots = sum(m.in_features * m.out_features for m in layers)
    dead = sum(int((_degrees(m)[0] == 0).sum()) for m in layers if isinstance(m, SparseLinear))
    return {"link_sparsity": 1.0 - links / slots, "node_sparsity": dead / sum(m.out_features for m in layers), "links": links}


def attention_chains(blocks: list[nn.Module], sparse_layers: list[nn.Module]) -> list[list[int]]:
    """Topology-engine chains of transformer blocks with linear layers ``q, k, v, proj, fc1, fc2``:
    v feeds proj and fc1 feeds fc2 channel by channel; q and k stand alone (their outputs meet
    in a product, not a synapse)."""
    index = {id(m): i for i, m in enumerate(sparse_layers)}
    if not index:
        return []
    chains = []
    for b in blocks:
        chains += [[index[id(b.v)], index[id(b.proj)]], [index[id(b.fc1)], index[id(b.fc2)]], [index[id(b.q)]], [index[id(b.k)]]]
    return chains
