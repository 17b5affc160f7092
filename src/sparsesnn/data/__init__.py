"""Data sets read from their real formats, and the registry the CLI uses."""

from __future__ import annotations

from pathlib import Path

from .cifar import load_cifar
from .digits import load_digits
from .dvs import load_cifar10_dvs, load_dvs_gesture
from .mnist import load_idx_dataset, load_mnist
from .nmnist import load_nmnist
from .shd import load_shd
from .split import Split, train_val_split

DATASETS = ("digits", "mnist", "fashion_mnist", "cifar10", "cifar100", "nmnist", "shd", "dvs_gesture", "cifar10_dvs")
# flat static images, reshaped for conv nets
IMAGE_SHAPES = {"digits": (1, 8, 8), "mnist": (1, 28, 28), "fashion_mnist": (1, 28, 28),
                "cifar10": (3, 32, 32), "cifar100": (3, 32, 32)}


def load_dataset(
    name: str, data_dir: str | Path | None = None, download: bool = False, T: int = 8, downsample: int | None = None
) -> tuple[Split, Split]:
    """(train, test) splits of data set ``name`` (event data binned into ``T`` frames and, with
    ``downsample`` k, max-pooled over k×k pixels; None keeps each loader's default)."""
    if name == "digits":
        return load_digits()
    if name in DATASETS and data_dir is None:
        raise ValueError(f"the {name} data set needs --data-dir (see the README for the expected files)")
    if name in ("mnist", "fashion_mnist"):
        return load_idx_dataset(name, data_dir, download=download)
    if name in ("cifar10", "cifar100"):
        return load_cifar(name, data_dir, download)
    pooled = {} if downsample is None else {"downsample": downsample}
    if name == "nmnist":
        return load_nmnist(data_dir, T=T, download=download, **pooled)
    if name == "shd":
        return load_shd(data_dir, T=T, download=download)
    if name == "dvs_gesture":
        return load_dvs_gesture(data_dir, T=T, download=download, **pooled)
    if name == "cifar10_dvs":
        return load_cifar10_dvs(data_dir, T=T, download=download, **pooled)
    raise ValueError(f"unknown dataset {name!r}; choose one of {list(DATASETS)}")


__all__ = ["Split", "train_val_split", "load_digits", "load_mnist", "load_idx_dataset", "load_cifar", "load_nmnist",
           "load_shd", "load_dvs_gesture", "load_cifar10_dvs", "load_dataset", "DATASETS", "IMAGE_SHAPES"]
