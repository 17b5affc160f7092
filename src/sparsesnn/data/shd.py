"""Spiking Heidelberg Digits (Cramer et al. 2020) from its HDF5 files: ``spikes/times``
(seconds, one variable-length array per sample), ``spikes/units`` (channel 0–699) and
``labels``. Spikes are binned into frames of ``bin_ms`` (default 100 bins × 14 ms, as in 004).
``shd_{train,test}.h5.zip`` are downloaded from the publisher (MD5-verified) with ``download=True``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from ..errors import DatasetError, DatasetNotFoundError
from .archives import SHD, ensure
from .split import Split

CHANNELS = 700


def read_shd(path: str | Path, T: int = 100, bin_ms: float = 14.0) -> Split:
    """Binary frames ``[N, T, 700]`` (uint8) and labels of one SHD HDF5 file."""
    try:
        import h5py
    except ImportError as exc:  # pragma: no cover - h5py ships with the nir extra
        raise DatasetError("reading SHD needs h5py (pip install h5py)") from exc
    path = Path(path)
    if not path.exists():
        raise DatasetNotFoundError(f"SHD file {path} not found (put it there, or its .zip, or pass --download)")
    try:
        with h5py.File(path, "r") as f:
            times, units, labels = f["spikes"]["times"][()], f["spikes"]["units"][()], np.asarray(f["labels"][()])
    except (OSError, KeyError, TypeError, ValueError) as exc:
        raise DatasetError(f"{path}: not an SHD file with spikes/times, spikes/units and labels ({exc})") from None
    if not (len(times) == len(units) == len(labels)):
        raise DatasetError(f"{path}: {len(times)} time arrays, {len(units)} unit arrays, {len(labels)} labels")
    x = np.zeros((len(labels), T, CHANNELS), dtype=np.uint8)
    for i, (t, u) in enumerate(zip(times, units)):
        t, u = np.asarray(t, dtype=np.float64), np.asarray(u, dtype=np.int64)
        if t.shape != u.shape:
            raise DatasetError(f"{path}: sample {i} has {t.size} times but {u.size} units")
        if u.size and (u.min() < 0 or u.max() >= CHANNELS):
            raise DatasetError(f"{path}: sample {i} has a unit outside 0..{CHANNELS - 1}")
        b = np.floor(t * 1000.0 / bin_ms).astype(np.int64)
        keep = (b >= 0) & (b < T)
        x[i, b[keep], u[keep]] = 1
    return Split(torch.from_numpy(x), torch.from_numpy(labels.astype(np.int64)), events=True)


def load_shd(data_dir: str | Path, T: int = 100, bin_ms: float = 14.0, download: bool = False) -> tuple[Split, Split]:
    data_dir = Path(data_dir)
    ensure(data_dir, SHD, download, "SHD")
    return read_shd(data_dir / "shd_train.h5", T, bin_ms), read_shd(data_dir / "shd_test.h5", T, bin_ms)
