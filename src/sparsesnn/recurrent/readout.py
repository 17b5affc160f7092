"""Readouts of reservoir features: ridge regression (closed form) and the multi-layer readout of
004 §VI.F (top 10 % of neurons by betweenness centrality → 20 → outputs)."""

from __future__ import annotations

import networkx as nx
import numpy as np
import torch

from .network import Reservoir


def design(features: np.ndarray, inputs: np.ndarray | None = None) -> np.ndarray:
    """[1, u(t), r(t)]: bias, the current input (a linear path) and the reservoir features."""
    cols = [np.ones((len(features), 1)), features] if inputs is None else [np.ones((len(features), 1)), inputs, features]
    return np.concatenate(cols, 1)


def ridge_fit(X: np.ndarray, Y: np.ndarray, alpha: float = 1e-4) -> np.ndarray:
    """W minimising ‖XW − Y‖² + α‖W‖² (bias column unpenalised); solved in float64."""
    X, Y = np.asarray(X, np.float64), np.asarray(Y, np.float64)
    reg = alpha * np.eye(X.shape[1])
    reg[0, 0] = 0.0
    return np.linalg.solve(X.T @ X + reg, X.T @ Y)


def betweenness_top(res: Reservoir, fraction: float = 0.1, pivots: int = 256, seed: int = 0) -> np.ndarray:
    """Indices of the ``fraction`` of live neurons with the highest betweenness centrality
    (distance 1/|w|, k pivot sources for large graphs)."""
    g = to_graph(res)
    bc = nx.betweenness_centrality(g, k=min(pivots, g.number_of_nodes()), weight="distance", seed=seed)
    live = [i for i in range(res.n) if bool(res.alive[i])]
    order = sorted(live, key=lambda i: -bc.get(i, 0.0))
    return np.asarray(order[: max(1, int(round(fraction * len(live))))])


def to_graph(res: Reservoir) -> nx.DiGraph:
    g = nx.DiGraph()
    g.add_nodes_from(int(i) for i in torch.nonzero(res.alive).flatten())
    w = res.w.abs().clamp_min(1e-12)
    g.add_weighted_edges_from(
        ((int(a), int(b), float(1.0 / x)) for a, b, x in zip(res.pre, res.post, w)), weight="distance"
    )
    return g


def mlp_readout(features: np.ndarray, targets: np.ndarray, neurons: np.ndarray, hidden: int = 20, epochs: int = 300,
                lr: float = 1e-2, seed: int = 0, classify: bool = False) -> torch.nn.Module:
    """The multi-layer readout of 004 §VI.F on the chosen neurons' features: |neurons| → 20 → out."""
    torch.manual_seed(seed)
    x = torch.as_tensor(features[:, neurons], dtype=torch.float32)
    y = torch.as_tensor(targets)
    out = int(y.max()) + 1 if classify else y.shape[1]
    net = torch.nn.Sequential(torch.nn.Linear(x.shape[1], hidden), torch.nn.Tanh(), torch.nn.Linear(hidden, out))
    opt = torch.optim.Adam(net.parameters(), lr=lr)
    for _ in range(epochs):
        pred = net(x)
        loss = torch.nn.functional.cross_entropy(pred, y.long()) if classify else torch.nn.functional.mse_loss(pred, y.float())
        opt.zero_grad()
        loss.backward()
        opt.step()
    return net
