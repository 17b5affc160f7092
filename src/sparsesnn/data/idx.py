"""Reader of the IDX format (MNIST, Fashion-MNIST) with strict validation."""

from __future__ import annotations

import gzip
import math
import struct
import zlib
from pathlib import Path

import numpy as np

from ..errors import DatasetError

_DTYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def read_idx(path: str | Path) -> np.ndarray:
    """Array stored in an IDX file (optionally gzipped); clear errors for malformed files."""
    path = Path(path)
    return parse_idx(path.read_bytes(), str(path), gzipped=path.suffix == ".gz")


def parse_idx(data: bytes, path: str = "<bytes>", gzipped: bool = False) -> np.ndarray:
    """Parse IDX bytes; raises :class:`DatasetError` naming ``path`` for anything malformed."""
    try:
        raw = gzip.decompress(data) if gzipped else data
    except (EOFError, OSError, zlib.error) as exc:
        raise DatasetError(f"{path}: cannot decompress ({exc}); the file is truncated or corrupt") from exc
    if len(raw) < 4:
        raise DatasetError(f"{path}: {len(raw)} bytes is too short for an IDX header")
    zero, code, ndim = struct.unpack(">HBB", raw[:4])
    if zero != 0 or code not in _DTYPES or ndim == 0:
        raise DatasetError(f"{path}: bad IDX magic number {raw[:4].hex()}")
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise DatasetError(f"{path}: truncated IDX header")
    dims = struct.unpack(">" + "I" * ndim, raw[4:header])
    dtype = np.dtype(_DTYPES[code])
    expected = math.prod(dims) * dtype.itemsize  # Python ints: no overflow on absurd headers
    if len(raw) - header != expected:
        raise DatasetError(
            f"{path}: IDX header promises {expected} data bytes for shape {dims}, file has {len(raw) - header}"
        )
    return np.frombuffer(raw, dtype=dtype, offset=header).reshape(dims)
