"""Defining properties of the ANN→SNN converters, the conversion measurements and the CLI."""

import json

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from sparsesnn.cli.main import main
from sparsesnn.conversion import neurons
from sparsesnn.conversion.activations import qcfs
from sparsesnn.conversion.aec import aec_encode, initial_params
from sparsesnn.conversion.convert import calibrate, layer_sparsity
from sparsesnn.conversion.measure import pareto_front, saturation_time, time_lag_statistics
from sparsesnn.conversion.simulate import ConvertedSNN, Tally
from sparsesnn.models import ModelConfig, SparseANN


def _ann(arch="mlp", hidden=(32, 32), activation="qcfs", shape=(20,), sparsity=0.7, conv_sparsity=None, seed=0):
    torch.manual_seed(seed)
    cfg = ModelConfig(arch=arch, hidden=list(hidden), kind="ann", activation=activation, levels=4, qcfs_lambda=2.0, weight_init="kaiming")
    m = SparseANN(shape, 5, cfg, sparsity=sparsity, conv_sparsity=conv_sparsity)
    m.init_weights()
    for lyr in m.synapses:
        if lyr.bias is not None:
            torch.nn.init.uniform_(lyr.bias, -0.2, 0.2)
    return m.eval()


@pytest.mark.parametrize("levels", [1, 2, 4, 8])
def test_if_neuron_equals_qcfs_at_T_equals_L(levels):
    lam = torch.tensor(1.7)
    z = torch.linspace(-1.0, 2.5, 301)
    mean = neurons.if_rate(z.expand(levels, -1), lam).mean(0)
    torch.testing.assert_close(mean, qcfs(z, lam, levels), rtol=0, atol=1e-6)


def test_if_neuron_mean_converges_to_clipped_input():
    lam = torch.tensor(1.0)
    z = torch.rand(200) * 1.4 - 0.2
    for T in (16, 256):
        err = (neurons.if_rate(z.expand(T, -1), lam).mean(0) - z.clamp(0, 1)).abs().max()
        assert err <= lam / T + 1e-6


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 10_000), st.integers(1, 40))
def test_snm_net_spike_count_never_negative(seed, T):
    g = torch.Generator().manual_seed(seed)
    z = torch.randn(T, 8, 16, generator=g) * 2
    theta = torch.rand(16, generator=g) + 0.1
    s = neurons.snm(z, theta)
    counts = torch.cumsum(s / theta, 0)
    assert (counts >= -1e-6).all()
    assert set(torch.unique((s / theta).round()).tolist()) <= {-1.0, 0.0, 1.0}


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 10_000), st.integers(1, 8), st.floats(0.0, 6.0))
def test_aec_at_most_two_spikes_and_never_above_activation_plus_one_level(seed, T, scale):
    g = torch.Generator().manual_seed(seed)
    a = torch.relu(torch.randn(64, generator=g) * scale)
    params = initial_params(a + 1e-3)
    u, count = aec_encode(a, params, T)
    assert int(count.max()) <= 2 and int(count.min()) >= 0
    assert (u[a == 0] == 0).all()


def test_dcgs_decoded_output_equals_differential_decode():
    g = torch.Generator().manual_seed(3)
    T = 40
    b = torch.randn(6, 10, generator=g)
    inp = torch.rand(6, 10, generator=g) * 2
    z = torch.cat([b.unsqueeze(0), (b + inp).unsqueeze(0), b.expand(T - 1, -1, -1)])
    theta = torch.full((10,), 1.5)
    s = neurons.mth_diff(z, theta, n_thresholds=3)
    # track Ô_t = Ô_{t−1} + s_t/t by hand and compare with the decoder at every step
    o_hat, decoded = torch.zeros_like(b), neurons.differential_values(s)
    for t in range(1, T + 1):
        o_hat = o_hat + s[t] / t
        torch.testing.assert_close(decoded[t - 1], o_hat)
    # and the estimate approaches the ReLU of the (constant, decoded) input b + inp
    target = torch.relu(b + inp)
    assert (decoded[-1] - target).abs().mean() < 0.05


