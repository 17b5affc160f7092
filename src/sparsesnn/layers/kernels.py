"""Sparse kernels behind :class:`SparseLinear`; none forms the dense weight matrix.

Products with a dense operand go through torch's CSR routines (MKL on CPU, cuSPARSE on GPU) with
32-bit indices — measured faster on CPU than the hand-written numba kernels tried first. Binary
spike inputs without gradient take an event-driven numba kernel whose cost is ∝ active inputs ×
their out-degree; without numba (or on GPU) the CSR product does the same computation, and a
one-time warning says so.
"""

from __future__ import annotations

import warnings

import torch

from .pattern import Pattern

# CSR support is stable enough for the ops used here; the beta notice would fire per call.
warnings.filterwarnings("ignore", message="Sparse CSR tensor support is in beta state")
warnings.filterwarnings("ignore", message="Sparse invariant checks are implicitly disabled")

try:
    from . import _numba_kernels as _nk

    _NUMBA_ERROR: str | None = None
except Exception as exc:  # pragma: no cover - depends on the installation
    _nk = None
    _NUMBA_ERROR = f"{type(exc).__name__}: {exc}"

_warned = False


def _fallback(reason: str) -> None:
    global _nk, _warned
    _nk = None
    if not _warned:
        warnings.warn(f"sparsesnn: compiled event-driven kernel unavailable ({reason}); using torch CSR kernels", RuntimeWarning, stacklevel=3)
        _warned = True


if _NUMBA_ERROR is not None:  # pragma: no cover
    _fallback(_NUMBA_ERROR)


def backend(t: torch.Tensor) -> str:
    """Which implementation the event-driven path uses for tensors like ``t``."""
    ok = _nk is not None and t.device.type == "cpu" and t.dtype in (torch.float32, torch.float64)
    return "numba" if ok else "torch"


def _csr(p: Pattern, values: torch.Tensor, transpose: bool = False) -> torch.Tensor:
    crow, col, t_crow, t_col = p.index
    if transpose:
        return torch.sparse_csr_tensor(t_crow, t_col, values[p.t_perm], size=(p.shape[1], p.shape[0]), check_invariants=False)
    return torch.sparse_csr_tensor(crow, col, values, size=p.shape, check_invariants=False)


def w_times(p: Pattern, values: torch.Tensor, XT: torch.Tensor) -> torch.Tensor:
    """``W @ XT`` for ``XT`` ``[n_in, N]`` (a transposed view is fine): ``[n_out, N]``."""
    return _csr(p, values) @ XT


def wt_times(p: Pattern, values: torch.Tensor, GT: torch.Tensor) -> torch.Tensor:
    """``Wᵀ @ GT`` for ``GT`` ``[n_out, N]``: ``[n_in, N]``."""
    return _csr(p, values, transpose=True) @ GT


def value_grad(p: Pattern, GT: torch.Tensor, X: torch.Tensor) -> torch.Tensor:
    """``(GT @ X)[rows, cols]`` — the gradient of every present link, ``[nnz]`` (SDDMM)."""
    if p.nnz == 0:
        return GT.new_zeros(0)
    pattern = _csr(p, torch.zeros(p.nnz, dtype=GT.dtype, device=GT.device))
    return torch.sparse.sampled_addmm(pattern, GT, X, beta=0.0, alpha=1.0).values()


def event_forward(p: Pattern, values: torch.Tensor, X: torch.Tensor) -> torch.Tensor:
    """``X @ Wᵀ`` for binary ``X`` ``[N, n_in]``; cost ∝ active inputs × out-degree."""
    if backend(X) == "numba":
        try:
            _, _, t_crow, t_col = p.index
            vt = values[p.t_perm].to(X.dtype)
            return torch.from_numpy(_nk.event_driven(t_crow.numpy(), t_col.numpy(), vt.numpy(), X.detach().contiguous().numpy(), p.shape[0]))
        except Exception as exc:  # pragma: no cover - numba/LLVM problems on exotic machines
            _fallback(f"{type(exc).__name__}: {exc}")
    return w_times(p, values, X.t()).t()
