import json
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from sparsesnn.cli.main import main
from sparsesnn.energy import ActivityRecorder
from sparsesnn.energy.sops import spiking_attention_acs
from sparsesnn.layers import SparseLinear
from sparsesnn.models import ModelConfig, SpikingNet

NMNIST = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "n-mnist" / "NMNISTsmall"


def test_2conv2fc_shapes_and_sparse_linear_layers():
    net = SpikingNet((2, 34, 34), 10, ModelConfig(arch="2conv2fc", T=3), sparsity=0.9)
    kinds = [type(m).__name__ for m in net.synapses]
    assert kinds == ["Conv2d", "Conv2d", "SparseLinear", "Linear"]
    assert net.synapses[2].in_features == 40 * 8 * 8 and net.synapses[2].out_features == 300
    x = (torch.rand(3, 4, 2, 34, 34) < 0.1).float()
    assert net(x).shape == (4, 10)


def test_conv_out_degree_counts_receptive_fields():
    net = SpikingNet((1, 4, 4), 2, ModelConfig(arch="3C3", T=2))
    deg = net.out_degrees()[0].view(4, 4)
    # a corner pixel feeds 4 output positions per channel, an inner one 9 (3 channels)
    assert deg[0, 0] == 3 * 4 and deg[1, 1] == 3 * 9 and deg[0, 1] == 3 * 6
    with torch.no_grad():
        net.synapses[0].weight[1].zero_()  # a channel with no links costs nothing
    assert net.out_degrees()[0].view(4, 4)[1, 1] == 2 * 9


def test_conv_sops_equal_manual_count():
    cfg = ModelConfig(arch="4C3-AP2-6", T=3, threshold=0.2)
    net = SpikingNet((2, 6, 6), 3, cfg, sparsity=0.5)
    net.init_weights()
    x = (torch.rand(3, 5, 2, 6, 6) < 0.3).float()
    rec = ActivityRecorder()
    with torch.no_grad():
        net(x, rec)
        report = rec.report(net.out_degrees())
        cur = F.avg_pool2d(net.synapses[0](x.flatten(0, 1)), 2).unflatten(0, (3, 5))
        s1 = net.neurons[0](cur).flatten(2)
        s2 = net.neurons[1](net.synapses[1](s1))
    degs = [d.double() for d in net.out_degrees()]
    manual = (x.sum((0, 1)).flatten().double() * degs[0]).sum() + (s1.sum((0, 1)).double() * degs[1]).sum() \
        + (s2.sum((0, 1)).double() * degs[2]).sum()
    assert report["sops_per_sample"] == pytest.approx(float(manual) / 5)


def test_bad_arch_names_the_field():
    with pytest.raises(ValueError, match="model.arch"):
        ModelConfig(arch="15X3-300").validate()


def test_conv_net_trains_on_digits_images(tmp_path):
    out = tmp_path / "conv"
    assert main(["train", "--dataset", "digits", "--model", "8C3-AP2-32", "--epochs", "2", "--sparsity", "0.8",
                 "--batch-size", "32", "--lr", "0.003", "--out", str(out), "--no-progress"]) == 0
    s = json.loads((out / "summary.json").read_text())
    assert abs(s["link_sparsity"] - 0.8) < 1e-3 and s["test_accuracy"] > 0.2


@pytest.mark.skipif(not NMNIST.exists(), reason="shared N-MNIST subset not present")
def test_nmnist_contract(tmp_path):
    out = tmp_path / "nm"
    assert main(["train", "--dataset", "nmnist", "--data-dir", str(NMNIST), "--model", "2conv2fc", "--sparsity", "0.9",
                 "--epochs", "1", "--batch-size", "32", "--out", str(out), "--no-progress"]) == 0
    s = json.loads((out / "summary.json").read_text())
    assert abs(s["link_sparsity"] - 0.9) < 1e-3 and s["sops_per_sample"] > 0