def test_dcgs_network_reproduces_ann_at_large_T():
    m = _ann(activation="relu", sparsity=0.6)
    x = torch.rand(64, 20)
    thresholds = calibrate(m, "dcgs", torch.rand(500, 20), n_thresholds=4, dcgs_threshold="percentile", max_T=256)
    snn = ConvertedSNN(m, "dcgs", thresholds, n_thresholds=4)
    tally = Tally(256, snn.populations)
    ann_pred = m(x).argmax(1)
    snn.run(x, ann_pred, tally)
    agreement = tally.correct / tally.n
    assert agreement[-1] >= 0.95  # SNN predictions match the ANN's on ≥ 95 % at T = 256
    assert agreement[-1] >= agreement[0]


def test_qcfs_network_matches_quantised_ann_and_counts_sops_on_the_topology():
    # one hidden population fed a constant current: at T = L the SNN computes the QCFS ANN exactly
    m = _ann(hidden=(32,), sparsity=0.8)
    x = torch.rand(64, 20)
    th = calibrate(m, "qcfs", x, 4, "auto", 64)
    snn = ConvertedSNN(m, "qcfs", th)
    tally = Tally(64, snn.populations)
    ann_pred = m(x).argmax(1)
    snn.run(x, ann_pred, tally)
    assert tally.correct[3] == tally.n  # T = L = 4
    deep = _ann(hidden=(32, 32), sparsity=0.8)
    t2 = Tally(64, 2)
    ConvertedSNN(deep, "qcfs", calibrate(deep, "qcfs", x, 4, "auto", 64)).run(x, deep(x).argmax(1), t2)
    # deeper, spike trains are no longer constant currents: close to the ANN at T = L, not exact
    # (at large T the SNN tends to the unquantised clip, which an untrained net's near-ties expose)
    assert t2.correct[3] / t2.n >= 0.9
    # brute force: out-degree of input i = non-zeros in column i of the dense weight
    first = m.synapses[0]
    deg = (first.dense_weight() != 0).sum(0).to(torch.float64)
    macs_per_step = float(((x != 0).sum(0).to(torch.float64) * deg).sum())
    assert tally.macs[0] == pytest.approx(macs_per_step) and tally.macs[9] == pytest.approx(10 * macs_per_step)
    # every converted layer keeps the ANN's sparsity exactly (the converter does not touch weights)
    assert layer_sparsity(m.synapses[0]) == pytest.approx(1 - first.nnz / (20 * 32))


def test_sparse_conv_topology_and_conversion_errors():
    m = _ann(arch="4C3-AP2-8C3-AP2-16", shape=(1, 8, 8), sparsity=0.9, conv_sparsity=0.5)
    conv = m.synapses[0]
    assert conv.nnz == round(0.5 * 4 * 9) and (conv.kernel() != 0).sum() <= conv.nnz
    x = torch.rand(4, 1, 8, 8)
    assert m(x).shape == (4, 5)
    # conv out-degree = (output channel, position) pairs an input pixel feeds through live kernel entries
    live = conv.kernel() != 0
    deg = m.out_degrees()[0].view(1, 8, 8)
    centre = int(live.sum())  # an interior pixel reaches every live kernel entry once
    assert int(deg[0, 4, 4]) == centre
    mp = _ann(arch="4C3-MP2-16", shape=(1, 8, 8))
    with pytest.raises(ValueError, match="max pooling"):
        ConvertedSNN(mp, "qcfs", [torch.ones(1)])
    with pytest.raises(ValueError, match="method"):
        ConvertedSNN(m, "nope", [])


def test_saturation_time_algorithm():
    T = list(range(1, 21))
    acc = [0.1, 0.5, 0.8, 0.9] + [0.95] * 16
    assert saturation_time(T, acc, window=5, eps=0.01) == 10  # Δ at T=5 is 5.6 %, then flat
    assert saturation_time(T, [0.1 * t for t in T], window=5) is None
    assert saturation_time(T, acc, window=10) == 15


