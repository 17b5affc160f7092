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
