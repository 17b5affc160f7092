"""Atomic file writes: a temporary file in the same folder, fsync, then a rename.

A crash never leaves a half-written file and never destroys the previous version.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any, BinaryIO, Callable

import torch


def _atomic_write(path: Path, write: Callable[[BinaryIO], None]) -> None:
    """Write through a temporary file in the same folder, fsync, then rename over ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name + ".", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, default_file_mode())  # mkstemp makes 0600 files; results are meant to be shared
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def default_file_mode() -> int:
    """0666 minus the process umask: the mode ``open()`` would have given the file."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def atomic_write_bytes(path: Path, data: bytes) -> None:
    _atomic_write(path, lambda f: f.write(data))


def atomic_write_json(path: Path, obj: Any) -> None:
    atomic_write_bytes(path, (json.dumps(obj, indent=2, sort_keys=True) + "\n").encode())


def atomic_torch_save(obj: Any, path: Path) -> None:
    """``torch.save`` through a temporary file and an atomic rename."""
    _atomic_write(path, lambda f: torch.save(obj, f))


def atomic_save_figure(fig, path: Path, dpi: int = 110) -> Path:
    """A matplotlib figure as PNG at ``path`` through the same atomic rename, then closed."""
    import matplotlib.pyplot as plt

    try:
        fig.tight_layout()
        _atomic_write(Path(path), lambda f: fig.savefig(f, format="png", dpi=dpi))
    finally:
        plt.close(fig)
    return Path(path)