def test_pareto_and_time_lag_statistics():
    assert pareto_front([3, 1, 2, 4], [0.9, 0.5, 0.8, 0.85]) == [1, 2, 0]
    rng = np.random.default_rng(0)
    rate = rng.integers(3, 10, 40)
    sparse = np.arange(40) % 2 == 0
    acc = rate + np.where(sparse, rng.integers(3, 8, 40), rng.integers(0, 3, 40))
    out = time_lag_statistics(acc, rate, sparse)
    assert out["wilcoxon_p_all"] < 1e-4
    assert out["mannwhitney_p_sparse_vs_dense"] < 0.01
    assert out["mean_lag_sparse"] > out["mean_lag_dense"]


def test_train_ann_and_convert_cli_contract(tmp_path, capsys):
    run = tmp_path / "ann"
    assert main(["train", "--dataset", "digits", "--ann", "--model", "mlp", "--sparsity", "0.9", "--epochs", "3",
                 "--lr", "0.01", "--set", "model.hidden=[128]", "--out", str(run), "--no-progress"]) == 0
    capsys.readouterr()
    for method in ("qcfs", "snm", "dcgs", "aec"):
        assert main(["convert", str(run), "--method", method, "--max-T", "16", "--aec-steps", "20", "--no-progress"]) == 0
        r = json.loads((run / f"conversion-{method}.json").read_text())
        assert {"method", "ann_accuracy", "T", "accuracy", "sops_per_sample", "energy_mj_per_sample", "masfr",
                "saturation_T", "layer_sparsity"} <= set(r)
        assert r["T"] == list(range(1, 17)) and len(r["accuracy"]) == 16 == len(r["masfr"])
        assert r["layer_sparsity"][0] == pytest.approx(0.9, abs=1e-4) and r["layer_sparsity"][-1] == 0.0
        assert all(b >= a for a, b in zip(r["sops_per_sample"], r["sops_per_sample"][1:]))  # cumulative
        assert (run / f"conversion-{method}.png").exists()
    assert json.loads((run / "conversion-qcfs.json").read_text())["accuracy"][-1] > 0.5
    # bad input: csqcfs on a qcfs-trained ANN, and an SNN run directory
    assert main(["convert", str(run), "--method", "csqcfs", "--no-progress"]) == 2
    assert "csqcfs" in capsys.readouterr().err
    assert main(["convert", str(tmp_path / "missing"), "--method", "qcfs"]) == 2


def test_vgg16_cifar_variant_converts_with_its_sparse_topology():
    m = _ann(arch="vgg16", shape=(3, 32, 32), sparsity=0.99, conv_sparsity=0.9)
    convs = [s for s in m.synapses if s.__class__.__name__ == "SparseConv2d"]
    assert len(convs) == 13 and len(m.synapses) == 16 and m.synapses[-2].out_features == 512
    x = torch.rand(3, 3, 32, 32)
    th = calibrate(m, "qcfs", x, 4, "auto", 4)
    tally = Tally(4, len(m.activations))
    ConvertedSNN(m, "qcfs", th).run(x, m(x).argmax(1), tally)
    assert tally.n == 3 and tally.acs[-1] > 0
    assert [round(layer_sparsity(c), 2) for c in convs] == [0.9] * 13


