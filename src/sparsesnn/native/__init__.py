"""Compiled CPU kernels (C++/OpenMP, ``kernels.cpp``) behind the sparse layers and link prediction.

Built with the system compiler on first use (see :mod:`.build`) and called through ctypes on
torch tensors' memory. Set ``SPARSESNN_NATIVE=0`` to switch them off. When they cannot be built
or loaded, :func:`available` is False, callers take their pure-torch path, and one warning says
why. Only float32 CPU tensors with int32 indices go through these kernels.
"""

from __future__ import annotations

import ctypes
import os
import warnings

import torch

_P, _I, _L = ctypes.c_void_p, ctypes.c_int, ctypes.c_int64
_SIGNATURES = {
    "spmm": [_P, _P, _P, _I, _I, _P, _L, _I, _L, _P, _L, _I, _I, _I],
    "sddmm": [_P, _P, _I, _I, _P, _L, _P, _L, _L, _P, _I],
    "event_xwt": [_P, _P, _P, _I, _I, _P, _L, _L, _P, _L, _I],
    "l3n_term": [_P, _P, _P, _P, _P, _I, _I, _P, _P, _I, _P, _L, _I, _I, _I],
    "ch3_l3": [_P, _P, _P, _P, _P, _P, _I, _I, _P, _I],
}

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
    contiguous), ints as they are. The number of threads is torch's."""
    conv = [ctypes.c_void_p(a.data_ptr()) if isinstance(a, torch.Tensor) else (None if a is None else int(a)) for a in args]
    getattr(_load(), name)(*conv, torch.get_num_threads())
