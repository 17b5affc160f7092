"""HRSNN reservoir, STDP, metrics, BPTT training and the reservoir/lnp CLI contract (LNP itself: test_lnp.py)."""

import json

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from sparsesnn.cli.main import main
from sparsesnn.recurrent import metrics
from sparsesnn.recurrent.network import ReservoirConfig, build_reservoir
from sparsesnn.recurrent.readout import ridge_fit
from sparsesnn.recurrent.stdp import init_state, stdp_step
from sparsesnn.recurrent.tasks import generate


def _oracle(pre_times, post_times, A_p, A_m, tau_p, tau_m):
    """Δw of eq. 3–5 for fixed spike trains (all-to-all pairs, strict order), and the sum of the
    magnitudes of its potentiation and depression terms."""
    ltp = A_p * sum(np.exp(-(to - ti) / tau_p) for to in post_times for ti in pre_times if ti < to)
    ltd = A_m * sum(np.exp(-(ti - to) / tau_m) for ti in pre_times for to in post_times if to < ti)
    return ltp - ltd, ltp + ltd


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 10_000))
def test_stdp_matches_hand_computed_trace_solution_per_synapse(seed):
    rng = np.random.default_rng(seed)
    n_syn, T = 6, 60
    pre = rng.random((T, n_syn)) < 0.15
    post = rng.random((T, n_syn)) < 0.15
    # heterogeneous per-synapse parameters
    A_p, A_m = rng.uniform(0.001, 0.01, n_syn), rng.uniform(0.001, 0.01, n_syn)
    tau_p, tau_m = rng.uniform(5, 40, n_syn), rng.uniform(5, 40, n_syn)
    state = init_state(n_syn)
    total = torch.zeros(n_syn, dtype=torch.float32)
    t64 = lambda a: torch.as_tensor(a, dtype=torch.float32)
    for t in range(T):
        total += stdp_step(state, t64(pre[t]), t64(post[t]), t64(np.exp(-1 / tau_p)), t64(np.exp(-1 / tau_m)), t64(A_p), t64(A_m))
    for e in range(n_syn):
        expected, gross = _oracle(np.nonzero(pre[:, e])[0], np.nonzero(post[:, e])[0], A_p[e], A_m[e], tau_p[e], tau_m[e])
        # float32 traces and sums over T steps: error up to ~2·T·eps of the gross (seed 7811 nets
        # −0.0011 from ±0.32 of potentiation and depression); a wrong pair or decay costs ~1e-3
        tol = 1e-7 + 2 * T * np.finfo(np.float32).eps * gross
        assert float(total[e]) == pytest.approx(expected, rel=1e-4, abs=tol)


def _linear_reservoir_states(W, w_in, u):
    x = np.zeros(len(W))
    out = []
    for v in u:
        x = W @ x + w_in * v
        out.append(x.copy())
    return np.array(out)


def test_memory_capacity_of_linear_reservoir_bounded_by_n_and_near_n_when_orthogonal():
    rng = np.random.default_rng(0)
    n, T = 20, 6000
    u = rng.uniform(-0.8, 0.8, T)
    q, _ = np.linalg.qr(rng.standard_normal((n, n)))
    w_in = rng.standard_normal(n)
    mc_orth = metrics.memory_capacity(_linear_reservoir_states(0.98 * q, w_in, u), u, tau_max=60, washout=100)
    assert 0.8 * n <= mc_orth <= n + 0.5
    W = rng.standard_normal((n, n))
    W *= 0.5 / max(abs(np.linalg.eigvals(W)))
    mc_rand = metrics.memory_capacity(_linear_reservoir_states(W, w_in, u), u, tau_max=60, washout=100)
    assert mc_rand <= n + 0.5 and mc_rand < mc_orth


