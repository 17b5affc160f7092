"""scikit-learn's 8×8 handwritten digits: the embedded default data set (no download)."""

from __future__ import annotations

import numpy as np
import torch

from .split import Split


def load_digits() -> tuple[Split, Split]:
    """1797 images of 64 pixels scaled to [0, 1]; a fixed stratified 80/20 train/test split."""
    from sklearn.datasets import load_digits as _load
    from sklearn.model_selection import train_test_split

    d = _load()
    x = (d.data / 16.0).astype(np.float32)
    x_tr, x_te, y_tr, y_te = train_test_split(x, d.target, test_size=0.2, random_state=0, stratify=d.target)
    as_split = lambda a, b: Split(torch.from_numpy(a), torch.from_numpy(b).long())  # noqa: E731
    return as_split(x_tr, y_tr), as_split(x_te, y_te)
