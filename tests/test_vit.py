"""The sparse ViT (an ANN for conversion) and its DCGS conversion: differential arithmetic,
operation counts, agreement with the ANN, the CLI contract."""

import json

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from sparsesnn.cli.main import main
from sparsesnn.conversion import neurons
from sparsesnn.conversion.simulate import Tally
from sparsesnn.conversion.vit import DifferentialOps, _products, channel_abs_percentile, convert_vit
from sparsesnn.layers.sparse_linear import SparseLinear
from sparsesnn.models import ModelConfig, SparseViT


def _vit(sparsity=0.7, seed=0, depth=2):
    torch.manual_seed(seed)
    cfg = ModelConfig(arch="vit", kind="ann", embed_dim=16, heads=2, depth=depth, mlp_ratio=2, patch_size=2, weight_init="swi")
    m = SparseViT((1, 8, 8), 5, cfg, sparsity=sparsity)
    m.init_weights()
    for lyr in m.synapses:
        torch.nn.init.uniform_(lyr.bias, -0.1, 0.1)
    return m.eval()


def _frames(x: torch.Tensor, T: int) -> torch.Tensor:
    f = torch.zeros(T + 1, *x.shape)
    f[1] = x
    return f


def test_patch_embedding_equals_a_strided_convolution():
    m = _vit()
    x = torch.rand(3, 1, 8, 8)
    p = m.config.patch_size
    conv = F.conv2d(x, m.embed.weight.view(16, 1, p, p), m.embed.bias, stride=p)  # [B, D, 4, 4]
    torch.testing.assert_close(m.embed(m.patches(x)), conv.flatten(2).transpose(1, 2))
    assert m(x).shape == (3, 5) and m.tokens == 17
    assert len(m.sparse_layers()) == 12 and all(isinstance(l, SparseLinear) for l in m.sparse_layers())


def test_vit_config_errors():
    with pytest.raises(ValueError, match="kind ann"):
        ModelConfig(arch="vit").validate()
    with pytest.raises(ValueError, match="patch_size"):
        SparseViT((1, 8, 8), 5, ModelConfig(arch="vit", kind="ann", embed_dim=16, heads=2, patch_size=3, weight_init="swi"))
    with pytest.raises(ValueError, match="multiple"):
        ModelConfig(arch="vit", kind="ann", embed_dim=15, heads=2, weight_init="swi").validate()


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 2**31 - 1), st.integers(1, 12))
def test_differential_nonlinearity_and_product_decode_exactly(seed, T):
    """LayerNorm/softmax/GELU emit frames whose decode is f(decoded input) at every step; the
    product of two spike trains decodes to the product of their decodes."""
    g = torch.Generator().manual_seed(seed)
    ops = DifferentialOps([], 4, {}, T)
    x = torch.randn(T + 1, 3, 4, 6, generator=g)
    ln = torch.nn.LayerNorm(6)
    for f in (ln, lambda s: s.softmax(-1), F.gelu):
        with torch.no_grad():
            out = ops.analog(f, x)
            torch.testing.assert_close(neurons.differential_decode(out), f(neurons.differential_decode(x)), atol=1e-4, rtol=1e-4)
    a = torch.randn(T + 1, 2, 5, 3, generator=g) * (torch.rand(T + 1, 2, 5, 3, generator=g) < 0.5)
    b = torch.randn(T + 1, 2, 3, 4, generator=g) * (torch.rand(T + 1, 2, 3, 4, generator=g) < 0.5)
    a[0], b[0] = 0, 0  # spike trains: nothing in frame 0
    p = ops.matmul(a, b)
    expect = neurons.differential_values(a) @ neurons.differential_values(b)
    torch.testing.assert_close(neurons.differential_decode(p), expect, atol=1e-4, rtol=1e-4)


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 2**31 - 1), st.floats(0.0, 1.0))
def test_attention_product_count_equals_brute_force(seed, density):
    g = torch.Generator().manual_seed(seed)
    a = torch.randn(2, 3, 4, 5, generator=g) * (torch.rand(2, 3, 4, 5, generator=g) < density)
    b = torch.randn(2, 3, 5, 4, generator=g) * (torch.rand(2, 3, 5, 4, generator=g) < density)
    brute = [sum(float(a[t, n, i, c] != 0) * float(b[t, n, c, j] != 0) for n in range(3) for i in range(4) for j in range(4) for c in range(5))
             for t in range(2)]
    assert _products(a, b).tolist() == brute