def test_reservoir_structure_dale_and_heterogeneity():
    res = build_reservoir(ReservoirConfig(neurons=200, seed=3), 3)
    assert res.excitatory.float().mean() == pytest.approx(0.8, abs=0.01)
    assert (res.w[res.excitatory[res.pre]] > 0).all() and (res.w[~res.excitatory[res.pre]] < 0).all()  # Dale
    assert (res.pre != res.post).all()
    assert ((res.w_in != 0).any(1).float().mean()) == pytest.approx(0.3, abs=0.01)
    homo = build_reservoir(ReservoirConfig(neurons=200, seed=3, neuron_het="homo", stdp_het="homo"), 3)
    assert homo.tau[homo.excitatory].std() == 0 and res.tau[res.excitatory].std() > 0
    assert len(torch.unique(homo.a_plus)) == 1 and res.a_plus.std() > 0
    # determinism
    again = build_reservoir(ReservoirConfig(neurons=200, seed=3), 3)
    assert torch.equal(again.pre, res.pre) and torch.equal(again.w, res.w)
    with pytest.raises(ValueError, match="neuron-het"):
        build_reservoir(ReservoirConfig(neurons=200, neuron_het="x"), 3)


def test_chaotic_series_and_prediction_metrics():
    u = generate("lorenz63", 300)
    assert u.shape == (300, 3) and np.isfinite(u).all()
    with pytest.raises(ValueError, match="rtol"):
        generate("lorenz63", 10, rtol=1e-6)
    with pytest.raises(ValueError, match="task"):
        generate("henon", 10)
    truth = np.zeros((10, 2))
    pred = truth.copy()
    pred[6:] = 1.0
    std = np.ones(2)
    assert metrics.vpt(pred, truth, std, 0.1) == 6 and metrics.nrmse(pred, truth, std) == pytest.approx(np.sqrt(0.4))
    assert metrics.separation_rank(np.eye(5)) == 5
    X = np.c_[np.ones(50), np.arange(50.0)]
    assert ridge_fit(X, 3 * np.arange(50.0)[:, None] + 1, 1e-9)[:, 0] == pytest.approx([1, 3], abs=1e-5)


def test_bptt_twin_runs_the_simulator_dynamics_and_trains_for_prediction(tmp_path):
    """The trainable twin's forward is the simulator's (features and spikes, carried state
    included), so BPTT optimises the network that is then read out; prediction training keeps
    Dale's law, moves the synapses, and `sparsesnn reservoir --training backprop` runs it."""
    from sparsesnn.recurrent.backprop import RecurrentSNN, train_forecast
    from sparsesnn.recurrent.dynamics import Simulator
    from sparsesnn.recurrent.run import TaskConfig, task_series

    task = TaskConfig(warmup=20, train=60, horizon=10, ridge=1.0)
    u = task_series(task)[0]
    res = build_reservoir(ReservoirConfig(neurons=80, seed=6, input_scale=8.0, neuron_het="hetero"), 3)
    x = torch.as_tensor(u[:40], dtype=torch.float32)
    sim = Simulator(res, 4)
    f1, c1 = sim.run(x[:25])
    f2, c2 = sim.run(x[25:])
    twin = RecurrentSNN(res, 4)
    with torch.no_grad():
        c_a, g1, state = twin(x[None, :25])
        c_b, g2, _ = twin(x[None, 25:], state)
    assert float(c1.sum()) > 0 and torch.equal(c_a[0] + c_b[0], c1 + c2)
    with torch.no_grad():  # classification's counts-only pass: same spikes, no features
        c_only, none, _ = twin(x[None, :25], features=False)
    assert none is None and torch.equal(c_only, c_a)
    torch.testing.assert_close(torch.cat([g1[0], g2[0]]), torch.cat([f1, f2]), rtol=0, atol=1e-5)
    trained, losses = train_forecast(res, u, task.warmup, task.train, 4, task.ridge, epochs=2, lr=1e-2)
    assert len(losses) == 2 and all(np.isfinite(losses))
    assert (torch.sign(trained.w) == torch.sign(res.w)).all() and not torch.allclose(trained.w, res.w)
    out, cfg = tmp_path / "bp", tmp_path / "bp.yaml"
    cfg.write_text("task: {warmup: 20, train: 60, horizon: 10, mc_samples: 200, tau_max: 10, bptt_epochs: 1}\n")
    assert main(["reservoir", "--config", str(cfg), "--task", "lorenz63", "--training", "backprop", "--neurons", "60",
                 "--seed", "1", "--out", str(out)]) == 0
    s = json.loads((out / "summary.json").read_text())
    assert np.isfinite(s["one_step_nrmse"]) and s["neurons"] == 60


