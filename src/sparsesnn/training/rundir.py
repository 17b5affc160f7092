"""Run directories: every run records its config, versions, seed, metrics and checkpoints."""

from __future__ import annotations

import json
import os
import platform
import sys
from pathlib import Path
from typing import Any

import numpy as np
import scipy
import torch

import sparsesnn
from sparsesnn.atomic import atomic_torch_save
from sparsesnn.errors import CheckpointError


def append_jsonl(path: Path, record: dict) -> None:
    """Append one JSON line with a single write call (a crash cannot interleave two records)."""
    line = (json.dumps(record, sort_keys=True) + "\n").encode()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    try:
        os.write(fd, line)
        os.fsync(fd)
    finally:
        os.close(fd)


def read_jsonl(path: Path) -> list[dict]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def versions() -> dict[str, Any]:
    return {
        "sparsesnn": sparsesnn.__version__,
        "python": sys.version.split()[0],
        "torch": torch.__version__,
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "platform": platform.platform(),
        "machine": platform.machine(),
        "processor": platform.processor() or "unknown",
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "cuda": torch.cuda.is_available(),
    }


def save_checkpoint(obj: Any, path: Path) -> None:
    """Atomically replace ``path``; the checkpoint it replaces is kept as ``<stem>-prev<suffix>``.

    The previous file is hard-linked aside first, so at every instant ``path`` is a complete
    checkpoint (old or new) and a corrupt newest file never costs the one before it.
    """
    prev = path.with_name(f"{path.stem}-prev{path.suffix}")
    if path.exists():
        tmp = prev.with_name(prev.name + ".tmp")
        tmp.unlink(missing_ok=True)
        os.link(path, tmp)
        os.replace(tmp, prev)
    atomic_torch_save(obj, path)


def load_checkpoint(path: Path) -> dict:
    if not path.exists():
        raise CheckpointError(f"no checkpoint at {path}")
    try:
        return torch.load(path, map_location="cpu", weights_only=False)
    except Exception as exc:  # truncated zip, pickle errors …
        prev = path.with_name(f"{path.stem}-prev{path.suffix}")
        hint = f"; the previous checkpoint is kept at {prev}" if prev.exists() else ""
        raise CheckpointError(f"checkpoint {path} is corrupt or unreadable ({exc}){hint}") from exc