def test_nir_round_trip_keeps_sparse_topology(tmp_path):
    import nir

    from sparsesnn.export.nir_export import export_nir

    net = SpikingNet((2, 8, 8), 4, ModelConfig(arch="3C3-AP2-20", T=2, alpha=0.75), sparsity=0.85)
    net.init_weights()
    path = export_nir(net, tmp_path / "m.nir")
    g = nir.read(path)
    kinds = {k: type(v).__name__ for k, v in g.nodes.items()}
    assert sorted(kinds.values()).count("LIF") == 2 and "Conv2d" in kinds.values() and "AvgPool2d" in kinds.values()
    sparse = [v for v in g.nodes.values() if type(v).__name__ == "Affine" and bool(v.metadata.get("sparse"))]
    assert len(sparse) == 1
    layer = next(m for m in net.synapses if isinstance(m, SparseLinear))
    w = sparse[0].weight
    np.testing.assert_array_equal(w, layer.dense_weight().numpy())
    np.testing.assert_array_equal(np.asarray(sparse[0].metadata["rows"]), layer.rows.numpy())
    assert int((w != 0).sum()) <= layer.nnz and int(sparse[0].metadata["nnz"]) == layer.nnz
    lif = next(v for v in g.nodes.values() if type(v).__name__ == "LIF")
    assert np.allclose(1 - 1 / lif.tau, 0.75) and np.allclose(lif.r, lif.tau)
    # edges form one chain from input to output
    nxt = dict(g.edges)
    node, steps = "input", 0
    while node != "output":
        node, steps = nxt[node], steps + 1
    assert steps == len(g.nodes) - 1


def test_export_cli(tmp_path):
    out = tmp_path / "r"
    assert main(["train", "--dataset", "digits", "--epochs", "1", "--set", "model.hidden=[32]", "--out", str(out), "--no-progress"]) == 0
    assert main(["export", str(out), "--nir", str(tmp_path / "m.nir")]) == 0
    assert (tmp_path / "m.nir").stat().st_size > 0


def test_spikformer_sparse_layers_chains_and_training(tmp_path):
    from sparsesnn.models import Spikformer

    cfg = ModelConfig(arch="spikformer", embed_dim=16, heads=2, depth=2, T=2)
    net = Spikformer((1, 8, 8), 10, cfg, sparsity=0.8)
    assert len(net.sparse_layers()) == 12  # q, k, v, proj, fc1, fc2 per block
    chains = net.chains()
    layers = net.sparse_layers()
    for chain in chains:
        for a, b in zip(chain, chain[1:]):
            assert layers[a].out_features == layers[b].in_features
    assert net(torch.rand(3, 1, 8, 8)).shape == (3, 10)
    out = tmp_path / "sf"
    assert main(["train", "--dataset", "digits", "--model", "spikformer", "--epochs", "2", "--sparsity", "0.8",
                 "--batch-size", "32", "--lr", "0.003", "--set", "model.embed_dim=16", "--set", "model.heads=2",
                 "--T", "2", "--out", str(out), "--no-progress"]) == 0
    s = json.loads((out / "summary.json").read_text())
    assert abs(s["link_sparsity"] - 0.8) < 0.01 and s["test_accuracy"] > 0.15
    assert s["sops_per_sample"] > 0 and s["other_acs_per_sample"]["attention_qk"] > 0


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 2**32 - 1), st.floats(0.0, 1.0))
def test_spiking_attention_acs_equal_brute_force(seed, density):
    g = torch.Generator().manual_seed(seed)
    q, k, v = ((torch.rand(2, 5, 3, generator=g) < density).float() for _ in range(3))
    qk, av = spiking_attention_acs(q, k, v)
    scores = q @ k.transpose(-2, -1)
    brute_qk = sum(float(q[b, i, c] * k[b, j, c]) for b in range(2) for i in range(5) for j in range(5) for c in range(3))
    brute_av = sum(float(scores[b, i, j] != 0) * float(v[b, j, c]) for b in range(2) for i in range(5) for j in range(5) for c in range(3))
    assert (qk, av) == (brute_qk, brute_av)