def test_reservoir_and_lnp_cli_contract(tmp_path, capsys):
    run = tmp_path / "res"
    cfg = tmp_path / "r.yaml"
    cfg.write_text("task: {warmup: 50, train: 150, horizon: 30, mc_samples: 300, tau_max: 20}\n")
    assert main(["reservoir", "--config", str(cfg), "--task", "lorenz63", "--neurons", "120", "--neuron-het", "hetero",
                 "--stdp-het", "hetero", "--seed", "0", "--windows", "2", "--out", str(run)]) == 0
    s = json.loads((run / "summary.json").read_text())
    assert {"nrmse", "vpt", "memory_capacity", "spike_efficiency", "synapses", "neurons", "sops_per_step"} <= set(s)
    assert s["windows"] == 2 and s["nrmse_windows"] == pytest.approx(np.mean(s["window_nrmse"]))
    assert s["neurons"] == 120
    assert (run / "forecast.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    from sparsesnn.recurrent.run import prediction_preset

    recorded = json.loads((run / "config.json").read_text())
    preset = prediction_preset("lorenz63")
    assert {k: recorded["reservoir"][k] for k in preset} == preset  # a chaotic task: the validated preset
    assert recorded["task"]["ridge"] == 10.0  # ... and its readout's α, written out
    assert main(["lnp", str(run), "--iterations", "2"]) == 0
    lines = [json.loads(l) for l in (run / "lnp.jsonl").read_text().splitlines()]
    assert [l["iteration"] for l in lines][:2] == [0, 1]
    for l in lines:
        assert {"iteration", "synapses", "neurons", "sop_ratio", "nrmse", "nrmse_windows"} <= set(l)
    assert lines[-1]["neurons"] < 120
    lnp_summary = json.loads((run / "lnp_summary.json").read_text())
    for name in ("random", "random_matched"):
        assert {k: lnp_summary[name][k] for k in ("neurons", "synapses")} == {k: lines[-1][k] for k in ("neurons", "synapses")}
    control = lnp_summary["no_recurrence"]
    assert control["synapses"] == 0 and control["neurons"] == 120  # the unpruned network, recurrence removed
    assert control["sops_per_step"] == 0 and control["sop_ratio"] is None  # no SOPs: the ratio is unbounded
    assert (run / "lnp.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert main(["lnp", str(run), "--iterations", "1", "--retrain-epochs", "1"]) == 0
    retrained = json.loads((run / "lnp_summary.json").read_text())
    assert retrained["config"]["retrain_epochs"] == 1 and retrained["config"]["seed"] == 0
    assert retrained["unpruned"]["nrmse"] != lnp_summary["unpruned"]["nrmse"]  # the reference is retrained too
    assert main(["lnp", str(tmp_path / "nothing")]) == 2
    assert main(["reservoir", "--task", "lorenz63", "--windows", "0", "--out", str(tmp_path / "w0")]) == 2
    assert "reservoir run directory" in capsys.readouterr().err


def test_partial_observation_feeds_and_predicts_only_the_observed_variables(tmp_path, capsys):
    from sparsesnn.recurrent.run import TaskConfig, task_series

    short = {"warmup": 50, "train": 150, "horizon": 30}
    full, mean, std = task_series(TaskConfig(**short))
    x, xmean, xstd = task_series(TaskConfig(**short, observed=[0]))
    np.testing.assert_allclose(x, full[:, :1], rtol=1e-12, atol=1e-12)  # each variable normalised on its own
    np.testing.assert_allclose([xmean, xstd], [[mean[0]], [std[0]]], rtol=1e-12)
    np.testing.assert_allclose(task_series(TaskConfig(**short, observed=[2, 0]))[0], full[:, [2, 0]], rtol=1e-12, atol=1e-12)
    with pytest.raises(ValueError, match="has 3 variables"):
        task_series(TaskConfig(**short, observed=[3]))
    assert TaskConfig(observed=0).observed == [0]  # a YAML scalar
    for bad in ([], [0, 0], [-1]):
        with pytest.raises(ValueError, match="observed"):
            TaskConfig(observed=bad)
    with pytest.raises(ValueError, match="classification"):
        TaskConfig(task="nmnist", observed=[0])
    run = tmp_path / "x"
    cfg = tmp_path / "r.yaml"
    cfg.write_text("task: {warmup: 50, train: 150, horizon: 30, mc_samples: 300, tau_max: 20}\n")
    assert main(["reservoir", "--config", str(cfg), "--task", "lorenz63", "--observed", "0", "--neurons", "60",
                 "--out", str(run)]) == 0
    s = json.loads((run / "summary.json").read_text())
    assert np.shape(s["prediction"]) == np.shape(s["truth"]) == (30, 1)
    np.testing.assert_allclose(s["truth"], x[200:230])  # window 0: right after warm-up + training
    assert json.loads((run / "config.json").read_text())["task"]["observed"] == [0]
    assert main(["lnp", str(run), "--iterations", "1"]) == 0  # the run directory restores the observation
    assert main(["reservoir", "--task", "lorenz63", "--observed", "3", "--out", str(tmp_path / "bad")]) == 2
    assert "has 3 variables" in capsys.readouterr().err


def test_esn_baseline_update_radius_and_forecast():
    from sparsesnn.recurrent.esn import ESNConfig, build_esn, esn_forecast
    from sparsesnn.recurrent.run import TaskConfig, task_series

    esn = build_esn(ESNConfig(neurons=80, density=0.1, spectral_radius=0.8, seed=1), 3)
    assert float(np.max(np.abs(np.linalg.eigvals(esn.w)))) == pytest.approx(0.8)
    u = np.random.default_rng(0).normal(size=(5, 3))
    x = np.zeros(80)
    for t in range(5):  # x(t) = (1 − a)x(t−1) + a·tanh(W x(t−1) + W_in u(t))
        x = 0.7 * x + 0.3 * np.tanh(esn.w @ x + esn.w_in @ u[t])
    np.testing.assert_allclose(esn.run(u)[-1], x)
    task = TaskConfig(ridge=1e-4)
    series, _, _ = task_series(task)
    r = esn_forecast(ESNConfig(seed=2), task, series)
    # a 500-node ESN follows Lorenz63 closed loop over its first Lyapunov time
    assert r["one_step_nrmse"] < 1e-3 and r["nrmse_lyapunov_time"] < 0.1 and r["vpt"] > 30
    assert len(r["prediction"]) == task.horizon
    with pytest.raises(ValueError, match="density"):
        build_esn(ESNConfig(density=0.0), 3)


def test_forecast_windows_start_in_sync_with_the_true_series():
    """Window w > 0 starts from the state teacher-forced through every true sample before it:
    recomputed here with the ESN by hand (one long teacher-forced run, then the closed loop);
    window 0 is the single-window protocol's."""
    from sparsesnn.recurrent.esn import ESNConfig, build_esn, esn_forecast
    from sparsesnn.recurrent.readout import design, ridge_fit
    from sparsesnn.recurrent.run import TaskConfig, task_series

    one = TaskConfig(warmup=50, train=300, horizon=40, ridge=1e-4)
    three = TaskConfig(warmup=50, train=300, horizon=40, ridge=1e-4, windows=3)
    cfg = ESNConfig(neurons=120, seed=3)
    u1, u3 = task_series(one)[0], task_series(three)[0]
    r1, r3 = esn_forecast(cfg, one, u1), esn_forecast(cfg, three, u3)
    assert r3["nrmse"] == pytest.approx(r1["nrmse"], rel=1e-6) and r3["vpt"] == r1["vpt"]
    assert len(r3["window_nrmse"]) == 3 and r3["nrmse_windows"] == pytest.approx(np.mean(r3["window_nrmse"]))
    esn, n_fit, h = build_esn(cfg, 3), 350, 40
    states = esn.run(u3[:n_fit])
    W = ridge_fit(design(states[50:], u3[50:n_fit]), u3[51 : n_fit + 1], 1e-4)
    x = esn.run(u3[: n_fit + 2 * h])[-1]  # teacher-forced up to the start of window 2
    pred = [design(x[None], u3[n_fit + 2 * h - 1][None]) @ W]
    for _ in range(h - 1):
        x = esn.step(x, pred[-1][0])
        pred.append(design(x[None], pred[-1]) @ W)
    truth = u3[n_fit + 2 * h : n_fit + 3 * h]
    assert r3["window_nrmse"][2] == pytest.approx(metrics.nrmse(np.concatenate(pred), truth, np.ones(3)), rel=1e-9)
    with pytest.raises(ValueError, match="windows"):
        TaskConfig(windows=0)


def test_reservoir_model_state_round_trip():
    """save/load of the spiking forecast model restores the simulator exactly (the windows'
    teacher forcing continues from it)."""
    from sparsesnn.recurrent.network import ReservoirConfig, build_reservoir
    from sparsesnn.recurrent.run import _SpikingModel

    torch.manual_seed(0)
    model = _SpikingModel(build_reservoir(ReservoirConfig(neurons=60, seed=0, input_scale=8.0), 3), 4)
    u = np.random.default_rng(1).normal(size=(30, 3))
    model.run(u[:10])
    state = model.save()
    first = model.run(u[10:])
    model.load(state)
    np.testing.assert_array_equal(model.run(u[10:]), first)
    assert model.samples == 50


def test_reservoir_config_presets_per_task():
    from sparsesnn.recurrent.network import ReservoirConfig
    from sparsesnn.recurrent.run import PREDICTION_PRESETS, TaskConfig, reservoir_config
    from sparsesnn.recurrent.tasks import SYSTEMS

    assert set(PREDICTION_PRESETS) == set(SYSTEMS)  # every chaotic system has its own
    pred = reservoir_config("rossler", neurons=50, input_scale=3.0)
    assert pred.input_scale == 3.0 and pred.neurons == 50  # explicit fields win over the preset
    assert (pred.weight_scale, pred.substeps) == (PREDICTION_PRESETS["rossler"]["weight_scale"], PREDICTION_PRESETS["rossler"]["substeps"])
    assert reservoir_config("lorenz63").input_scale != reservoir_config("rossler").input_scale  # per system, not one for all
    assert TaskConfig(task="rossler").ridge == PREDICTION_PRESETS["rossler"]["ridge"]
    assert TaskConfig(task="rossler", ridge=0.5).ridge == 0.5
    assert reservoir_config("nmnist", neurons=50) == ReservoirConfig(neurons=50)  # classification: plain defaults
    with pytest.raises(ValueError, match="no prediction preset for task 'henon'"):
        reservoir_config("henon")


@pytest.mark.parametrize("task, name", [("lorenz63", "hrsnn_lorenz_validation.json"), ("rossler", "hrsnn_rossler_validation.json"),
                                        ("lorenz96", "hrsnn_lorenz96_validation.json")])
def test_prediction_presets_are_the_committed_validation_choices(task, name):
    """Each system's preset in the code is the point benchmarks/hrsnn_lorenz_validation.py chose
    for it (the results files are committed), so the two cannot drift apart silently."""
    from pathlib import Path

    from sparsesnn.recurrent.run import PREDICTION_PRESETS

    chosen = json.loads((Path(__file__).parents[1] / "results" / name).read_text())
    assert chosen["task"] == task and min(chosen["validation_seeds"]) >= 100
    assert chosen["chosen"] == PREDICTION_PRESETS[task]