def test_signed_neuron_follows_negative_values_the_relu_neuron_does_not():
    T = 64
    value = torch.tensor([-0.7, 0.4, -0.05])
    z = torch.zeros(T + 1, 1, 3)
    z[1] = value
    theta = torch.full((3,), 1.0)
    signed = neurons.differential_values(neurons.mth_diff(z, theta, 6, signed=True))[-1, 0]
    relu = neurons.differential_values(neurons.mth_diff(z, theta, 6))[-1, 0]
    torch.testing.assert_close(signed, value, atol=0.02, rtol=0)
    torch.testing.assert_close(relu, value.clamp(min=0), atol=0.02, rtol=0)


def test_channel_percentile_per_head_channel_and_per_feature():
    a = torch.rand(50, 2, 7, 3) * torch.tensor([1.0, 10.0, 100.0])  # [B, H, N, d]
    th = channel_abs_percentile(-a, 100.0)
    assert th.shape == (2, 1, 3)
    torch.testing.assert_close(th[0, 0], a[:, 0].amax((0, 1)))
    flat = channel_abs_percentile(torch.zeros(10, 4))  # never active: never fires
    assert flat.shape == (4,) and bool((flat > 1e20).all())


def test_converted_vit_reproduces_the_ann_and_counts_synaptic_ops_on_the_live_links():
    m = _vit(sparsity=0.6)
    calib = torch.rand(200, 1, 8, 8)
    snn = convert_vit(m, calib, n_thresholds=8, scale=4.0)
    assert snn.populations == 2 * 8 + 1 and snn.neuron_counts[0] == 17 * 16
    x = torch.rand(40, 1, 8, 8)
    T = 48
    with torch.no_grad():
        ann = m(x)
    seen = {id(l): [] for l in m.synapses}
    hooks = [l.register_forward_hook(lambda mod, a, o: seen[id(mod)].append(a[0].detach())) for l in m.synapses]
    ops = DifferentialOps(snn.thresholds, 8, snn.degrees, T)
    with torch.no_grad():
        out = neurons.differential_decode(m(_frames(x, T), ops=ops))
    for h in hooks:
        h.remove()
    err = (out - ann).norm(dim=-1) / ann.norm(dim=-1)
    assert err[-1].mean() < 2e-3 and err[-1].mean() < err[3].mean()  # converges to the ANN's logits
    # synaptic ACs: non-zero products of every spike with the links that exist (frame 0 free)
    brute = 0.0
    for layer in m.synapses[1:]:
        live = (layer.dense_weight() if isinstance(layer, SparseLinear) else layer.weight) != 0
        inp = seen[id(layer)][0][1:]
        brute += float(((inp != 0).float() @ live.float().T).sum())
    assert float(ops.ops["synaptic_acs"].sum()) == pytest.approx(brute, rel=1e-9)
    first = seen[id(m.embed)][0]
    assert float(ops.ops["input_macs"].sum()) == pytest.approx(float(((first[1] != 0).float() @ (m.embed.weight != 0).float().T).sum()))
    # the same run through the tally: accuracy against the ANN's own predictions
    tally = Tally(T, snn.populations)
    snn.run(x, ann.argmax(1), tally)
    assert tally.correct[-1] / tally.n >= 0.9 and tally.acs[-1] > 0 and tally.macs[-1] > 0


def test_train_vit_and_convert_cli(tmp_path, capsys):
    run = tmp_path / "vit"
    assert main(["train", "--dataset", "digits", "--ann", "--model", "vit", "--sparsity", "0.9", "--epochs", "2",
                 "--set", "model.patch_size=2", "--set", "model.embed_dim=16", "--set", "model.heads=2",
                 "--set", "model.depth=1", "--out", str(run), "--no-progress"]) == 0
    capsys.readouterr()
    assert main(["convert", str(run), "--method", "dcgs", "--max-T", "6", "--n-thresholds", "8", "--test-limit", "60",
                 "--no-progress"]) == 0
    r = json.loads((run / "conversion-dcgs.json").read_text())
    assert r["T"] == list(range(1, 7)) and len(r["accuracy"]) == 6
    assert r["layer_sparsity"][0] == 0.0 and r["layer_sparsity"][-1] == 0.0
    assert all(s == pytest.approx(0.9, abs=2e-3) for s in r["layer_sparsity"][1:-1])
    assert set(r["ops_per_sample"]) == {"synaptic_acs", "residual_acs", "input_macs", "attention_macs", "nonlinear_macs"}
    assert r["energy_mj_per_sample"][-1] > r["energy_mj_per_sample"][0] > 0
    assert main(["convert", str(run), "--method", "qcfs", "--no-progress"]) == 2
    assert "dcgs" in capsys.readouterr().err
