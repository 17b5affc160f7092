import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from sparsesnn.layers import SparseLinear, target_nnz
from sparsesnn.layers.pattern import Pattern


def _dense_reference(layer: SparseLinear, x: torch.Tensor):
    w = layer.dense_weight().requires_grad_()
    mask = layer.mask()
    y = x @ (w * mask).t() + layer.effective_bias()
    return w, y


def _check_forward_backward(layer: SparseLinear, x: torch.Tensor) -> None:
    """Output, input gradient and link gradients equal the dense masked computation."""
    x = x.detach().clone().requires_grad_()
    y = layer(x)
    xr = x.detach().clone().requires_grad_()
    w, yr = _dense_reference(layer, xr)
    torch.testing.assert_close(y, yr)
    gy = torch.randn_like(y)
    y.backward(gy)
    yr.backward(gy)
    torch.testing.assert_close(x.grad, xr.grad)
    torch.testing.assert_close(layer.weight_values.grad, w.grad[layer.rows, layer.cols])
    layer.weight_values.grad = None


@pytest.mark.parametrize("sparsity", [0.0, 0.5, 0.9, 0.99])
def test_forward_backward_equal_dense_masked(sparsity):
    layer = SparseLinear(37, 23, sparsity=sparsity, generator=torch.Generator().manual_seed(1))
    assert layer.nnz == target_nnz(sparsity, 37, 23)
    _check_forward_backward(layer, torch.randn(11, 37))


def test_empty_rows_and_columns_and_inactive_inputs():
    layer = SparseLinear(6, 5, sparsity=0.5)
    rows = torch.tensor([0, 0, 2, 4])
    cols = torch.tensor([1, 3, 3, 5])  # outputs 1, 3 and inputs 0, 2, 4 have no links
    layer.replace_links(rows, cols, torch.tensor([1.0, -2.0, 0.5, 3.0]))
    for x in (torch.zeros(3, 6), torch.ones(3, 6), torch.randn(3, 6)):
        x = x.requires_grad_()
        y = layer(x)
        xr = x.detach().clone().requires_grad_()
        w, yr = _dense_reference(layer, xr)
        torch.testing.assert_close(y, yr)
        y.sum().backward()
        yr.sum().backward()
        torch.testing.assert_close(x.grad, xr.grad)
        torch.testing.assert_close(layer.weight_values.grad, w.grad[rows, cols])
        layer.weight_values.grad = None


def test_time_major_input_and_gradients_only_for_present_links():
    layer = SparseLinear(10, 4, sparsity=0.8)
    x = torch.rand(3, 2, 10)
    y = layer(x)
    assert y.shape == (3, 2, 4)
    y.sum().backward()
    assert layer.weight_values.grad.shape == (layer.nnz,)


@pytest.mark.parametrize("bad", [-0.1, 1.0, 1.5, float("nan"), "0.5", True])
def test_rejects_sparsity_outside_unit_interval(bad):
    with pytest.raises(ValueError, match="sparsity"):
        SparseLinear(4, 4, sparsity=bad)


def test_rejects_wrong_input_width():
    with pytest.raises(ValueError, match="last dimension 8"):
        SparseLinear(8, 3)(torch.rand(2, 7))


def test_rejects_duplicate_and_out_of_range_links():
    layer = SparseLinear(4, 4, sparsity=0.5)
    with pytest.raises(ValueError, match="duplicate"):
        layer.replace_links(torch.tensor([0, 0]), torch.tensor([1, 1]), torch.zeros(2))
    with pytest.raises(ValueError, match="outside"):
        layer.replace_links(torch.tensor([4]), torch.tensor([0]), torch.zeros(1))


def test_dead_output_bias_is_masked_and_gets_no_gradient():
    layer = SparseLinear(4, 3, sparsity=0.5)
    with torch.no_grad():
        layer.bias.fill_(1.0)
    layer.alive_out[1] = False
    y = layer(torch.zeros(2, 4))
    assert y[:, 1].abs().max() == 0 and y[:, 0].min() == 1
    y.sum().backward()
    assert layer.bias.grad[1] == 0


def test_state_dict_round_trip_with_different_link_count():
    a = SparseLinear(20, 10, sparsity=0.5)
    b = SparseLinear(20, 10, sparsity=0.9)
    b.load_state_dict(a.state_dict())
    assert b.nnz == a.nnz
    x = torch.randn(4, 20)
    torch.testing.assert_close(a(x), b(x))


def test_memory_is_proportional_to_links():
    layer = SparseLinear(1000, 1000, sparsity=0.99)
    n_param = sum(p.numel() for p in layer.parameters())
    assert n_param == layer.nnz + 1000
    assert math.isclose(layer.density, 0.01)