def test_spikformer_sops_equal_products_on_the_live_links():
    """Every synaptic layer's SOPs equal the non-zero products of its input with its live links,
    counted by brute force from the inputs the layers really received."""
    from sparsesnn.models import Spikformer

    torch.manual_seed(0)
    cfg = ModelConfig(arch="spikformer", embed_dim=16, heads=2, depth=2, T=3, threshold=0.3)
    net = Spikformer((1, 8, 8), 10, cfg, sparsity=0.8).eval()
    net.init_weights()
    layers = [*net.sps_conv, *[m for b in net.blocks for m in b.linears()], net.head]
    seen: dict[int, list] = {i: [] for i in range(len(layers))}
    hooks = [m.register_forward_hook(lambda m, a, o, i=i: seen[i].append(a[0].detach())) for i, m in enumerate(layers)]
    x = torch.rand(4, 1, 8, 8) * (torch.rand(4, 1, 8, 8) < 0.7)
    rec = ActivityRecorder()
    with torch.no_grad():
        net(x, rec)
    for h in hooks:
        h.remove()
    report = rec.report(net.out_degrees())
    for i, m in enumerate(layers):
        live = (m.weight != 0).float() if not isinstance(m, SparseLinear) else (m.dense_weight() != 0).float()
        inp = seen[i][0]
        if i < 2:
            events = (inp != 0).float() if i == 0 else inp
            brute = float(F.conv2d(events, live, padding=1).sum()) * (cfg.T if i == 0 else 1)
        else:
            events = (inp != 0).float() if m is net.head else inp  # the head's inputs are analog: MACs
            brute = float((events @ live.T).sum())
        assert report["layers"][i]["sops_per_sample"] == pytest.approx(brute / 4), i
    assert report["layers"][0]["kind"] == "mac" and report["layers"][-1]["kind"] == "mac"
    assert report["acs_per_sample"] == pytest.approx(sum(l["sops_per_sample"] for l in report["layers"] if l["kind"] == "ac")
                                                     + sum(report["other_acs_per_sample"].values()))


def test_stp_training_learns_and_needs_a_spiking_readout(tmp_path, capsys):
    out = tmp_path / "stp"
    args = ["train", "--dataset", "digits", "--epochs", "4", "--sparsity", "0.8", "--batch-size", "32", "--lr", "0.01",
            "--set", "model.hidden=[128]", "--set", "train.method=stp", "--set", "train.stp_window=4", "--no-progress"]
    assert main([*args, "--out", str(out)]) == 2
    assert "model.readout" in capsys.readouterr().err
    assert main([*args, "--set", "model.readout=spikes", "--out", str(out)]) == 0
    losses = [json.loads(l)["train_loss"] for l in (out / "metrics.jsonl").read_text().splitlines()]
    assert losses[-1] < losses[0]


def test_paper_size_spikformer_builds_and_backpropagates():
    """configs/spikformer_paper.yaml (8 blocks, D = 512, 8 heads, 99 %) on a CIFAR-shaped input."""
    from sparsesnn.models import Spikformer
    from sparsesnn.training import RunConfig

    cfg = RunConfig.from_file(Path(__file__).resolve().parents[1] / "configs" / "spikformer_paper.yaml")
    net = Spikformer((3, 32, 32), 10, cfg.model, sparsity=cfg.topology.sparsity)
    assert len(net.sparse_layers()) == 6 * 8
    s = net.structure()
    assert abs(s["link_sparsity"] - 0.99) < 1e-3
    net(torch.rand(2, 3, 32, 32)).sum().backward()
    assert all(m.weight_values.grad is not None for m in net.sparse_layers())


@pytest.mark.parametrize("arch,shape,x_shape", [("mlp", (64,), (5, 64)), ("4C3-AP2-12", (1, 8, 8), (5, 1, 8, 8)),
                                                ("mlp", (64,), (6, 5, 64))])
def test_forward_averages_the_output_layer_input_and_matches_the_full_sequence(arch, shape, x_shape):
    """forward() applies the output layer to time-averaged spikes (a held direct-encoding current
    expands at the first LIF): logits, gradients and SOPs equal those of the full sequence."""
    torch.manual_seed(0)
    cfg = ModelConfig(arch=arch, hidden=[40], T=6, threshold=0.3)
    net = SpikingNet(shape, 10, cfg, sparsity=0.5)
    net.init_weights()
    x = torch.rand(x_shape)
    if len(x_shape) == len(shape) + 2:
        x = (x < 0.3).float()  # spike input [T, B, ...]
    rec_a, rec_b = ActivityRecorder(), ActivityRecorder()
    fast = net(x, rec_a)
    full = net.forward_sequence(x, rec_b).mean(0)
    torch.testing.assert_close(fast, full, rtol=1e-5, atol=1e-6)
    w = torch.randn_like(fast)
    g_fast = torch.autograd.grad((fast * w).sum(), list(net.parameters()))
    g_full = torch.autograd.grad((full * w).sum(), list(net.parameters()))
    for a, b in zip(g_fast, g_full):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-6)
    degrees = net.out_degrees()
    assert rec_a.report(degrees)["sops_per_sample"] == rec_b.report(degrees)["sops_per_sample"] > 0
