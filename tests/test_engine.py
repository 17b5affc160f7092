import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from sparsesnn.layers import SparseLinear, target_nnz
from sparsesnn.topology import TopologyConfig, TopologyEngine, chain_removal


def _network(widths, sparsity, seed):
    g = torch.Generator().manual_seed(seed)
    return [SparseLinear(a, b, sparsity, generator=g) for a, b in zip(widths[:-1], widths[1:])]


def _train_step(layers, opt, seed):
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(8, layers[0].in_features, generator=g)
    for layer in layers:
        for l in layers:
            l.track_dense_grad = True
        x = torch.tanh(layer(x))
    opt.zero_grad()
    (x.square().sum()).backward()
    opt.step()
    for l in layers:
        l.track_dense_grad = False


def _label_links(layer, opt):
    """Give every link a unique value and optimizer state so that moves can be traced."""
    n = layer.nnz
    state = opt.state[layer.weight_values]
    with torch.no_grad():
        layer.weight_values.copy_(torch.arange(1, n + 1, dtype=torch.float32))
    state["exp_avg"] = -torch.arange(1, n + 1, dtype=torch.float32)
    state["exp_avg_sq"] = torch.arange(1, n + 1, dtype=torch.float32) / 7


def _snapshot(layer, opt):
    state = opt.state[layer.weight_values]
    keys = (layer.rows * layer.in_features + layer.cols).tolist()
    vals = layer.weight_values.detach().tolist()
    m1, m2 = state["exp_avg"].tolist(), state["exp_avg_sq"].tolist()
    return {k: (v, a, b) for k, v, a, b in zip(keys, vals, m1, m2)}


config_strategy = st.builds(
    TopologyConfig,
    sparsity=st.floats(0.5, 0.95),
    init=st.sampled_from(["uniform", "brf"]),
    removal=st.sampled_from(["lrs", "magnitude"]),
    regrowth=st.sampled_from(["ch3_l3", "ch2_l3n", "ch3_l3n", "random", "gradient"]),
    delta_removal=st.sampled_from([0.0, 0.5, 1.0]),
    delta_regrowth=st.sampled_from([0.0, 0.5, 1.0]),
    zeta=st.floats(0.0, 0.6),
    zeta_schedule=st.sampled_from(["cosine", "constant"]),
    chain_removal=st.booleans(),
    early_stop_overlap=st.sampled_from([None, 0.5, 0.95]),
)


@settings(max_examples=60, deadline=None)
@given(config_strategy, st.lists(st.integers(3, 24), min_size=2, max_size=4), st.integers(0, 10_000))
def test_engine_invariants(cfg, widths, seed):
    layers = _network(widths, cfg.sparsity, seed)
    engine = TopologyEngine(layers, cfg, total_updates=4, seed=seed)
    engine.initialize()
    with torch.no_grad():
        for layer in layers:
            layer.weight_values.normal_(0, 1, generator=torch.Generator().manual_seed(seed))
    params = [p for l in layers for p in l.parameters()]
    opt = torch.optim.Adam(params, lr=0.01)
    revived = False  # a revival may reconnect a dead neuron on one side only, and that persists
    for step in range(4):
        _train_step(layers, opt, seed + step)
        for layer in layers:
            _label_links(layer, opt)
        before = [_snapshot(l, opt) for l in layers]
        stats = engine.update(opt)
        for layer, old, st_ in zip(layers, before, stats):
            n_out, n_in = layer.shape
            # exact link count, no duplicates, sorted storage
            assert layer.nnz == target_nnz(cfg.sparsity, n_in, n_out)
            keys = layer.rows * n_in + layer.cols
            assert keys.unique().numel() == layer.nnz
            assert bool((keys[1:] > keys[:-1]).all())
            # optimizer state has one entry per link; kept links keep value and state,
            # regrown links start at zero and never sit on a link that was kept
            state = opt.state[layer.weight_values]
            assert state["exp_avg"].shape == state["exp_avg_sq"].shape == layer.weight_values.shape
            new = _snapshot(layer, opt)
            kept = {k for k, v in new.items() if k in old and v == old[k]}
            regrown = set(new) - kept
            assert len(regrown) == st_.regrown
            assert all(new[k] == (0.0, 0.0, 0.0) for k in regrown)
            assert not (regrown & kept)
            # mask and weights agree
            assert torch.equal(layer.dense_weight() != 0, layer.mask() & (layer.dense_weight() != 0))
            assert torch.equal(layer.alive_out, layer.in_degree() > 0)
        if cfg.chain_removal:
            for a, b in zip(layers[:-1], layers[1:]):
                in_deg, out_deg = a.in_degree(), b.out_degree()
                revived = revived or any(s.revived for s in stats)
                if not revived:
                    assert torch.equal(in_deg == 0, out_deg == 0)