@pytest.mark.parametrize("active", [0.0, 0.1, 1.0])
def test_event_driven_path_equals_dense_masked(active):
    layer = SparseLinear(40, 30, sparsity=0.9)
    x = (torch.rand(3, 5, 40) < active).float()
    with torch.no_grad():
        y = layer(x)
        y_hint = layer(x, binary=True)
        _, yr = _dense_reference(layer, x)
    torch.testing.assert_close(y, yr)
    torch.testing.assert_close(y_hint, yr)


def test_torch_fallback_equals_compiled_kernels(monkeypatch):
    from sparsesnn import native
    from sparsesnn.layers import kernels

    layer = SparseLinear(33, 21, sparsity=0.8)
    x = torch.randn(9, 33, requires_grad=True)
    spikes = (torch.rand(9, 33) < 0.2).float()

    def run():
        x.grad, layer.weight_values.grad = None, None
        y = layer(x)
        y.backward(torch.ones_like(y))
        with torch.no_grad():
            ye = layer(spikes)
        return y.detach(), x.grad.clone(), layer.weight_values.grad.clone(), ye

    compiled = run()
    assert native.available(), native.reason()  # the compiler is part of this machine kind
    assert kernels.backend(layer.pattern, x) == "native"
    monkeypatch.setattr(native, "usable", lambda *t: False)
    assert kernels.backend(layer.pattern, x) == "torch"
    for a, b in zip(compiled, run()):
        torch.testing.assert_close(a, b)


@pytest.mark.parametrize("n_samples", [1, 15, 16, 17, 100])
@pytest.mark.parametrize("shape", [(1, 1), (7, 300), (300, 7), (129, 65)])
def test_native_tiles_equal_dense_masked_at_ragged_sizes(n_samples, shape):
    """Tile edges (samples not a multiple of the tile, outputs not a multiple of the write block,
    widths not a multiple of the 8 x 8 transposes) and empty rows/columns at 99 % sparsity."""
    n_out, n_in = shape
    layer = SparseLinear(n_in, n_out, sparsity=0.99 if n_in * n_out > 100 else 0.0)
    _check_forward_backward(layer, torch.randn(n_samples, n_in))
    for active in (0.0, 0.3, 1.0):
        spikes = (torch.rand(n_samples, n_in) < active).float()
        with torch.no_grad():
            torch.testing.assert_close(layer(spikes, binary=True), _dense_reference(layer, spikes)[1])


