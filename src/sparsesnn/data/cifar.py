"""CIFAR-10 / CIFAR-100 from the official "python version" batches (a local folder, or the
checksum-verified archive). Pickles are read with a restricted unpickler that admits only the
numpy array reconstruction they need — an untrusted pickle cannot run code.
"""

from __future__ import annotations

import io
import pickle
import tarfile
from pathlib import Path

import numpy as np
import torch

from ..errors import DatasetError, DatasetNotFoundError
from .download import download
from .split import Split

CIFAR = {
    "cifar10": {"folder": "cifar-10-batches-py", "archive": "cifar-10-python.tar.gz",
                "md5": "c58f30108f718f92721af3b95e74349a", "train": [f"data_batch_{i}" for i in range(1, 6)],
                "test": ["test_batch"], "labels": b"labels", "classes": 10},
    "cifar100": {"folder": "cifar-100-python", "archive": "cifar-100-python.tar.gz",
                 "md5": "eb9058c3a382ffc7106e4002c42a8d85", "train": ["train"], "test": ["test"],
                 "labels": b"fine_labels", "classes": 100},
}
MIRROR = "https://www.cs.toronto.edu/~kriz/"
_ALLOWED = {("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
            ("numpy", "ndarray"), ("numpy", "dtype"), ("numpy.core.multiarray", "scalar"),
            ("numpy._core.multiarray", "scalar"), ("_codecs", "encode")}


class _Restricted(pickle.Unpickler):
    def find_class(self, module, name):
        if (module, name) in _ALLOWED:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"global {module}.{name} is not allowed in a CIFAR batch")


def parse_batch(data: bytes, source: str, label_key: bytes, classes: int) -> tuple[np.ndarray, np.ndarray]:
    """Images ``[n, 3, 32, 32]`` uint8 and labels of one pickled batch; :class:`DatasetError` otherwise."""
    try:
        batch = _Restricted(io.BytesIO(data), encoding="bytes").load()
    except Exception as exc:  # any unpickling failure is a malformed file
        raise DatasetError(f"{source}: not a readable CIFAR batch ({type(exc).__name__}: {exc})") from None
    if not isinstance(batch, dict) or b"data" not in batch or label_key not in batch:
        raise DatasetError(f"{source}: CIFAR batch lacks {b'data'!r} or {label_key!r}")
    x = np.asarray(batch[b"data"])
    y = np.asarray(batch[label_key])
    if x.dtype != np.uint8 or x.ndim != 2 or x.shape[1] != 3072 or y.shape != (x.shape[0],):
        raise DatasetError(f"{source}: data {x.shape} {x.dtype} / labels {y.shape} are not CIFAR-shaped")
    if y.size and (y.min() < 0 or y.max() >= classes):
        raise DatasetError(f"{source}: label outside 0..{classes - 1}")
    return x.reshape(-1, 3, 32, 32), y.astype(np.int64)


def load_cifar(name: str, data_dir: str | Path, download_missing: bool = False) -> tuple[Split, Split]:
    """(train, test) with images ``[N, 3·32·32]`` in [0, 1] (flattened like MNIST; conv nets reshape)."""
    spec = CIFAR[name]
    data_dir = Path(data_dir)
    folder = data_dir / spec["folder"]
    if not folder.is_dir():
        archive = data_dir / spec["archive"]
        if not archive.exists():
            if not download_missing:
                raise DatasetNotFoundError(f"{folder} not found; put the extracted python batches there or pass --download")
            download([MIRROR + spec["archive"]], archive, spec["md5"], algorithm="md5")
        with tarfile.open(archive) as tar:
            tar.extractall(data_dir, filter="data")
    splits = []
    for part in ("train", "test"):
        xs, ys = [], []
        for fname in spec[part]:
            path = folder / fname
            if not path.exists():
                raise DatasetNotFoundError(f"CIFAR batch {path} is missing")
            x, y = parse_batch(path.read_bytes(), str(path), spec["labels"], spec["classes"])
            xs.append(x)
            ys.append(y)
        x = torch.from_numpy(np.concatenate(xs).reshape(-1, 3072).astype(np.float32) / 255.0)
        splits.append(Split(x, torch.from_numpy(np.concatenate(ys))))
    return splits[0], splits[1]