def test_structured_pruning_equals_silencing_the_removed_neurons():
    from sparsesnn.topology.structured import structured_prune

    m = _ann(hidden=(64, 48), sparsity=None)
    x = torch.rand(16, 20)
    pruned, sparsity = structured_prune(m, 0.5, x[:4])
    assert [s.weight.shape[0] for s in pruned.synapses] == [32, 24, 5] and pruned.config.hidden == [32, 24]
    assert sparsity == pytest.approx([0.5, 0.75, 0.5])
    # which neurons survived: match the kept rows of each layer against the original rows
    masks, cols = [], torch.arange(20)
    for new, old in zip(pruned.synapses[:-1], m.synapses[:-1]):
        rows = old.weight.detach()[:, cols]
        keep = [int(torch.nonzero((rows == r).all(1))[0]) for r in new.weight.detach()]
        mask = torch.zeros(old.weight.shape[0])
        mask[keep] = 1.0
        masks.append(mask)
        cols = torch.tensor(keep)
    silenced = m(x, activation=lambda p, z: m.activations[p](z) * masks[p])
    assert torch.allclose(pruned(x), silenced, atol=1e-5)
    conv = _ann(arch="4C3-AP2-8C3-AP2-16", shape=(1, 8, 8), sparsity=None)
    small, _ = structured_prune(conv, 0.5, torch.rand(2, 1, 8, 8))
    assert small.config.arch == "2C3-AP2-4C3-AP2-8" and small(torch.rand(3, 1, 8, 8)).shape == (3, 5)
    with pytest.raises(ValueError, match="dense"):
        structured_prune(_ann(sparsity=0.7), 0.5, x[:4])


def test_prune_cli_fine_tunes_and_converts(tmp_path, capsys):
    dense, out = tmp_path / "dense", tmp_path / "pruned"
    assert main(["train", "--dataset", "digits", "--ann", "--dense", "--model", "mlp", "--set", "model.hidden=[64]",
                 "--epochs", "20", "--out", str(dense), "--no-progress"]) == 0
    assert main(["prune", str(dense), "--ratio", "0.75", "--epochs", "5", "--out", str(out), "--no-progress"]) == 0
    s = json.loads((out / "summary.json").read_text())
    assert s["structured_pruning"]["layer_link_sparsity_vs_source"] == pytest.approx([0.75, 0.75]) and s["test_accuracy"] > 0.8
    assert main(["convert", str(out), "--method", "qcfs", "--max-T", "4", "--no-progress"]) == 0
    sparse = tmp_path / "sparse"
    assert main(["train", "--dataset", "digits", "--ann", "--model", "mlp", "--set", "model.hidden=[64]", "--sparsity", "0.8",
                 "--epochs", "1", "--out", str(sparse), "--no-progress"]) == 0
    assert main(["prune", str(sparse), "--ratio", "0.5", "--out", str(tmp_path / "x")]) == 2
    assert "dense ANN" in capsys.readouterr().err


def test_csqcfs_two_stage_starts_every_channel_at_the_layer_threshold(tmp_path):
    """003 App. C.3: S-QCFS (one softplus threshold per layer), then channel-wise fine-tuning."""
    layer = _ann(activation="sqcfs", sparsity=0.7)
    assert all(a.p.numel() == 1 for a in layer.activations)
    with torch.no_grad():
        for i, a in enumerate(layer.activations):
            a.p.fill_(0.3 * (i + 1))
    channel = _ann(activation="csqcfs", sparsity=0.7, seed=5)
    channel.load_state_dict(layer.state_dict())
    assert [tuple(a.p.shape) for a in channel.activations] == [(32,), (32,)]
    assert all(torch.all(a.p == 0.3 * (i + 1)) for i, a in enumerate(channel.activations))
    x = torch.rand(8, 20)
    assert torch.equal(channel(x), layer(x))  # same network until the channels are fine-tuned apart
    # the CLI: stage 1, then stage 2 from it with the topology frozen, then conversion
    s1, s2 = tmp_path / "s1", tmp_path / "s2"
    base = ["train", "--dataset", "digits", "--ann", "--model", "mlp", "--set", "model.hidden=[64]", "--sparsity", "0.8", "--no-progress"]
    assert main([*base, "--set", "model.activation=sqcfs", "--epochs", "3", "--out", str(s1)]) == 0
    assert main([*base, "--set", "model.activation=csqcfs", "--set", "topology.evolve=false", "--epochs", "1",
                 "--init-from", str(s1), "--out", str(s2)]) == 0
    from sparsesnn.training.rundir import load_checkpoint

    a, b = (load_checkpoint(d / "checkpoint.pt")["model"] for d in (s1, s2))
    assert torch.equal(a["synapses.0.rows"], b["synapses.0.rows"]) and torch.equal(a["synapses.0.cols"], b["synapses.0.cols"])
    assert b["activations.0.p"].shape == (64,) and b["activations.0.p"].std() > 0  # channels moved apart
    assert main(["convert", str(s2), "--method", "csqcfs", "--max-T", "4", "--no-progress"]) == 0
    assert main([*base, "--set", "model.hidden=[32]", "--epochs", "1", "--init-from", str(s1), "--out", str(tmp_path / "x")]) == 2