@settings(max_examples=15, deadline=None)
@given(config_strategy, st.integers(0, 1000))
def test_same_seed_same_topology(cfg, seed):
    def run():
        torch.manual_seed(seed)
        layers = _network([10, 14, 9], cfg.sparsity, seed)
        engine = TopologyEngine(layers, cfg, total_updates=3, seed=seed)
        engine.initialize()
        opt = torch.optim.Adam([p for l in layers for p in l.parameters()], lr=0.01)
        for step in range(3):
            _train_step(layers, opt, step)
            engine.update(opt)
        return [(l.rows.clone(), l.cols.clone(), l.weight_values.detach().clone()) for l in layers]

    for (r1, c1, v1), (r2, c2, v2) in zip(run(), run()):
        assert torch.equal(r1, r2) and torch.equal(c1, c2) and torch.equal(v1, v2)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(2, 12), min_size=2, max_size=5), st.floats(0.3, 0.97), st.integers(0, 10_000))
def test_chain_removal_fixed_point(widths, density_drop, seed):
    g = torch.Generator().manual_seed(seed)
    links, shapes = [], []
    for a, b in zip(widths[:-1], widths[1:]):
        m = torch.rand(b, a, generator=g) > density_drop
        r, c = m.nonzero(as_tuple=True)
        links.append((r, c))
        shapes.append((b, a))
    keep = chain_removal(links, shapes)
    kept = [(r[k], c[k]) for (r, c), k in zip(links, keep)]
    for i in range(len(shapes) - 1):
        in_deg = torch.bincount(kept[i][0], minlength=shapes[i][0])
        out_deg = torch.bincount(kept[i + 1][1], minlength=shapes[i + 1][1])
        assert torch.equal(in_deg == 0, out_deg == 0)
    # nothing removed that chain removal did not have to remove: live paths keep all links
    again = chain_removal(kept, shapes)
    assert all(bool(k.all()) for k in again)


def test_chain_removal_rejects_non_chaining_shapes():
    with pytest.raises(ValueError, match="do not chain"):
        chain_removal([(torch.tensor([0]), torch.tensor([0]))] * 2, [(3, 4), (5, 6)])


def test_cosine_zeta_and_early_stop():
    layers = _network([20, 30], 0.8, 0)
    cfg = TopologyConfig(sparsity=0.8, init="uniform", zeta=0.4, early_stop_overlap=None, regrowth="random")
    engine = TopologyEngine(layers, cfg, total_updates=4)
    engine.initialize()
    removed = [engine.update()[0].removed for _ in range(5)]
    nnz = target_nnz(0.8, 20, 30)
    assert removed[0] == int(0.4 * nnz) and removed[1] == int(0.2 * (1 + 2**-0.5) * nnz)
    assert removed[4] == 0 and not engine.is_evolving()


def test_overlap_early_stop_halts_layer():
    layers = _network([6, 6], 0.2, 0)  # nearly dense: regrowth must reuse removed positions
    cfg = TopologyConfig(sparsity=0.2, init="uniform", zeta=0.5, regrowth="random", early_stop_overlap=0.5)
    engine = TopologyEngine(layers, cfg, total_updates=10)
    engine.initialize()
    s = engine.update()[0]
    assert s.overlap > 0.5 and engine.stopped == [True]
    assert engine.update()[0].removed == 0


def test_sigmoid_density_decay_reaches_target():
    layers = _network([30, 40], 0.5, 0)
    cfg = TopologyConfig(sparsity=0.9, initial_sparsity=0.5, init="uniform", regrowth="ch3_l3n", zeta=0.2)
    engine = TopologyEngine(layers, cfg, total_updates=6)
    engine.initialize()
    counts = [layers[0].nnz]
    for _ in range(6):
        engine.update()
        counts.append(layers[0].nnz)
    assert counts[0] == target_nnz(0.5, 30, 40) and counts[-1] == target_nnz(0.9, 30, 40)
    assert all(a >= b for a, b in zip(counts, counts[1:]))


def test_sscti_keeps_most_correlated_inputs():
    from sparsesnn.topology.init import sscti

    g = torch.Generator().manual_seed(0)
    base = (torch.rand(500, 1, generator=g) < 0.5).float()
    noise = (torch.rand(500, 6, generator=g) < 0.5).float()
    x = torch.cat([base, base, noise], 1)  # inputs 0 and 1 perfectly correlated
    rows, cols = sscti(x, 16, 4)  # hidden 16 = inputs tiled twice; 4 links
    links = set(zip(rows.tolist(), cols.tolist()))
    assert links == {(0, 1), (1, 0), (8, 1), (9, 0)}


def test_sscti_requires_samples():
    layers = _network([5, 5], 0.5, 0)
    engine = TopologyEngine(layers, TopologyConfig(sparsity=0.5, init="sscti"), total_updates=1)
    with pytest.raises(ValueError, match="SSCTI"):
        engine.initialize()


@pytest.mark.parametrize("field,value", [("sparsity", 1.0), ("regrowth", "magic"), ("delta_regrowth", 2.0), ("zeta", -0.1)])
def test_config_validation_names_the_field(field, value):
    with pytest.raises(ValueError, match=field):
        TopologyConfig(**{field: value}).validate()
