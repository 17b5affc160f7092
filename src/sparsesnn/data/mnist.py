"""MNIST and Fashion-MNIST from their four official IDX gz files: a local folder or a
checksum-verified download."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from ..errors import DatasetError, DatasetNotFoundError
from .download import download, verify
from .idx import read_idx
from .split import Split

_NAMES = {
    "train_images": "train-images-idx3-ubyte.gz",
    "train_labels": "train-labels-idx1-ubyte.gz",
    "test_images": "t10k-images-idx3-ubyte.gz",
    "test_labels": "t10k-labels-idx1-ubyte.gz",
}
# per data set: mirrors, digest algorithm (what the publisher lists) and digests
IDX_DATASETS = {
    "mnist": {
        "mirrors": ["https://ossci-datasets.s3.amazonaws.com/mnist/", "http://yann.lecun.com/exdb/mnist/"],
        "algorithm": "sha256",
        "digests": {
            "train_images": "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
            "train_labels": "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
            "test_images": "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
            "test_labels": "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
        },
    },
    "fashion_mnist": {
        "mirrors": ["http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
                    "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/"],
        "algorithm": "md5",  # Zalando publishes MD5 digests only
        "digests": {
            "train_images": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
            "train_labels": "25c81989df183df01b3e8a0aad5dffbe",
            "test_images": "bef4ecab320f06d8554ea6380940ec79",
            "test_labels": "bb300cfdad3c16e7a12a480ee83cd310",
        },
    },
}
FILES = {k: (_NAMES[k], IDX_DATASETS["mnist"]["digests"][k]) for k in _NAMES}


def _fetch(data_dir: Path, key: str, spec: dict, allow_download: bool, mirrors: list[str]) -> Path:
    name, expected = _NAMES[key], spec["digests"][key]
    path = data_dir / name
    if path.exists():
        verify(path, expected, spec["algorithm"])
        return path
    if not allow_download:
        raise DatasetNotFoundError(
            f"file {name} not found in {data_dir}; put the four official IDX .gz files there or pass --download"
        )
    return download([m + name for m in mirrors], path, expected, algorithm=spec["algorithm"])


def _images_labels(img_path: Path, lbl_path: Path) -> Split:
    images, labels = read_idx(img_path), read_idx(lbl_path)
    if images.ndim != 3 or labels.ndim != 1 or images.shape[0] != labels.shape[0]:
        raise DatasetError(f"{img_path} / {lbl_path}: image shape {images.shape} does not match labels {labels.shape}")
    if labels.size and labels.max() > 9:
        raise DatasetError(f"{lbl_path}: label {int(labels.max())} outside 0..9")
    x = torch.from_numpy(images.reshape(images.shape[0], -1).astype(np.float32) / 255.0)
    return Split(x, torch.from_numpy(labels.astype(np.int64)))


def load_idx_dataset(
    name: str, data_dir: str | Path, download: bool = False, mirrors: list[str] | None = None
) -> tuple[Split, Split]:
    """(train, test) of ``mnist`` or ``fashion_mnist``, images flattened to 784 values in [0, 1]."""
    spec = IDX_DATASETS[name]
    data_dir = Path(data_dir)
    p = {k: _fetch(data_dir, k, spec, download, mirrors or spec["mirrors"]) for k in _NAMES}
    return _images_labels(p["train_images"], p["train_labels"]), _images_labels(p["test_images"], p["test_labels"])


def load_mnist(data_dir: str | Path, download: bool = False, mirrors: list[str] | None = None) -> tuple[Split, Split]:
    return load_idx_dataset("mnist", data_dir, download, mirrors)