def test_aec_windows_use_the_parameters_tuned_for_them(tmp_path):
    m = _ann(hidden=(32,), sparsity=0.7)
    x = torch.rand(40, 20)
    y = m(x).argmax(1)
    snn = ConvertedSNN(m, "aec", calibrate(m, "aec", x, 4, "auto", 3))
    other = [p * 0.5 for p in snn.thresholds]
    snn.window_thresholds = {2: other}
    tally = Tally(3, snn.populations)
    snn.run(x, y, tally)
    for T, params in ((1, snn.thresholds), (2, other), (3, snn.thresholds)):
        logits, _, _ = snn.aec_forward(x, T, params)
        assert tally.correct[T - 1] == float((logits.argmax(-1) == y).sum())
    run = tmp_path / "ann"
    assert main(["train", "--dataset", "digits", "--ann", "--model", "mlp", "--set", "model.hidden=[32]", "--sparsity", "0.8",
                 "--epochs", "2", "--out", str(run), "--no-progress"]) == 0
    assert main(["convert", str(run), "--method", "aec", "--max-T", "3", "--aec-steps", "3", "--aec-per-T", "--no-progress"]) == 0
    r = json.loads((run / "conversion-aec.json").read_text())
    assert r["aec_finetune_T"] == "every T" and sorted(r["aec_params"]) == ["1", "2", "3"]


def test_residual_blocks_add_the_input_or_its_projection():
    m = _ann(arch="4C3-R4-R8-AP2-16", shape=(1, 8, 8), sparsity=0.7, conv_sparsity=0.5)
    assert m.blocks == [(1, 2, None), (3, 4, 5)] and len(m.activations) == 6
    x = torch.rand(3, 1, 8, 8)
    s, act = m.synapses, m.activations
    a0 = act[0](s[0](x))
    b1 = s[2](act[1](s[1](a0))) + a0  # identity shortcut: 4 → 4 channels
    a2 = act[2](b1)
    b2 = s[4](act[3](s[3](a2))) + s[5](a2)  # 1×1 projection: 4 → 8 channels
    h = torch.nn.functional.avg_pool2d(b2, 2).flatten(1)
    assert torch.allclose(m(x), s[7](act[5](s[6](act[4](h)))), atol=1e-6)
    with pytest.raises(ValueError, match="residual"):
        _ann(arch="R4-16", shape=(1, 8, 8))
    from sparsesnn.models import SpikingNet

    with pytest.raises(ValueError, match="residual"):
        SpikingNet((1, 8, 8), 5, ModelConfig(arch="4C3-R4-16"))
    # a block input's spike costs both of its synapses (identity shortcut: one AC)
    assert m.targets == [[1, -1], [2], [3, 5], [4], [6], [7]]
    snn = ConvertedSNN(m, "aec", calibrate(m, "aec", x, 4, "auto", 4))
    deg = m.out_degrees()
    assert torch.equal(snn.fan_out[0], deg[1] + 1) and torch.equal(snn.fan_out[2], deg[3] + deg[5])
    tally = Tally(4, snn.populations)
    snn.run(x, m(x).argmax(1), tally)  # AEC's closed form runs through the blocks too
    assert tally.n == 3 and float(tally.acs[-1]) > 0
    net = _ann(arch="resnet18", shape=(3, 32, 32), sparsity=0.99, conv_sparsity=0.9)
    assert len(net.synapses) == 21 and len(net.blocks) == 8 and sum(b[2] is not None for b in net.blocks) == 3
    assert net(torch.rand(2, 3, 32, 32)).shape == (2, 5)


