"""Compiled CPU kernels (C++/OpenMP, ``kernels.cpp``) behind the sparse layers and link prediction.

Built with the system compiler on first use (see :mod:`.build`) and called through ctypes on
torch tensors' memory. Set ``SPARSESNN_NATIVE=0`` to switch them off. When they cannot be built
or loaded, :func:`available` is False, callers take their pure-torch path, and one warning says
why. Only float32 CPU tensors with int32 indices (and bool masks for :func:`nonzero` and
:func:`mask_csr`) go through these kernels. :func:`empty` allocates their large outputs on
transparent huge pages.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import sys
import warnings

import torch

_P, _I, _L, _D = ctypes.c_void_p, ctypes.c_int, ctypes.c_int64, ctypes.c_double
_SIGNATURES = {
    "spmm": [_P, _P, _P, _I, _I, _P, _L, _L, _P, _L, _I],
    "sddmm": [_P, _P, _I, _I, _P, _L, _P, _L, _L, _P, _I],
    "event_xwt": [_P, _P, _P, _P, _P, _P, _I, _I, _P, _L, _L, _P, _L, _D, _P, _I],
    "l3n_term": [_P, _P, _P, _P, _P, _I, _I, _P, _P, _I, _P, _L, _I, _I, _I],
    "zero_links": [_P, _P, _I, _P, _L, _I],
    "ch3_l3": [_P, _P, _P, _P, _I, _I, _P, _I],
    "mask_row_counts": [_P, _L, _L, _P, _I],
    "mask_links": [_P, _L, _L, _P, _P, _P, _I],
    "mask_csr": [_P, _L, _L, _P, _P, _P, _P, _I],
}

_HUGE = 2 << 20  # transparent huge page size on x86-64 / most arm64 kernels
_MADV_HUGEPAGE = 14

_lib: ctypes.CDLL | None = None
_error: str | None = None
_loaded = False


def _load() -> ctypes.CDLL | None:
    global _lib, _error, _loaded
    if _loaded:
        return _lib
    _loaded = True
    if os.environ.get("SPARSESNN_NATIVE", "1") == "0":
        _error = "disabled by SPARSESNN_NATIVE=0"
        return None
    try:
        from .build import build

        lib = ctypes.CDLL(str(build()))
        for name, args in _SIGNATURES.items():
            getattr(lib, name).argtypes = args
            getattr(lib, name).restype = None
        _lib = lib
    except Exception as exc:  # no compiler, failed build, unloadable library
        _error = f"{type(exc).__name__}: {exc}"
        warnings.warn(f"sparsesnn: compiled kernels unavailable ({_error}); using torch sparse kernels", RuntimeWarning, stacklevel=3)
    return _lib


def available() -> bool:
    return _load() is not None


def reason() -> str | None:
    """Why the compiled kernels are unavailable (None when they are in use)."""
    _load()
    return _error


def usable(*tensors: torch.Tensor) -> bool:
    """True when the kernels can run on these tensors: CPU, float32/int32, and the library built."""
    ok = all(t.device.type == "cpu" and t.dtype in (torch.float32, torch.int32) for t in tensors)
    return ok and available()


def call(name: str, *args) -> None:
    """Call kernel ``name``; tensors are passed by data pointer (they must stay alive and be
    contiguous), ints and floats as they are. The number of threads is torch's."""
    conv = [ctypes.c_void_p(a.data_ptr()) if isinstance(a, torch.Tensor) else (None if a is None else a if isinstance(a, float) else int(a)) for a in args]
    getattr(_load(), name)(*conv, torch.get_num_threads())


def _madvise():
    if not sys.platform.startswith("linux"):
        return None
    try:
        fn = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True).madvise
    except (OSError, AttributeError):
        return None
    fn.argtypes, fn.restype = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int], ctypes.c_int
    return fn


_MADVISE = _madvise()


def empty(*shape: int, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """``torch.empty`` on the CPU, with large buffers advised onto transparent huge pages.

    Outputs of tens of MB come from a fresh ``mmap`` on every call, and touching them costs one
    page fault per 4 KiB (a 64 MB score matrix: ~33 ms of faults vs ~5 ms with 2 MiB pages on
    this workplace's VM). The advice covers the 2 MiB-aligned interior, must precede the first
    write, and is only a hint: where THP is off it changes nothing.
    """
    t = torch.empty(*shape, dtype=dtype)
    if _MADVISE is not None:
        start = -(-t.data_ptr() // _HUGE) * _HUGE
        stop = (t.data_ptr() + t.numel() * t.element_size()) // _HUGE * _HUGE
        if stop > start:
            _MADVISE(start, stop - start, _MADV_HUGEPAGE)
    return t


def _row_pointers(m: torch.Tensor) -> torch.Tensor:
    """CSR row pointers (int64) of a contiguous 2-D bool mask."""
    n_rows, n_cols = m.shape
    counts = torch.empty(n_rows, dtype=torch.int64)
    call("mask_row_counts", m, n_rows, n_cols, counts)
    crow = torch.zeros(n_rows + 1, dtype=torch.int64)
    torch.cumsum(counts, 0, out=crow[1:])
    return crow


def _native_mask(mask: torch.Tensor) -> bool:
    return mask.device.type == "cpu" and mask.dtype == torch.bool and mask.dim() == 2 and available()


def nonzero(mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``mask.nonzero(as_tuple=True)`` of a 2-D bool mask (row-major order), parallel over rows
    on the CPU (torch's scans the whole mask on one thread: 17 ms for 4096² vs ~5 ms here)."""
    if not _native_mask(mask):
        return mask.nonzero(as_tuple=True)
    m = mask.contiguous()
    crow = _row_pointers(m)
    nnz = int(crow[-1])
    rows, cols = torch.empty(nnz, dtype=torch.int64), torch.empty(nnz, dtype=torch.int64)
    call("mask_links", m, *m.shape, crow, rows, cols)
    return rows, cols


def mask_csr(mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor] | None:
    """int32 ``(crow, col, t_crow, t_row)`` of a 2-D bool CPU mask: its CSR and its transpose's,
    straight from the mask (one parallel scan and a counting sort, no argsort of the links).
    None where the kernels cannot take it (other device or dtype, or 2**31 links or more)."""
    if not _native_mask(mask) or max(mask.shape) >= 2**31:
        return None
    m = mask.contiguous()
    crow = _row_pointers(m)
    nnz = int(crow[-1])
    if nnz >= 2**31:
        return None
    col, t_row = torch.empty(nnz, dtype=torch.int32), torch.empty(nnz, dtype=torch.int32)
    t_crow = torch.empty(m.shape[1] + 1, dtype=torch.int32)
    call("mask_csr", m, *m.shape, crow, col, t_crow, t_row)
    return crow.to(torch.int32), col, t_crow, t_row
