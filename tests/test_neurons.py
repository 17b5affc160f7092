import pytest
import torch

from sparsesnn.neurons import LIF, encoders, lif_multistep, lif_multistep_reference
from sparsesnn.neurons import surrogate as sg
from sparsesnn.neurons.functional import spike


@pytest.fixture(params=[True, False], ids=["compiled", "torch"])
def compiled(request, monkeypatch):
    """Each LIF test runs on the compiled (numba) kernel and on the plain torch path."""
    from sparsesnn.neurons import functional

    if not request.param:
        monkeypatch.setattr(functional, "_nl", None)
    return request.param


@pytest.mark.parametrize("name", ["sigmoid", "arctan", "triangle"])
@pytest.mark.parametrize("detach_reset", [False, True])
def test_fast_lif_equals_reference_loop(name, detach_reset, compiled):
    cur = (torch.randn(9, 4, 13) * 1.5).requires_grad_()
    fn = sg.get(name)
    fast = lif_multistep(cur, 0.7, 1.0, fn, detach_reset)
    ref = lif_multistep_reference(cur, 0.7, 1.0, fn, detach_reset)
    assert torch.equal(fast, ref)
    assert 0 < fast.mean() < 1  # the test exercises both spikes and silence
    w = torch.randn_like(fast)
    g_fast, = torch.autograd.grad((fast * w).sum(), cur)
    g_ref, = torch.autograd.grad((ref * w).sum(), cur)
    torch.testing.assert_close(g_fast, g_ref, rtol=1e-5, atol=1e-6)


def test_lif_dynamics_by_hand():
    # α = 0.5, θ = 1: h = 0.6, 0.9 (no spike), then 0.45 + 0.6 = 1.05 → spike, then reset: 0 + 0.6
    cur = torch.full((4, 1, 1), 0.6)
    out = LIF(alpha=0.5, threshold=1.0)(cur).flatten().tolist()
    assert out == [0.0, 0.0, 1.0, 0.0]


def test_lif_module_contract_and_state_reset():
    lif = LIF(alpha=0.9, threshold=0.5, surrogate="sigmoid")
    x = torch.rand(5, 3, 7)
    a, b = lif(x), lif(x)
    assert a.shape == (5, 3, 7) and torch.equal(a, b)


@pytest.mark.parametrize("kwargs", [{"alpha": 0.0}, {"alpha": 1.5}, {"threshold": 0.0}, {"surrogate": "nope"}])
def test_lif_rejects_bad_parameters(kwargs):
    with pytest.raises(ValueError):
        LIF(**kwargs)


def test_lif_rejects_bad_shape():
    with pytest.raises(ValueError, match="T, B"):
        LIF()(torch.rand(5))


def test_surrogates_integrate_to_one():
    x = torch.linspace(-20, 20, 400001, dtype=torch.float64)
    for fn in sg.SURROGATES.values():
        assert abs(torch.trapezoid(fn(x), x).item() - 1.0) < 2e-2


def test_encoders():
    x = torch.tensor([[0.0, 0.5, 1.0]])
    p = encoders.poisson(x.expand(2000, 3), 8, torch.Generator().manual_seed(0))
    assert p.shape == (8, 2000, 3)
    rates = p.mean((0, 1))
    assert rates[0] == 0 and rates[2] == 1 and abs(rates[1] - 0.5) < 0.02
    lat = encoders.latency(x, 5)
    assert lat.sum((0, 1)).tolist() == [0.0, 1.0, 1.0]
    assert lat[:, 0, 2].tolist() == [1, 0, 0, 0, 0] and lat[:, 0, 1].tolist() == [0, 0, 1, 0, 0]
    assert encoders.direct(x, 4).shape == (4, 1, 3)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        encoders.poisson(torch.tensor([2.0]), 3)


def test_truncated_bptt_matches_detached_state(compiled):
    fn = sg.get("arctan")
    cur = (torch.randn(8, 3, 5) * 1.5).requires_grad_()
    k = 3
    out = lif_multistep(cur, 0.6, 1.0, fn, grad_start=k)
    w = torch.randn_like(out)
    (g,) = torch.autograd.grad((out * w).sum(), cur)
    assert torch.equal(g[:k], torch.zeros_like(g[:k]))
    # reference: the plain loop with steps before k detached (inputs and the state leaving them)
    h = torch.zeros(3, 5)
    z = torch.zeros(3, 5)
    spikes = []
    for t in range(8):
        if t == k:
            h, z = h.detach(), z.detach()
        h = (1 - z) * 0.6 * h + (cur[t] if t >= k else cur[t].detach())
        z = spike(h - 1.0, fn)
        spikes.append(z)
    (g_ref,) = torch.autograd.grad((torch.stack(spikes) * w).sum(), cur)
    torch.testing.assert_close(g, g_ref)


@pytest.mark.parametrize("detach_reset", [False, True])
def test_held_current_equals_the_expanded_sequence(compiled, detach_reset):
    """A [1, B, N] current held for T steps (direct encoding) gives the spikes of its expansion
    and, as gradient, the expansion's gradient summed over steps."""
    fn = sg.get("arctan")
    base = (torch.randn(1, 4, 13) * 1.5).requires_grad_()
    held = lif_multistep(base, 0.7, 1.0, fn, detach_reset, steps=9)
    ref = lif_multistep_reference(base.expand(9, 4, 13), 0.7, 1.0, fn, detach_reset)
    assert held.shape == (9, 4, 13) and torch.equal(held, ref) and 0 < held.mean() < 1
    w = torch.randn_like(held)
    (g_held,) = torch.autograd.grad((held * w).sum(), base)
    (g_ref,) = torch.autograd.grad((ref * w).sum(), base)
    assert g_held.shape == (1, 4, 13)
    torch.testing.assert_close(g_held, g_ref, rtol=1e-5, atol=1e-5)
    with pytest.raises(ValueError, match="steps"):
        lif_multistep(torch.randn(3, 2, 5), 0.7, 1.0, fn, steps=9)


def test_gradient_broadcast_over_time_equals_the_materialised_one(compiled):
    fn = sg.get("triangle")
    cur = (torch.randn(7, 3, 11) * 1.5).requires_grad_()
    out = lif_multistep(cur, 0.6, 1.0, fn)
    g_row = torch.randn(1, 3, 11)
    (g_view,) = torch.autograd.grad(out, cur, g_row.expand(7, 3, 11), retain_graph=True)
    (g_full,) = torch.autograd.grad(out, cur, g_row.expand(7, 3, 11).contiguous())
    torch.testing.assert_close(g_view, g_full, rtol=0, atol=0)
