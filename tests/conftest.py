import os
import tempfile
from pathlib import Path

import pytest
import torch

SHARED = Path(__file__).resolve().parents[2] / "shared" / "datasets"
# event-data frame caches of the tests go to a throw-away folder, not the user's ~/.cache
os.environ.setdefault("SPARSESNN_CACHE_DIR", tempfile.mkdtemp(prefix="sparsesnn-test-cache-"))


@pytest.fixture
def mnist_dir() -> Path:
    d = SHARED / "mnist"
    if not (d / "train-images-idx3-ubyte.gz").exists():
        pytest.skip("shared MNIST files not present")
    return d


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)
