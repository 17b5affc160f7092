"""DVS128 Gesture and CIFAR10-DVS from their original files (no tonic needed).

DVS128 Gesture (Amir et al. 2017): ``userXX_<lighting>.aedat`` (AEDAT 3.1) with
``userXX_<lighting>_labels.csv`` (class, startTime_usec, endTime_usec; classes 1–11) and the
``trials_to_train.txt`` / ``trials_to_test.txt`` lists. Each labelled segment is one sample.
CIFAR10-DVS (Li et al. 2017): one folder per class holding AEDAT 2.0 recordings; this loader
takes a stratified split (``test_fraction``, fixed seed), as the data set defines none; its
per-class zips are downloaded from the publisher (MD5-verified) with ``download=True``.
``DvsGesture.tar.gz`` found in the folder is verified and unpacked (IBM offers no direct link).
Samples are binned into ``T`` frames ``[T, 2, 128, 128]`` (optionally pooled by ``downsample``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from ..errors import DatasetError, DatasetNotFoundError
from .aedat import parse_aedat2, parse_aedat31
from .archives import CIFAR10_DVS, DVS_GESTURE, ensure
from .cache import cached, file_key
from .events import pool_frames, to_frames
from .split import Split

SENSOR = (128, 128)
CIFAR10_DVS_CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")


def _frames(events: np.ndarray, T: int, downsample: int) -> np.ndarray:
    return pool_frames(np.minimum(to_frames(events, SENSOR, T), 1), downsample).astype(np.uint8)


def _gesture_split(root: Path, listing: str, T: int, downsample: int) -> Split:
    lst = root / listing
    if not lst.exists():
        raise DatasetNotFoundError(f"{lst} not found (the DVS128 Gesture trial list)")
    xs, ys = [], []
    for name in (l.strip() for l in lst.read_text().splitlines()):
        if not name:
            continue
        rec, labels = root / name, root / name.replace(".aedat", "_labels.csv")
        if not rec.exists() or not labels.exists():
            raise DatasetNotFoundError(f"{listing} lists {name} but {rec.name} or its _labels.csv is missing")
        events = parse_aedat31(rec.read_bytes(), str(rec), SENSOR)
        for line in labels.read_text().splitlines()[1:]:
            parts = line.strip().split(",")
            if len(parts) != 3 or not all(p.strip().isdigit() for p in parts):
                raise DatasetError(f"{labels}: malformed line {line!r} (expected class,startTime_usec,endTime_usec)")
            cls, start, end = (int(p) for p in parts)
            if not 1 <= cls <= 11:
                raise DatasetError(f"{labels}: class {cls} outside 1..11")
            seg = events[(events["t"] >= start) & (events["t"] < end)]
            xs.append(_frames(seg, T, downsample))
            ys.append(cls - 1)
    if not xs:
        raise DatasetError(f"{lst}: no labelled segments")
    return Split(torch.from_numpy(np.stack(xs)), torch.tensor(ys), events=True)


def load_dvs_gesture(
    data_dir: str | Path, T: int = 16, downsample: int = 4, cache_dir: str | Path | None = None, download: bool = False
) -> tuple[Split, Split]:
    root = Path(data_dir)
    if not (root / "trials_to_train.txt").exists():  # the published archive unpacks to DvsGesture/
        ensure(root, DVS_GESTURE, download, "DVS128 Gesture")
        if (root / DVS_GESTURE[0].provides).is_dir():
            root = root / DVS_GESTURE[0].provides
    key = ("dvs_gesture", T, downsample, file_key(root.glob("*.aedat")) + file_key(root.glob("*.csv")) + file_key(root.glob("trials_to_*.txt")))
    return cached(key, lambda: (_gesture_split(root, "trials_to_train.txt", T, downsample),
                                _gesture_split(root, "trials_to_test.txt", T, downsample)), cache_dir)


def load_cifar10_dvs(
    data_dir: str | Path, T: int = 10, downsample: int = 4, test_fraction: float = 0.1, seed: int = 0,
    cache_dir: str | Path | None = None, download: bool = False,
) -> tuple[Split, Split]:
    root = Path(data_dir)
    ensure(root, CIFAR10_DVS, download, "CIFAR10-DVS")
    key = ("cifar10_dvs", T, downsample, test_fraction, seed, file_key(root.glob("*/*.aedat")))
    return cached(key, lambda: _cifar10_dvs(root, T, downsample, test_fraction, seed), cache_dir)


def _cifar10_dvs(root: Path, T: int, downsample: int, test_fraction: float, seed: int) -> tuple[Split, Split]:
    xs, ys = [], []
    for label, cls in enumerate(CIFAR10_DVS_CLASSES):
        folder = root / cls
        if not folder.is_dir():
            raise DatasetNotFoundError(f"CIFAR10-DVS class folder {folder} not found")
        for f in sorted(folder.glob("*.aedat")):
            xs.append(_frames(parse_aedat2(f.read_bytes(), str(f), SENSOR), T, downsample))
            ys.append(label)
    x, y = torch.from_numpy(np.stack(xs)), torch.tensor(ys)
    rng = np.random.default_rng(seed)
    test = np.concatenate([rng.permutation(np.flatnonzero(y.numpy() == c))[: max(1, round(test_fraction * int((y == c).sum())))]
                           for c in range(len(CIFAR10_DVS_CLASSES)) if int((y == c).sum())])
    mask = np.zeros(len(y), dtype=bool)
    mask[test] = True
    return Split(x[~mask], y[~mask], True), Split(x[mask], y[mask], True)
