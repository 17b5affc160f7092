"""On-disk cache of binned event data sets: parsing thousands of recordings once is enough.

Location: ``cache_dir``, else ``$SPARSESNN_CACHE_DIR``, else ``~/.cache/sparsesnn``.
"""

from __future__ import annotations

import hashlib
import io
import os
from pathlib import Path
from typing import Callable

import torch

from ..atomic import atomic_write_bytes
from .split import Split


def cached(key: object, build: Callable[[], tuple[Split, Split]], cache_dir: str | Path | None = None) -> tuple[Split, Split]:
    """(train, test) from the cache entry for ``key`` (any repr-able description of the source files
    and binning), else from ``build()``, which is then cached. A damaged entry is rebuilt."""
    digest = hashlib.sha256(repr(key).encode()).hexdigest()[:16]
    root = cache_dir or os.environ.get("SPARSESNN_CACHE_DIR") or Path.home() / ".cache" / "sparsesnn"
    path = Path(root) / f"events-{digest}.pt"
    if path.exists():
        try:
            s = torch.load(path, weights_only=True)
            return Split(s["train_x"], s["train_y"], True), Split(s["test_x"], s["test_y"], True)
        except Exception:  # never trust a damaged cache
            path.unlink(missing_ok=True)
    train, test = build()
    buf = io.BytesIO()
    torch.save({"train_x": train.x, "train_y": train.y, "test_x": test.x, "test_y": test.y}, buf)
    atomic_write_bytes(path, buf.getvalue())
    return train, test


def file_key(paths) -> list[tuple[str, int, int]]:
    """Identity of source files for a cache key: path, size and modification time."""
    out = []
    for p in sorted(Path(p) for p in paths):
        st = p.stat()
        out.append((str(p.resolve()), st.st_size, st.st_mtime_ns))
    return out
