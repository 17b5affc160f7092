"""Small-worldness of a bipartite layer against degree-preserving random layers.

Bipartite graphs have no triangles, so clustering is the Robins–Alexander coefficient
C = 4·(#4-cycles)/(#3-paths). σ = (C/C_r)/(L/L_r) (Humphries & Gurney 2008) with C_r, L_r the
means over degree-preserving rewirings (bipartite edge swaps); ω = L_r/L − C/C_l (Telesford et
al. 2011) with C_l from a degree-preserving latticised layer (ω ≈ 0 small world, → −1 lattice,
→ +1 random). L is the mean shortest-path
length of the largest component, estimated from BFS trees of sampled sources.
"""

from __future__ import annotations

import numpy as np
import torch
from scipy import sparse
from scipy.sparse import csgraph


def degree_preserving(
    mask: torch.Tensor, swaps_per_link: int = 10, seed: int = 0, lattice: bool = False
) -> torch.Tensor:
    """Rewire by random swaps (u1,v1),(u2,v2) → (u1,v2),(u2,v1), rejected if they would duplicate a
    link; every node keeps its degree. ``lattice``: accept only swaps that shorten the ring distance
    between the endpoints' relative positions (latticisation, the lattice reference of ω)."""
    rng = np.random.default_rng(seed)
    rows, cols = (t.numpy().copy() for t in mask.nonzero(as_tuple=True))
    n_in = mask.shape[1]
    shape = tuple(mask.shape)
    keys = set((rows * n_in + cols).tolist())
    m = rows.size
    if m < 2:
        return mask.clone()
    pairs = rng.integers(0, m, size=(swaps_per_link * m, 2))
    for a, b in pairs:
        u1, v1, u2, v2 = rows[a], cols[a], rows[b], cols[b]
        if u1 == u2 or v1 == v2:
            continue
        k1, k2 = u1 * n_in + v2, u2 * n_in + v1
        if k1 in keys or k2 in keys:
            continue
        if lattice and _ring(u1, v2, shape) + _ring(u2, v1, shape) >= _ring(u1, v1, shape) + _ring(u2, v2, shape):
            continue
        keys.difference_update((u1 * n_in + v1, u2 * n_in + v2))
        keys.update((k1, k2))
        cols[a], cols[b] = v2, v1
    out = torch.zeros(mask.shape, dtype=torch.bool)
    out[torch.from_numpy(rows), torch.from_numpy(cols)] = True
    return out


def _ring(u: int, v: int, shape: tuple[int, int]) -> float:
    d = abs(u / shape[0] - v / shape[1])
    return min(d, 1.0 - d)


def bipartite_clustering(mask: torch.Tensor) -> float:
    """Robins–Alexander clustering: 4 × 4-cycles / 3-paths."""
    b = sparse.csr_matrix(mask.numpy().astype(np.float64))
    dd = (b @ b.T).tocoo()
    off = dd.row != dd.col
    cycles = float((dd.data[off] * (dd.data[off] - 1) / 2).sum()) / 2  # each pair of outputs counted twice
    k_out, k_in = np.asarray(b.sum(1)).ravel(), np.asarray(b.sum(0)).ravel()
    r, c = b.nonzero()
    paths = float(((k_out[r] - 1) * (k_in[c] - 1)).sum())
    return 4.0 * cycles / paths if paths > 0 else 0.0


def mean_path_length(mask: torch.Tensor, sources: int = 200, seed: int = 0) -> float:
    n_out, n_in = mask.shape
    b = sparse.csr_matrix(mask.numpy().astype(np.float64))
    adj = sparse.bmat([[None, b], [b.T, None]]).tocsr()
    _, labels = csgraph.connected_components(adj, directed=False)
    giant = np.flatnonzero(labels == np.argmax(np.bincount(labels)))
    src = np.random.default_rng(seed).choice(giant, size=min(sources, giant.size), replace=False)
    dist = csgraph.shortest_path(adj, unweighted=True, indices=src)[:, giant]
    finite = dist[np.isfinite(dist) & (dist > 0)]
    return float(finite.mean())


def small_world(mask: torch.Tensor, references: int = 3, seed: int = 0) -> dict:
    c, l = bipartite_clustering(mask), mean_path_length(mask, seed=seed)
    refs = [degree_preserving(mask, seed=seed + i) for i in range(references)]
    c_r = float(np.mean([bipartite_clustering(r) for r in refs]))
    l_r = float(np.mean([mean_path_length(r, seed=seed) for r in refs]))
    c_l = bipartite_clustering(degree_preserving(mask, seed=seed, lattice=True))
    sigma = (c / c_r) / (l / l_r) if c_r > 0 and l_r > 0 else None
    omega = l_r / l - c / c_l if c_l > 0 else None
    return {"clustering": c, "path_length": l, "clustering_random": c_r, "path_length_random": l_r,
            "clustering_lattice": c_l, "sigma": sigma, "omega": omega}
