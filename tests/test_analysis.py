import networkx as nx
import numpy as np
import pytest

from sparsesnn.analysis.powerlaw import fit_power_law


def test_barabasi_albert_gamma_is_three():
    g = nx.barabasi_albert_graph(30000, 3, seed=1)
    fit = fit_power_law([d for _, d in g.degree()])
    assert abs(fit.gamma - 3.0) <= 0.2 and fit.xmin >= 3


def test_configuration_model_gamma_two_and_a_half():
    rng = np.random.default_rng(0)
    r = rng.random(20000)
    deg = np.floor((3 - 0.5) * (1 - r) ** (-1 / 1.5) + 0.5).astype(int)
    deg[0] += deg.sum() % 2
    g = nx.configuration_model(deg, seed=2)
    fit = fit_power_law([d for _, d in g.degree()])
    assert abs(fit.gamma - 2.5) <= 0.2


def test_bootstrap_pvalue_accepts_power_law_and_poisson_is_not_scale_free():
    rng = np.random.default_rng(3)
    r = rng.random(3000)
    pl = np.floor((2 - 0.5) * (1 - r) ** (-1 / 1.5) + 0.5).astype(int)
    fit = fit_power_law(pl, bootstrap=60, seed=1)
    assert fit.pvalue > 0.1 and abs(fit.gamma - 2.5) < 0.2
    # a light (Poisson) tail only admits a very steep "power law" on its last few values
    poisson = fit_power_law(rng.poisson(20, 3000))
    assert poisson.gamma > 5 and poisson.n_tail < 0.2 * 3000


def test_rejects_degenerate_input():
    with pytest.raises(ValueError, match="positive degrees"):
        fit_power_law([3, 3, 3, 0])


def test_degree_preserving_rewiring_and_small_world():
    import torch

    from sparsesnn.analysis.smallworld import bipartite_clustering, degree_preserving, small_world

    # a banded (lattice-like) bipartite layer is highly clustered; rewiring keeps degrees, lowers clustering
    n = 120
    idx = torch.arange(n)
    mask = torch.zeros(n, n, dtype=torch.bool)
    for k in range(4):
        mask[idx, (idx + k) % n] = True
    rewired = degree_preserving(mask, seed=1)
    assert torch.equal(rewired.sum(0), mask.sum(0)) and torch.equal(rewired.sum(1), mask.sum(1))
    assert bipartite_clustering(rewired) < bipartite_clustering(mask)
    sw = small_world(mask)
    assert sw["clustering"] > sw["clustering_random"] and sw["sigma"] > 0
    assert -1.0 <= sw["omega"] <= 1.0
    lattice = degree_preserving(rewired, seed=2, lattice=True)
    assert torch.equal(lattice.sum(0), mask.sum(0)) and bipartite_clustering(lattice) > bipartite_clustering(rewired)
