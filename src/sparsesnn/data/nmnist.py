"""N-MNIST from a folder: the official ``Train/<digit>/*.bin`` / ``Test/<digit>/*.bin`` layout
(downloaded and MD5-verified with ``download=True``, or unpacked from ``Train.zip`` / ``Test.zip``
found there) or the small-subset layout (``<k>.bs2`` files listed with their class in
``train*.txt`` / ``test*.txt``). Frames are cached on disk per (files, binning) so later runs
skip parsing.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from ..errors import DatasetError, DatasetNotFoundError
from .archives import NMNIST, ensure
from .cache import cached, file_key
from .events import parse_nmnist, pool_frames, to_frames
from .split import Split

SENSOR = (34, 34)


def _listing(data_dir: Path, split: str) -> list[tuple[Path, int]]:
    official = data_dir / split.capitalize()
    if official.is_dir():
        items = [(f, int(d.name)) for d in sorted(official.iterdir()) if d.is_dir() and d.name.isdigit()
                 for f in sorted(d.glob("*.bin"))]
        if items:
            return items
    lists = sorted(data_dir.glob(f"{split}*.txt"))
    if not lists:
        raise DatasetNotFoundError(
            f"no N-MNIST {split} data in {data_dir}: expected {split.capitalize()}/<digit>/*.bin or a {split}*.txt list"
        )
    items = []
    for line in lists[0].read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        parts = line.split()
        if len(parts) != 2 or not all(p.isdigit() for p in parts):
            raise DatasetError(f"{lists[0]}: malformed line {line!r} (expected '<sample> <class>')")
        sample, label = int(parts[0]), int(parts[1])
        matches = [p for p in (data_dir / f"{sample}.bs2", data_dir / f"{sample}.bin") if p.exists()]
        if not matches:
            raise DatasetNotFoundError(f"{lists[0]} lists sample {sample} but {data_dir}/{sample}.bs2 is missing")
        items.append((matches[0], label))
    return items


def _frames(items: list[tuple[Path, int]], T: int, downsample: int) -> Split:
    x = np.zeros((len(items), T, 2, SENSOR[1] // downsample, SENSOR[0] // downsample), dtype=np.uint8)
    y = np.zeros(len(items), dtype=np.int64)
    for i, (path, label) in enumerate(items):
        x[i] = pool_frames(np.minimum(to_frames(parse_nmnist(path.read_bytes(), str(path), SENSOR), SENSOR, T), 1), downsample)
        y[i] = label
    return Split(torch.from_numpy(x), torch.from_numpy(y), events=True)


def load_nmnist(
    data_dir: str | Path, T: int = 8, cache_dir: str | Path | None = None, download: bool = False, downsample: int = 1
) -> tuple[Split, Split]:
    """(train, test) as binary spike frames ``[N, T, 2, 34/k, 34/k]`` (uint8) from T equal time
    bins, max-pooled over k×k pixels (``downsample`` k; 001 A.5 feeds S-TP 2×17×17 = 578 inputs)."""
    if SENSOR[0] % downsample:
        raise ValueError(f"downsample must divide the N-MNIST sensor size 34; got {downsample}")
    data_dir = Path(data_dir)
    if not any(data_dir.glob("train*.txt")):  # not the subset layout
        ensure(data_dir, NMNIST, download, "N-MNIST")
    if not data_dir.is_dir():
        raise DatasetNotFoundError(f"N-MNIST folder {data_dir} does not exist (pass --download to fetch it)")
    items = {s: _listing(data_dir, s) for s in ("train", "test")}
    key = ("nmnist", T, {s: [(str(p), label) for p, label in v] for s, v in items.items()},
           file_key(p for v in items.values() for p, _ in v)) + ((downsample,) if downsample > 1 else ())
    return cached(key, lambda: (_frames(items["train"], T, downsample), _frames(items["test"], T, downsample)), cache_dir)
