import http.server
import os
import tempfile
import threading
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


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture
def http_root(tmp_path):
    root = tmp_path / "served"
    root.mkdir()
    handler = lambda *a, **k: _Quiet(*a, directory=str(root), **k)  # noqa: E731
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield root, f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
