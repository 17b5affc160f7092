"""Data sets read from their real formats, and the registry the CLI uses."""

from __future__ import annotations

from pathlib import Path

from .digits import load_digits
from .mnist import load_mnist
from .nmnist import load_nmnist
from .split import Split, train_val_split

DATASETS = ("digits", "mnist", "nmnist")
IMAGE_SHAPES = {"digits": (1, 8, 8), "mnist": (1, 28, 28)}  # flat static images, for conv nets


def load_dataset(
    name: str, data_dir: str | Path | None = None, download: bool = False, T: int = 8
) -> tuple[Split, Split]:
    """(train, test) splits of data set ``name`` (event data binned into ``T`` frames)."""
    if name == "digits":
        return load_digits()
    if name in ("mnist", "nmnist") and data_dir is None:
        raise ValueError(f"the {name} data set needs --data-dir (see the README for the expected files)")
    if name == "mnist":
        return load_mnist(data_dir, download=download)
    if name == "nmnist":
        return load_nmnist(data_dir, T=T)
    raise ValueError(f"unknown dataset {name!r}; choose one of {list(DATASETS)}")


__all__ = ["Split", "train_val_split", "load_digits", "load_mnist", "load_nmnist", "load_dataset", "DATASETS", "IMAGE_SHAPES"]
