"""Sparse kernels behind :class:`SparseLinear`, in feature-major layout.

``XT`` is ``[n_in, N]``, ``GT`` ``[n_out, N]``: the inner loops then run over N contiguous
entries. On CPU the compiled numba kernels run (cost ∝ links × rows, or ∝ active inputs ×
out-degree for the event-driven path); elsewhere, or if numba is missing or fails to compile,
torch's CSR kernels do the same computation, and a one-time warning says so.
"""

from __future__ import annotations

import warnings

import torch

from .pattern import Pattern

# CSR support is stable enough for the ops used here; the beta notice would fire per call.
warnings.filterwarnings("ignore", message="Sparse CSR tensor support is in beta state")

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
        warnings.warn(f"sparsesnn: compiled sparse kernels unavailable ({reason}); using torch CSR kernels", RuntimeWarning, stacklevel=3)
        _warned = True


if _NUMBA_ERROR is not None:  # pragma: no cover
    _fallback(_NUMBA_ERROR)


def backend(t: torch.Tensor) -> str:
    """Which implementation runs for tensors like ``t``: ``"numba"`` or ``"torch"``."""
    ok = _nk is not None and t.device.type == "cpu" and t.dtype in (torch.float32, torch.float64)
    return "numba" if ok else "torch"


def _np(t: torch.Tensor):
    return t.detach().numpy()


def _csr(crow: torch.Tensor, col: torch.Tensor, values: torch.Tensor, shape) -> torch.Tensor:
    return torch.sparse_csr_tensor(crow, col, values, size=shape, check_invariants=False)


def _run(fast, slow):
    """Run the compiled kernel; on a compile/runtime failure switch to torch for good."""
    if _nk is not None:
        try:
            return fast()
        except Exception as exc:  # pragma: no cover - numba/LLVM problems on exotic machines
            _fallback(f"{type(exc).__name__}: {exc}")
    return slow()


def w_times(p: Pattern, values: torch.Tensor, XT: torch.Tensor) -> torch.Tensor:
    """``W @ XT``: ``[n_out, N]``."""
    if backend(XT) == "numba" and XT.dtype == values.dtype:
        return _run(
            lambda: torch.from_numpy(_nk.csr_times_dense(_np(p.crow), _np(p.cols), _np(values), _np(XT), p.shape[0])),
            lambda: _csr(p.crow, p.cols, values, p.shape) @ XT,
        )
    return _csr(p.crow, p.cols, values, p.shape) @ XT


def wt_times(p: Pattern, values: torch.Tensor, GT: torch.Tensor) -> torch.Tensor:
    """``Wᵀ @ GT``: ``[n_in, N]``."""
    vt = values[p.t_perm]
    shape_t = (p.shape[1], p.shape[0])
    if backend(GT) == "numba" and GT.dtype == values.dtype:
        return _run(
            lambda: torch.from_numpy(_nk.csr_times_dense(_np(p.t_crow), _np(p.t_col), _np(vt), _np(GT), p.shape[1])),
            lambda: _csr(p.t_crow, p.t_col, vt, shape_t) @ GT,
        )
    return _csr(p.t_crow, p.t_col, vt, shape_t) @ GT


def value_grad(p: Pattern, GT: torch.Tensor, XT: torch.Tensor) -> torch.Tensor:
    """``(GT @ XTᵀ)[rows, cols]``: the gradient of every present link, ``[nnz]``."""
    if p.nnz == 0:
        return GT.new_zeros(0)

    def slow():
        pattern = _csr(p.crow, p.cols, torch.zeros(p.nnz, dtype=GT.dtype, device=GT.device), p.shape)
        return torch.sparse.sampled_addmm(pattern, GT, XT.t(), beta=0.0, alpha=1.0).values()

    if backend(GT) == "numba" and GT.dtype == XT.dtype:
        return _run(lambda: torch.from_numpy(_nk.sampled_dot(_np(p.rows), _np(p.cols), _np(GT), _np(XT))), slow)
    return slow()


def event_forward(p: Pattern, values: torch.Tensor, X: torch.Tensor) -> torch.Tensor:
    """``X @ Wᵀ`` for binary ``X`` ``[N, n_in]``; cost ∝ active inputs × out-degree."""
    vt = values[p.t_perm]
    if backend(X) == "numba":
        Xc = X.contiguous()
        return _run(
            lambda: torch.from_numpy(_nk.event_driven(_np(p.t_crow), _np(p.t_col), _np(vt), _np(Xc), p.shape[0])),
            lambda: w_times(p, values, X.t().contiguous()).t(),
        )
    return w_times(p, values, X.t().contiguous()).t()
