"""Bayesian optimisation over parameter distributions (004 eq. 6–8)."""

import dataclasses
import json
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import integrate, stats

from sparsesnn.cli.main import main
from sparsesnn.recurrent.bayesopt import (
    SPACE, DistributionGP, _blocks, _configs, expected_improvement, optimise, quantile_embedding, wasserstein_matern,
)
from sparsesnn.recurrent.network import ReservoirConfig


def test_matern_on_w_has_the_closed_forms_of_half_integer_smoothness():
    w = np.linspace(0.0, 3.0, 31)
    assert np.allclose(wasserstein_matern(w, 2.0, 0.7, 0.5), 2.0 * np.exp(-w / 0.7))
    r = math.sqrt(3.0) * w / 0.7
    assert np.allclose(wasserstein_matern(w, 2.0, 0.7, 1.5), 2.0 * (1 + r) * np.exp(-r))
    r = math.sqrt(5.0) * w / 0.7
    assert np.allclose(wasserstein_matern(w, 2.0, 0.7, 2.5), 2.0 * (1 + r + r * r / 3) * np.exp(-r))


def _random_config(rng) -> ReservoirConfig:
    values = {f: float(np.exp(rng.uniform(np.log(lo), np.log(hi)))) for f, (lo, hi) in SPACE.items()}
    return ReservoirConfig(neuron_het=rng.choice(["homo", "hetero"]), stdp_het=rng.choice(["homo", "hetero"]), **values)


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 2**32 - 1))
def test_embedding_distance_is_the_wasserstein_distance(seed):
    """‖e(P) − e(Q)‖² equals Σ_blocks ∫₀¹ (F_P⁻¹ − F_Q⁻¹)² du / scale² computed by quadrature."""
    rng = np.random.default_rng(seed)
    a, b = _random_config(rng), _random_config(rng)
    exact = 0.0
    for (ma, ka, ha, scale), (mb, kb, hb, _) in zip(_blocks(a), _blocks(b)):
        qa = (lambda u, m=ma, k=ka: stats.gamma.ppf(u, k, scale=m / k)) if ha else (lambda u, m=ma: m)
        qb = (lambda u, m=mb, k=kb: stats.gamma.ppf(u, k, scale=m / k)) if hb else (lambda u, m=mb: m)
        exact += integrate.quad(lambda u: (qa(u) - qb(u)) ** 2, 0, 1, limit=200)[0] / scale**2
    approx = float(np.sum((quantile_embedding(a, 512) - quantile_embedding(b, 512)) ** 2))
    assert approx == pytest.approx(exact, rel=0.05, abs=1e-6)


def test_gram_matrix_is_positive_semidefinite_and_gp_interpolates():
    rng = np.random.default_rng(1)
    x = np.stack([quantile_embedding(_random_config(rng)) for _ in range(25)])
    d = np.sqrt(((x[:, None] - x[None]) ** 2).sum(-1))
    for rho in (0.5, 1.5, 2.5):
        assert np.linalg.eigvalsh(wasserstein_matern(d, 1.0, float(np.median(d)), rho)).min() > -1e-9
    y = np.sin(x[:, 0] * 3) + x[:, 5]
    gp = DistributionGP().fit(x[:20], y[:20])
    mean, sd = gp.predict(x[:20])
    assert np.allclose(mean, y[:20], atol=0.05 * np.ptp(y)) and (sd < 0.2 * y.std()).all()
    _, sd_far = gp.predict(x[:20] + 50.0)
    assert (sd_far > sd.max()).all()  # far from the data the posterior reverts to the prior


def test_expected_improvement_formula():
    mean, sd = np.array([1.0, 0.0, 2.0]), np.array([1.0, 2.0, 1e-15])
    z = (mean - 0.5) / np.maximum(sd, 1e-12)
    ref = (mean - 0.5) * stats.norm.cdf(z) + np.maximum(sd, 1e-12) * stats.norm.pdf(z)
    ei = expected_improvement(mean, sd, 0.5)
    assert np.allclose(ei, ref) and (ei >= 0).all() and ei[2] == pytest.approx(1.5)


def test_bo_beats_its_initial_design_on_a_distribution_objective():
    """Objective: closeness (−W₂) to a target set of distributions; EI steps must improve on the
    Sobol start and come closer than the same budget of extra random points did in that start."""
    base = ReservoirConfig(neurons=50)
    target = dataclasses.replace(base, tau_e=30.0, tau_i=5.0, shape_k=6.0, a_plus=0.01, a_minus=0.004,
                                 tau_plus=15.0, tau_minus=40.0, stdp_shape_k=3.0)
    goal = quantile_embedding(target)
    f = lambda c: -float(np.linalg.norm(quantile_embedding(c) - goal))  # noqa: E731
    history = optimise(f, base, n_init=8, n_iter=16, candidates=512, seed=0)
    init_best = max(h["objective"] for h in history if h["phase"] == "init")
    assert len(history) == 24 and history[-1]["best"] > init_best
    assert [h["best"] for h in history] == list(np.maximum.accumulate([h["objective"] for h in history]))
    random_best = max(f(c) for c in _configs(base, np.random.default_rng(0).random((24, len(SPACE)))))
    assert history[-1]["best"] > random_best


def test_bayesopt_cli_writes_every_evaluation_and_a_reusable_best_config(tmp_path, capsys):
    out = tmp_path / "bo"
    assert main(["bayesopt", "--neurons", "40", "--init", "2", "--iterations", "1", "--seeds-per-eval", "1",
                 "--objective", "val_nrmse", "--out", str(out)]) == 0
    rows = [json.loads(l) for l in (out / "bo.jsonl").read_text().splitlines()]
    assert [r["phase"] for r in rows] == ["init", "init", "bo"] and all(r["objective"] <= 0 for r in rows)
    s = json.loads((out / "bo_summary.json").read_text())
    assert s["best_objective"] == max(r["objective"] for r in rows) and "nrmse" in s["test"]
    assert main(["reservoir", "--config", str(out / "best.yaml"), "--out", str(tmp_path / "again")]) == 0
    again = json.loads((tmp_path / "again" / "summary.json").read_text())
    assert again["nrmse"] == pytest.approx(s["test"]["nrmse"])  # best.yaml reproduces the chosen reservoir
    assert main(["bayesopt", "--neurons", "40", "--init", "1", "--out", str(tmp_path / "bad")]) == 2
    assert "n_init" in capsys.readouterr().err and not (tmp_path / "bad").exists()