@pytest.mark.parametrize("scatter_per_link", [0.0, float("inf"), None], ids=["tiles", "scatter", "auto"])
@pytest.mark.parametrize("n_samples", [1, 16, 17, 32, 33, 100])
@pytest.mark.parametrize("shape", [(7, 300), (300, 7), (129, 65)])
def test_event_methods_equal_dense_masked(scatter_per_link, n_samples, shape):
    """Both event methods, forced and chosen per tile, at ragged sizes (inputs not a multiple of
    the 8-wide packing, samples not a multiple of the 32-sample tile or of its 16-sample halves),
    with empty rows/columns, from no spikes to all; a non-binary entry is noticed by either."""
    from sparsesnn.layers import kernels

    n_out, n_in = shape
    layer = SparseLinear(n_in, n_out, sparsity=0.97)
    p, v = layer.pattern, layer.weight_values.detach()
    ratio = kernels.SCATTER_PER_LINK if scatter_per_link is None else scatter_per_link
    for active in (0.0, 0.02, 0.1, 0.5, 1.0):
        spikes = (torch.rand(n_samples, n_in) < active).float()
        want = spikes @ (layer.dense_weight() * layer.mask()).t()
        torch.testing.assert_close(kernels.event_forward(p, v, spikes, check=True, scatter_per_link=ratio), want)
    # in the vectorised part of the packing and in its scalar tail; NaN and a plain non-binary value
    for where, bad in (((0, 0), float("nan")), ((-1, -1), float("nan")), ((n_samples // 2, n_in // 2), 2.0)):
        odd = spikes.clone()
        odd[where] = bad
        assert kernels.event_forward(p, v, odd, check=True, scatter_per_link=ratio) is None, (where, bad)


def test_portable_build_equals_dense_masked(monkeypatch, tmp_path):
    """The kernels built without -march=native (no AVX2 paths: what a machine without AVX2 runs)
    compute the same products, forward, backward and both event methods."""
    import importlib

    from sparsesnn import native
    from sparsesnn.layers import kernels
    from sparsesnn.native import build

    monkeypatch.setenv("SPARSESNN_CACHE", str(tmp_path))
    monkeypatch.setattr(build, "FLAG_SETS", [f for f in build.FLAG_SETS if "-march=native" not in f])
    fresh = importlib.reload(native)
    try:
        assert fresh.available(), fresh.reason()
        assert "-march" not in " ".join(build.FLAG_SETS[0])
        layer = SparseLinear(37, 29, sparsity=0.9)
        _check_forward_backward(layer, torch.randn(21, 37))
        spikes = (torch.rand(21, 37) < 0.3).float()
        want = spikes @ (layer.dense_weight() * layer.mask()).t()
        for ratio in (0.0, float("inf")):
            got = kernels.event_forward(layer.pattern, layer.weight_values.detach(), spikes, scatter_per_link=ratio)
            torch.testing.assert_close(got, want)
        mask = layer.mask()
        assert [torch.equal(a, b) for a, b in zip(fresh.mask_csr(mask), layer.pattern.index)] == [True] * 4
        from sparsesnn.topology import scores

        compiled = fresh.mask_csr
        monkeypatch.setattr(fresh, "mask_csr", lambda m: None)  # the torch path as reference
        want = [scores.ch2_l3n(mask), scores.ch3_l3n(mask)]
        monkeypatch.setattr(fresh, "mask_csr", compiled)
        torch.testing.assert_close([scores.ch2_l3n(mask), scores.ch3_l3n(mask)], want)
    finally:
        monkeypatch.undo()
        importlib.reload(native)


def test_native_build_failure_falls_back_with_one_warning(monkeypatch, tmp_path):
    """A machine without a working compiler: the layer still computes correctly, and says so once."""
    import importlib
    import warnings

    from sparsesnn import native

    monkeypatch.setenv("SPARSESNN_CACHE", str(tmp_path))
    monkeypatch.setenv("CXX", str(tmp_path / "no-such-compiler"))
    fresh = importlib.reload(native)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            assert not fresh.available() and not fresh.available()
        assert len([w for w in caught if "compiled kernels unavailable" in str(w.message)]) == 1
        assert "no-such-compiler" in fresh.reason()
        layer = SparseLinear(20, 10, sparsity=0.7)
        x = torch.randn(4, 20)
        torch.testing.assert_close(layer(x), _dense_reference(layer, x)[1])
    finally:
        monkeypatch.undo()
        importlib.reload(native)


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 40), st.integers(0, 40), st.sampled_from([0.0, 0.05, 0.5, 1.0]), st.integers(0, 2**31))
def test_native_mask_scans_equal_torch(n_rows, n_cols, density, seed):
    """The parallel mask scan (8 bytes at a time, ragged tails) lists the links in torch's order."""
    from sparsesnn import native

    mask = torch.rand(n_rows, n_cols, generator=torch.Generator().manual_seed(seed)) < density
    for got, want in zip(native.nonzero(mask), mask.nonzero(as_tuple=True)):
        assert torch.equal(got, want)
    # the CSR and its transpose straight from the mask equal the pattern built by sorting links
    pattern = Pattern.build(*mask.nonzero(as_tuple=True), (n_rows, n_cols))
    for got, want in zip(native.mask_csr(mask), pattern.index):
        assert torch.equal(got, want)


def test_native_empty_gives_writable_buffers_of_any_size():
    from sparsesnn import native

    for shape in [(3,), (1024, 1025), (4096, 1024)]:  # below, across and above the huge-page size
        t = native.empty(*shape, dtype=torch.float64)
        assert t.shape == shape and t.dtype == torch.float64
        t.fill_(2.0)
        assert float(t.sum()) == 2.0 * t.numel()


@pytest.mark.parametrize("native_on", [True, False])
@pytest.mark.parametrize("where", [0, 17, -1])
def test_auto_path_falls_back_on_a_single_non_binary_entry(monkeypatch, native_on, where):
    """Without a hint the layer tries the event path and must notice one non-0/1 value in any
    sample (first, middle, last) and compute the general product instead."""
    from sparsesnn import native

    if not native_on:
        monkeypatch.setattr(native, "usable", lambda *t: False)
    layer = SparseLinear(50, 30, sparsity=0.9)
    x = (torch.rand(40, 50) < 0.2).float()
    x[where, 7] = 0.5
    with torch.no_grad():
        torch.testing.assert_close(layer(x), _dense_reference(layer, x)[1])
        x[where, 7] = 1.0
        torch.testing.assert_close(layer(x), _dense_reference(layer, x)[1])
