"""Sparse kernels behind :class:`SparseLinear`: y = x·Wᵀ, its input gradient and its value gradient.

All take the weight as ``(pattern, values)`` and never form the dense matrix.
"""

from __future__ import annotations

import warnings

import torch

from .pattern import Pattern

# CSR support is stable enough for the three ops used here; the beta notice would fire per call.
warnings.filterwarnings("ignore", message="Sparse CSR tensor support is in beta state")


def _csr(crow: torch.Tensor, col: torch.Tensor, values: torch.Tensor, shape) -> torch.Tensor:
    return torch.sparse_csr_tensor(crow, col, values, size=shape, check_invariants=False)


def spmm(p: Pattern, values: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """``x @ Wᵀ`` for ``x`` of shape ``[N, n_in]``; returns ``[N, n_out]``."""
    w = _csr(p.crow, p.cols, values, p.shape)
    return (w @ x.t()).t()


def spmm_t(p: Pattern, values: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
    """``g @ W`` for ``g`` of shape ``[N, n_out]``; returns ``[N, n_in]``."""
    wt = _csr(p.t_crow, p.t_col, values[p.t_perm], (p.shape[1], p.shape[0]))
    return (wt @ g.t()).t()


def sddmm(p: Pattern, g: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Value gradient ``(gᵀ x)[rows, cols]`` (sampled dense-dense product), shape ``[nnz]``."""
    if p.nnz == 0:
        return g.new_zeros(0)
    pattern = _csr(p.crow, p.cols, torch.zeros(p.nnz, dtype=g.dtype, device=g.device), p.shape)
    out = torch.sparse.sampled_addmm(pattern, g.t().contiguous(), x.contiguous(), beta=0.0, alpha=1.0)
    return out.values()
