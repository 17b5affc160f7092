import itertools
import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from sparsesnn.topology import ch2_l3n, ch3_l3, ch3_l3n, link_removal_score


def brute_force_ch3_l3(mask: np.ndarray) -> np.ndarray:
    """CH3-L3 from its definition (001 eq. 5) on the unipartite graph of the layer.

    Nodes 0..m-1 are outputs, m..m+n-1 inputs. For each absent (u, v): all L3 paths u-z1-z2-v,
    local community = their intermediate nodes, internal degree = neighbours inside the
    community, external degree = degree - internal - links to the two seeds.
    """
    m, n = mask.shape
    N = m + n
    adj = [set() for _ in range(N)]
    for i, j in zip(*np.nonzero(mask)):
        adj[i].add(m + j)
        adj[m + j].add(i)
    out = np.zeros((m, n))
    for u in range(m):
        for j in range(n):
            v = m + j
            if v in adj[u]:
                continue
            paths = [(z1, z2) for z1 in adj[u] for z2 in adj[z1] if z2 != u and v in adj[z2] and z1 != v]
            lc = {z for p in paths for z in p}
            score = 0.0
            for z1, z2 in paths:
                de = []
                for z in (z1, z2):
                    di = len(adj[z] & lc)
                    de.append(len(adj[z]) - di - (u in adj[z]) - (v in adj[z]))
                score += 1.0 / math.sqrt((1 + de[0]) * (1 + de[1]))
            out[u, j] = score
    return out


def brute_force_l3n(mask: np.ndarray, ch2: bool) -> np.ndarray:
    """Node-based CH-L3n (003 eq. A3/A4) by explicit neighbour sets."""
    m, n = mask.shape
    nin = [set(np.nonzero(mask[u])[0]) for u in range(m)]  # inputs of output u
    nout = [set(np.nonzero(mask[:, v])[0]) for v in range(n)]  # outputs of input v
    out = np.zeros((m, n))
    for u, v in itertools.product(range(m), range(n)):
        if mask[u, v]:
            continue
        s = 0.0
        for b in nout[v]:
            c = len(nin[u] & nin[b])
            if c:
                s += (1 + c if ch2 else 1) / max(1, len(nin[b]) - c)
        for a in nin[u]:
            c = len(nout[v] & nout[a])
            if c:
                s += (1 + c if ch2 else 1) / max(1, len(nout[a]) - c)
        out[u, v] = s
    return out


masks = st.builds(
    lambda m, n, p, seed: np.random.default_rng(seed).random((m, n)) < p,
    st.integers(1, 9), st.integers(1, 9), st.floats(0.05, 0.9), st.integers(0, 2**31),
)


@settings(max_examples=60, deadline=None)
@given(masks)
def test_ch3_l3_matches_definition(mask):
    got = ch3_l3(torch.from_numpy(mask)).numpy()
    np.testing.assert_allclose(got, brute_force_ch3_l3(mask), rtol=0, atol=1e-9)


@settings(max_examples=40, deadline=None)
@given(masks)
def test_node_based_scores_match_definition(mask):
    t = torch.from_numpy(mask)
    np.testing.assert_allclose(ch2_l3n(t).double().numpy(), brute_force_l3n(mask, True), rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(ch3_l3n(t).double().numpy(), brute_force_l3n(mask, False), rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("shape", [(16, 16), (33, 40), (48, 17)])
def test_node_based_scores_match_definition_over_whole_tiles(shape):
    """Sizes past the 16 x 16 tiles of the compiled kernel: whole tiles take the fast write-back,
    the ragged rest the general one (the hypothesis sizes above stay inside one partial tile)."""
    mask = np.random.default_rng(sum(shape)).random(shape) < 0.15
    t = torch.from_numpy(mask)
    np.testing.assert_allclose(ch2_l3n(t).double().numpy(), brute_force_l3n(mask, True), rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(ch3_l3n(t).double().numpy(), brute_force_l3n(mask, False), rtol=1e-6, atol=1e-6)


def test_ch3_l3_by_hand():
    # outputs {0,1}, inputs {0,1}; links 0-0, 1-0, 1-1: the absent link (0, 1) has one path
    # 0-in0-out1-in1; in0: degree 2, LC {in0, out1}, internal 1, seeds 1 → de 0;
    # out1: degree 2, internal 1, seeds 1 → de 0  ⇒ score 1
    mask = torch.tensor([[True, False], [True, True]])
    assert ch3_l3(mask).tolist() == [[0.0, 1.0], [0.0, 0.0]]


def test_scores_are_zero_on_existing_links_and_validate_input():
    mask = torch.rand(12, 15) < 0.3
    for fn in (ch3_l3, ch2_l3n, ch3_l3n):
        s = fn(mask)
        assert s.shape == mask.shape and bool((s[mask] == 0).all()) and bool((s >= 0).all())
    with pytest.raises(ValueError, match="2-D"):
        ch3_l3(torch.ones(3, dtype=torch.bool))


def test_link_removal_score_formula():
    rows = torch.tensor([0, 0, 1])
    cols = torch.tensor([0, 1, 1])
    w = torch.tensor([1.0, -2.0, 3.0])
    s = link_removal_score(w, rows, cols, (2, 2))
    # in-sums of outputs: [3, 3]; out-sums of inputs: [1, 5]
    expected = torch.tensor([1 / 4 + 1 / 2, 2 / 4 + 2 / 6, 3 / 4 + 3 / 6])
    torch.testing.assert_close(s, expected)


def test_torch_fallback_matches_definition(monkeypatch):
    from sparsesnn import native

    monkeypatch.setattr(native, "usable", lambda *t: False)
    monkeypatch.setattr(native, "mask_csr", lambda m: None)
    rng = np.random.default_rng(5)
    for _ in range(5):
        mask = rng.random((7, 9)) < 0.35
        t = torch.from_numpy(mask)
        np.testing.assert_allclose(ch3_l3(t).numpy(), brute_force_ch3_l3(mask), atol=1e-9)
        np.testing.assert_allclose(ch2_l3n(t).double().numpy(), brute_force_l3n(mask, True), rtol=1e-6)


def test_node_based_scores_with_degrees_past_a_byte(monkeypatch):
    """Degrees of 256 or more: the kernel counts common neighbours in int32 instead of bytes (a
    byte would wrap at 256). Reference: the torch path, which forms M Mᵀ and Mᵀ M densely."""
    from sparsesnn import native

    mask = torch.rand(300, 40, generator=torch.Generator().manual_seed(3)) < 0.97  # inputs' degree ~290
    assert int(mask.sum(0).max()) >= 256 and native.mask_csr(mask) is not None
    got = [ch2_l3n(mask), ch3_l3n(mask)]
    monkeypatch.setattr(native, "mask_csr", lambda m: None)
    for g, want in zip(got, [ch2_l3n(mask), ch3_l3n(mask)]):
        torch.testing.assert_close(g, want, rtol=1e-5, atol=1e-5)
