"""Helpers shared by benchmark scripts: provenance (command, versions, machine) and output."""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

import torch
from threadpoolctl import threadpool_limits

from sparsesnn.atomic import atomic_write_json
from sparsesnn.training.rundir import versions


def sparse_dense_parser(doc: str, config: Path, epochs: int, sparsity: float, name: str) -> argparse.ArgumentParser:
    """Arguments shared by the sparse-vs-dense benchmark scripts."""
    ap = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data-dir", required=True)
    ap.add_argument("--config", default=str(config))
    ap.add_argument("--epochs", type=int, default=epochs)
    ap.add_argument("--sparsity", type=float, default=sparsity)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--runs-dir", default=f"runs/{name}")
    ap.add_argument("--out", default=f"results/{name}.json")
    return ap


def add_observed(ap: argparse.ArgumentParser) -> None:
    """``--observed``: TaskConfig.observed of the prediction task."""
    ap.add_argument("--observed", type=int, nargs="+", metavar="I",
                    help="prediction: the variables fed in and predicted (default: all; 0 is Lorenz63's x alone)")


def hrsnn_parser(doc: str, name: str, seeds: list[int]) -> argparse.ArgumentParser:
    """Arguments shared by the HRSNN benchmark scripts (reservoir size, network seeds, LNP)."""
    ap = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--neurons", type=int, default=500)
    ap.add_argument("--seeds", type=int, nargs="+", default=seeds)
    ap.add_argument("--lnp-iterations", type=int, default=12)
    add_observed(ap)
    ap.add_argument("--runs-dir", default=f"runs/{name}")
    ap.add_argument("--out", default=f"results/{name}.json")
    return ap


def provenance() -> dict:
    return {"command": " ".join(shlex.quote(a) for a in ["python", *sys.argv]), "versions": versions()}


def write_results(path: str | Path, results: dict) -> None:
    atomic_write_json(Path(path), {**provenance(), **results})


def one_thread(fn, *args):
    """``fn(*args)`` on one torch and one BLAS thread: pool workers then share the cores."""
    with threadpool_limits(1):
        torch.set_num_threads(1)
        return fn(*args)
