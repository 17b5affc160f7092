"""Helpers shared by benchmark scripts: provenance (command, versions, machine) and output."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

from sparsesnn.atomic import atomic_write_json
from sparsesnn.training.rundir import versions


def provenance() -> dict:
    return {"command": " ".join(shlex.quote(a) for a in ["python", *sys.argv]), "versions": versions()}


def write_results(path: str | Path, results: dict) -> None:
    atomic_write_json(Path(path), {**provenance(), **results})
