import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from sparsesnn.topology import sample_top_k


@settings(max_examples=100, deadline=None)
@given(st.integers(1, 200), st.data(), st.sampled_from([0.0, 0.3, 0.5, 0.9, 1.0]), st.floats(0, 0.9))
def test_exactly_k_distinct(n, data, delta, zero_frac):
    k = data.draw(st.integers(0, n))
    g = torch.Generator().manual_seed(data.draw(st.integers(0, 1000)))
    scores = torch.rand(n, generator=g)
    scores[torch.rand(n, generator=g) < zero_frac] = 0
    idx = sample_top_k(scores, k, delta, g)
    assert idx.numel() == k and idx.unique().numel() == k
    n_pos = int((scores > 0).sum())
    if delta > 0:  # positive scores are always preferred over zero ones
        assert int((scores[idx] > 0).sum()) == min(k, n_pos)


def test_delta_one_is_top_k():
    s = torch.tensor([0.1, 0.9, 0.5, 0.0, 0.7])
    assert sorted(sample_top_k(s, 3, 1.0).tolist()) == [1, 2, 4]


def test_delta_half_draws_proportionally_to_score():
    s = torch.tensor([1.0, 2.0, 3.0, 4.0])
    g = torch.Generator().manual_seed(0)
    draws = [int(sample_top_k(s, 1, 0.5, g)) for _ in range(8000)]
    observed = np.bincount(draws, minlength=4)
    p = stats.chisquare(observed, s.numpy() / s.sum().item() * len(draws)).pvalue
    assert p > 1e-3


def test_delta_zero_is_uniform():
    s = torch.tensor([1e-6, 1.0, 100.0])
    g = torch.Generator().manual_seed(0)
    draws = [int(sample_top_k(s, 1, 0.0, g)) for _ in range(6000)]
    assert stats.chisquare(np.bincount(draws, minlength=3)).pvalue > 1e-3


def test_bad_arguments():
    with pytest.raises(ValueError, match="delta"):
        sample_top_k(torch.ones(3), 1, 1.5)
    with pytest.raises(ValueError, match="cannot sample"):
        sample_top_k(torch.ones(3), 4, 0.5)
    with pytest.raises(ValueError, match="non-negative"):
        sample_top_k(torch.tensor([1.0, float("nan")]), 1, 0.5)
