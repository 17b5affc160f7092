"""Sparse products behind :class:`SparseLinear`; none forms the dense weight matrix.

On CPU with float32 they run the compiled tile kernels of :mod:`sparsesnn.native` (cost ∝ nnz ×
rows, vectorised over tiles of samples); elsewhere — GPU, float64, or when the kernels cannot be
built — torch's CSR routines (cuSPARSE / MKL) do the same computation. Binary spike inputs without
gradient take the event-driven kernel: each active input adds its out-links (cost ∝ active inputs
× their out-degree), or, where spikes are dense enough that this costs more, W's links run over
the spikes packed into bit words.
"""

from __future__ import annotations

import warnings

import torch

from .. import native
from .pattern import Pattern

# CSR support is stable enough for the ops used here; the beta notice would fire per call.
warnings.filterwarnings("ignore", message="Sparse CSR tensor support is in beta state")
warnings.filterwarnings("ignore", message="Sparse invariant checks are implicitly disabled")


def backend(p: Pattern, *tensors: torch.Tensor) -> str:
    """Which implementation runs for this pattern and these operands: "native" or "torch"."""
    return "native" if native.usable(p.index[0], *tensors) else "torch"


def transposed_values(p: Pattern, values: torch.Tensor) -> torch.Tensor:
    """The link values in the CSR order of Wᵀ (``index_select``: ~3× faster than ``values[perm]``)."""
    return torch.index_select(values, 0, p.t_perm)


def _csr(p: Pattern, values: torch.Tensor, transpose: bool = False) -> torch.Tensor:
    crow, col, t_crow, t_col = p.index
    if transpose:
        return torch.sparse_csr_tensor(t_crow, t_col, transposed_values(p, values), size=(p.shape[1], p.shape[0]), check_invariants=False)
    return torch.sparse_csr_tensor(crow, col, values, size=p.shape, check_invariants=False)


def _native_x_wt(crow, col, values, n_rows: int, n_cols: int, X: torch.Tensor) -> torch.Tensor:
    X = X.contiguous()
    Y = native.empty(X.shape[0], n_rows)
    native.call("spmm", crow, col, values.contiguous(), n_rows, n_cols, X, n_cols, X.shape[0], Y, n_rows)
    return Y


def x_wt(p: Pattern, values: torch.Tensor, X: torch.Tensor) -> torch.Tensor:
    """``X @ Wᵀ`` for ``X`` ``[N, n_in]``: ``[N, n_out]``."""
    if backend(p, values, X) == "native":
        return _native_x_wt(p.index[0], p.index[1], values, p.shape[0], p.shape[1], X)
    return (_csr(p, values) @ X.t()).t()


def g_w(p: Pattern, values: torch.Tensor, G: torch.Tensor) -> torch.Tensor:
    """``G @ W`` for ``G`` ``[N, n_out]``: ``[N, n_in]`` (the input gradient) — ``G @ (Wᵀ)ᵀ``."""
    if backend(p, values, G) == "native":
        return _native_x_wt(p.index[2], p.index[3], transposed_values(p, values), p.shape[1], p.shape[0], G)
    return (_csr(p, values, transpose=True) @ G.t()).t()


def value_grad(p: Pattern, G: torch.Tensor, X: torch.Tensor) -> torch.Tensor:
    """``(Gᵀ @ X)[rows, cols]`` — the gradient of every present link, ``[nnz]`` (SDDMM)."""
    if p.nnz == 0:
        return G.new_zeros(0)
    if backend(p, G, X) == "native":
        G, X = G.contiguous(), X.contiguous()
        gv = G.new_empty(p.nnz)
        crow, col, _, _ = p.index
        native.call("sddmm", crow, col, p.shape[0], p.shape[1], G, p.shape[0], X, p.shape[1], G.shape[0], gv)
        return gv
    pattern = _csr(p, torch.zeros(p.nnz, dtype=G.dtype, device=G.device))
    return torch.sparse.sampled_addmm(pattern, G.t(), X, beta=0.0, alpha=1.0).values()


# Event path: samples per tile of the compiled kernel (EB in kernels.cpp). A tile scatters its
# spikes when that takes fewer updates than SCATTER_PER_LINK per link of W: the measured cost of
# one link over one tile of the spike-tile product, in scatter updates (``event_methods_99`` in
# benchmarks/perf.py).
EVENT_TILE = 32
SCATTER_PER_LINK = 1.4


def event_forward(
    p: Pattern, values: torch.Tensor, X: torch.Tensor, check: bool = False, scatter_per_link: float = SCATTER_PER_LINK
) -> torch.Tensor | None:
    """``X @ Wᵀ`` for binary ``X`` ``[N, n_in]``; cost ∝ min(active inputs × out-degree,
    nnz × N / EVENT_TILE).

    The compiled kernel takes, per tile of ``EVENT_TILE`` samples, the cheaper of scattering each
    spike's out-links and a product over W's links on the tile's spikes packed into bit words (see
    ``event_xwt`` in ``kernels.cpp``). ``check``: ``X`` may not be binary; then None is returned
    when it is not (on the compiled path the test rides along the packing, elsewhere it is a
    separate pass). ``scatter_per_link``: 0 always takes the tiles, ``inf`` always scatters."""
    if backend(p, values, X) == "native":
        X = X.contiguous()
        Y = native.empty(X.shape[0], p.shape[0])
        flag = torch.zeros(1, dtype=torch.int32) if check else None
        crow, col, t_crow, t_col = p.index
        native.call("event_xwt", crow, col, values.contiguous(), t_crow, t_col, p.t_perm,
                    p.shape[1], p.shape[0], X, p.shape[1], X.shape[0], Y, p.shape[0], float(scatter_per_link), flag)
        return None if check and bool(flag) else Y
    if check and not bool(((X == 0) | (X == 1)).all()):
        return None
    return x_wt(p, values, X)


def csr_times_dense(p: Pattern, D: torch.Tensor, transpose: bool = False) -> torch.Tensor:
    """``M @ D`` (or ``Mᵀ @ D``) for the 0/1 pattern M and a dense ``D``, by torch CSR (any device)."""
    ones = torch.ones(p.nnz, dtype=D.dtype, device=D.device)
    return _csr(p, ones, transpose) @ D
