"""Network-science statistics of a layered sparse network (003 §4.2 and App. D; CHT paper).

Layers are given as boolean masks ``(n_out, n_in)`` of consecutive sparse layers; node layer 0 is
the first layer's input, node layer l the output of mask l − 1.
"""

from __future__ import annotations

import networkx as nx
import numpy as np
import torch
from networkx.algorithms import community
from scipy import sparse

from .embedding import coalescent_embedding, meta_depth
from .powerlaw import GAMMA_MAX, fit_power_law
from .smallworld import small_world


def layered_adjacency(masks: list[torch.Tensor]) -> tuple[sparse.csr_matrix, np.ndarray]:
    """Symmetric adjacency of the whole layered network and the layer index of every node."""
    sizes = [masks[0].shape[1]] + [m.shape[0] for m in masks]
    offsets = np.concatenate([[0], np.cumsum(sizes)])
    rows, cols = [], []
    for l, m in enumerate(masks):
        r, c = (t.cpu().numpy() for t in m.nonzero(as_tuple=True))
        rows.append(offsets[l + 1] + r)  # output node
        cols.append(offsets[l] + c)  # input node
    r, c = np.concatenate(rows), np.concatenate(cols)
    n = int(offsets[-1])
    adj = sparse.coo_matrix((np.ones(2 * r.size), (np.concatenate([r, c]), np.concatenate([c, r]))), shape=(n, n)).tocsr()
    layer = np.repeat(np.arange(len(sizes)), sizes)
    return adj, layer


def random_like(mask: torch.Tensor, seed: int) -> torch.Tensor:
    """A uniformly random mask of the same shape and link count (Erdős–Rényi bipartite)."""
    g = torch.Generator().manual_seed(seed)
    flat = torch.randperm(mask.numel(), generator=g)[: int(mask.sum())]
    out = torch.zeros(mask.numel(), dtype=torch.bool)
    out[flat] = True
    return out.view(mask.shape)


def layer_stats(mask: torch.Tensor, bootstrap: int, seed: int = 0) -> dict:
    """Degree statistics and the power-law fit of one sparse layer (its bipartite graph)."""
    k_out_nodes = mask.sum(1).numpy()  # in-degree of output neurons
    k_in_nodes = mask.sum(0).numpy()  # out-degree of input neurons
    degrees = np.concatenate([k_in_nodes, k_out_nodes])
    res = {
        "shape": list(mask.shape),
        "links": int(mask.sum()),
        "density": float(mask.float().mean()),
        "node_sparsity": float((degrees == 0).mean()),
        "degree_mean": float(degrees.mean()),
        "degree_max": int(degrees.max()),
        "degree_cv": float(degrees.std() / degrees.mean()) if degrees.mean() > 0 else 0.0,
    }
    try:
        fit = fit_power_law(degrees, bootstrap=bootstrap, seed=seed)
        res.update(gamma=fit.gamma, gamma_pvalue=fit.pvalue, xmin=fit.xmin, ks=fit.ks, n_tail=fit.n_tail,
                   gamma_at_bound=fit.gamma > GAMMA_MAX - 1e-3)
    except ValueError as exc:
        res.update(gamma=None, gamma_pvalue=None, xmin=None, fit_error=str(exc))
    return res


def modularity(adj: sparse.csr_matrix, seed: int = 0) -> float:
    g = nx.from_scipy_sparse_array(adj)
    g.remove_nodes_from([n for n, d in g.degree() if d == 0])
    parts = community.louvain_communities(g, seed=seed)
    return float(community.modularity(g, parts))


def analyze_masks(masks: list[torch.Tensor], bootstrap: int = 100, seed: int = 0) -> dict:
    """Per-layer statistics (degrees, power law, small-world σ against degree-preserving
    rewirings), whole-network meta-depth and modularity, each next to a random sparse network of
    equal shape and density."""

    def network(ms: list[torch.Tensor]) -> dict:
        layers = [{**layer_stats(m, bootstrap, seed), **small_world(m, seed=seed)} for m in ms]
        adj, layer_of = layered_adjacency(ms)
        gammas = [l["gamma"] for l in layers if l["gamma"] is not None]
        emb = coalescent_embedding(adj, gamma=float(np.mean(gammas)) if gammas else None, seed=seed)
        return {"layers": layers, **meta_depth(emb, layer_of), "modularity": modularity(adj, seed)}, (emb, layer_of)

    trained, embedding = network(masks)
    random, random_embedding = network([random_like(m, seed + i) for i, m in enumerate(masks)])
    return {**trained, "random_baseline": random, "_embeddings": {"trained": embedding, "random": random_embedding}}
