"""Data sets read from their real formats, and the registry the CLI uses."""

from __future__ import annotations

from pathlib import Path

from .digits import load_digits
from .mnist import load_mnist
from .split import Split, train_val_split

DATASETS = ("digits", "mnist")


def load_dataset(name: str, data_dir: str | Path | None = None, download: bool = False) -> tuple[Split, Split]:
    """(train, test) splits of data set ``name``."""
    if name == "digits":
        return load_digits()
    if name == "mnist":
        if data_dir is None:
            raise ValueError("the mnist data set needs --data-dir (a folder with the four IDX .gz files)")
        return load_mnist(data_dir, download=download)
    raise ValueError(f"unknown dataset {name!r}; choose one of {list(DATASETS)}")


__all__ = ["Split", "train_val_split", "load_digits", "load_mnist", "load_dataset", "DATASETS"]