def test_trained_residual_net_converts_close_to_its_ann(tmp_path):
    run = tmp_path / "res"
    assert main(["train", "--dataset", "digits", "--ann", "--model", "8C3-R8-R16-AP2-32", "--sparsity", "0.9",
                 "--conv-sparsity", "0.5", "--epochs", "15", "--lr", "0.005", "--out", str(run), "--no-progress"]) == 0
    for method, T in (("qcfs", 32), ("dcgs", 16)):
        assert main(["convert", str(run), "--method", method, "--max-T", str(T), "--no-progress"]) == 0
        r = json.loads((run / f"conversion-{method}.json").read_text())
        assert r["ann_accuracy"] > 0.8 and r["accuracy"][-1] >= r["ann_accuracy"] - 0.03, (method, r["ann_accuracy"], r["accuracy"][-1])
        assert r["layer_sparsity"][0] == pytest.approx(0.5, abs=0.02) and r["sops_per_sample"][-1] > 0


def test_one_shot_magnitude_pruning_keeps_the_largest_weights(tmp_path):
    from sparsesnn.topology.structured import magnitude_prune

    dense = _ann(arch="4C3-AP2-16", shape=(1, 8, 8), sparsity=None)
    sparse = magnitude_prune(dense, 0.8, 0.5)
    x = torch.rand(6, 1, 8, 8)
    masked = []
    for new, old in zip(sparse.synapses, dense.synapses):
        w = old.weight.detach()
        if hasattr(new, "nnz"):
            flat = w.reshape(w.shape[0], -1).abs().flatten()
            assert new.nnz == round((1 - (0.5 if new is sparse.synapses[0] else 0.8)) * flat.numel())
            threshold = flat.sort(descending=True).values[new.nnz - 1]
            assert float((new.dense_weight() != 0).sum()) == new.nnz and float(new.dense_weight().abs().min()) >= 0
            assert torch.all(flat[(new.dense_weight().flatten() != 0)] >= threshold)
            masked.append(new.dense_weight().view_as(w))
        else:
            masked.append(w)
    d = _ann(arch="4C3-AP2-16", shape=(1, 8, 8), sparsity=None)  # the dense net with the pruned entries zeroed
    d.load_state_dict(dense.state_dict())
    with torch.no_grad():
        for layer, w in zip(d.synapses, masked):
            layer.weight.copy_(w)
    assert torch.allclose(sparse(x), d(x), atol=1e-5)
    run, out = tmp_path / "dense", tmp_path / "pruned"
    assert main(["train", "--dataset", "digits", "--ann", "--dense", "--model", "mlp", "--set", "model.hidden=[64]",
                 "--epochs", "10", "--out", str(run), "--no-progress"]) == 0
    assert main(["prune", str(run), "--sparsity", "0.9", "--epochs", "2", "--out", str(out), "--no-progress"]) == 0
    s = json.loads((out / "summary.json").read_text())
    assert s["magnitude_pruning"]["layer_link_sparsity_vs_source"] == pytest.approx([0.9, 0.0], abs=1e-3)
    assert abs(s["link_sparsity"] - 0.9) < 1e-3 and s["test_accuracy"] > 0.3
    # the fine-tuning kept the pruned topology: the links are still the source's largest weights
    from sparsesnn.training.rundir import load_checkpoint
    from sparsesnn.training.trainer import load_run

    again = magnitude_prune(load_run(run).model, 0.9)
    state = load_checkpoint(out / "checkpoint.pt")["model"]
    assert torch.equal(state["synapses.0.rows"], again.synapses[0].rows) and torch.equal(state["synapses.0.cols"], again.synapses[0].cols)
