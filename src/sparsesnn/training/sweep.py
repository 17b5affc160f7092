"""Hyperparameter sweeps on Optuna (the papers' grid searches: 002 Table 1, 003 App. C).

Why Optuna: a library, not a cluster. Its journal file storage needs no server (a shared
folder is enough for workers on several machines; an RDB URL works too), GridSampler covers
the papers' grids and TPE the rest, and workers coordinate through the storage alone.

Each trial is an ordinary run directory; the objective is a *validation* metric of the last
epoch — sweeps refuse to select on test data.
"""

from __future__ import annotations

import csv
import multiprocessing as mp
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ..errors import ConfigError
from .config import RunConfig
from ..atomic import atomic_write_bytes
from .rundir import read_jsonl

RESULT_KEYS = ("test_accuracy", "link_sparsity", "node_sparsity", "sops_per_sample", "energy_mj_per_sample")


@dataclass
class SweepConfig:
    study: str
    out: str
    grid: dict[str, list[Any]]
    storage: str | None = None  # journal file path or RDB URL; default <out>/journal.log
    base_config: str | None = None
    overrides: dict[str, Any] = field(default_factory=dict)
    objective: str = "val_accuracy"
    direction: str = "maximize"
    sampler: str = "grid"
    trials: int | None = None  # default: the grid size
    seed: int = 0

    @classmethod
    def from_file(cls, path: str | Path) -> "SweepConfig":
        path = Path(path)
        if not path.exists():
            raise ConfigError(f"sweep file {path} does not exist")
        raw = yaml.safe_load(path.read_text()) or {}
        known = set(cls.__dataclass_fields__)
        unknown = set(raw) - known
        if unknown:
            raise ConfigError(f"unknown sweep field(s) {sorted(unknown)}; allowed: {sorted(known)}")
        missing = {"study", "out", "grid"} - set(raw)
        if missing:
            raise ConfigError(f"sweep file lacks {sorted(missing)}")
        cfg = cls(**raw)
        if cfg.base_config is not None and not Path(cfg.base_config).is_absolute():
            cfg.base_config = str((path.parent / cfg.base_config).resolve())
        return cfg.validate()

    def validate(self) -> "SweepConfig":
        if self.objective.startswith("test"):
            raise ConfigError(f"sweep objective {self.objective!r} selects on test data; use a val_* metric")
        if self.direction not in ("maximize", "minimize"):
            raise ConfigError(f"sweep direction must be maximize or minimize; got {self.direction!r}")
        if self.sampler not in ("grid", "tpe"):
            raise ConfigError(f"sweep sampler must be grid or tpe; got {self.sampler!r}")
        if not self.grid or any(not isinstance(v, list) or not v for v in self.grid.values()):
            raise ConfigError("sweep grid must map config fields to non-empty lists of values")
        probe = self.run_config({k: v[0] for k, v in self.grid.items()})  # names and values check out
        if self.objective.startswith("val") and probe.data.val_fraction <= 0:
            raise ConfigError("a val_* objective needs data.val_fraction > 0 (set it in overrides)")
        return self

    @property
    def grid_size(self) -> int:
        n = 1
        for values in self.grid.values():
            n *= len(values)
        return n

    def run_config(self, params: dict[str, Any]) -> RunConfig:
        cfg = RunConfig.from_file(self.base_config) if self.base_config else RunConfig()
        for key, value in {**self.overrides, **params}.items():
            cfg.set(key, value)
        return cfg.validate()

    def storage_url(self) -> str:
        return self.storage or str(Path(self.out) / "journal.log")


def _storage(url: str):
    import optuna

    if "://" in url:
        return url
    Path(url).parent.mkdir(parents=True, exist_ok=True)
    return optuna.storages.JournalStorage(optuna.storages.journal.JournalFileBackend(url))


def _study(cfg: SweepConfig):
    import optuna

    sampler = (
        optuna.samplers.GridSampler(cfg.grid, seed=cfg.seed)
        if cfg.sampler == "grid"
        else optuna.samplers.TPESampler(seed=cfg.seed)
    )
    return optuna.create_study(
        study_name=cfg.study, storage=_storage(cfg.storage_url()), sampler=sampler,
        direction=cfg.direction, load_if_exists=True,
    )


def _objective(cfg: SweepConfig):
    from .trainer import train

    def objective(trial) -> float:
        params = {k: trial.suggest_categorical(k, v) for k, v in cfg.grid.items()}
        run_dir = Path(cfg.out) / f"trial-{trial.number:04d}"
        summary = train(cfg.run_config(params), run_dir, progress=False)
        last = read_jsonl(run_dir / "metrics.jsonl")[-1]
        if cfg.objective not in last:
            raise ConfigError(f"metric {cfg.objective!r} is not logged; available: {sorted(last)}")
        for key in RESULT_KEYS:
            trial.set_user_attr(key, summary[key])
        trial.set_user_attr("run_dir", str(run_dir))
        return float(last[cfg.objective])

    return objective


def run_worker(cfg: SweepConfig, n_trials: int, threads: int | None = None) -> None:
    """One worker: pull trials from the shared study until ``n_trials`` ran or the grid is done."""
    import optuna
    import torch

    if threads:
        torch.set_num_threads(threads)
        try:
            import numba

            numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))
        except ImportError:  # pragma: no cover
            pass
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    _study(cfg).optimize(_objective(cfg), n_trials=n_trials)


def run_sweep(cfg: SweepConfig, workers: int = 1) -> Path:
    """Run the sweep with ``workers`` local processes; returns the results table (CSV)."""
    if workers < 1:
        raise ConfigError(f"--workers must be >= 1; got {workers}")
    _study(cfg)  # create once, before workers race to
    total = cfg.trials or cfg.grid_size
    per_worker = -(-total // workers)
    threads = max(1, (os.cpu_count() or 1) // workers)
    if workers == 1:
        run_worker(cfg, per_worker, threads)
    else:
        ctx = mp.get_context("spawn")
        procs = [ctx.Process(target=run_worker, args=(cfg, per_worker, threads)) for _ in range(workers)]
        for p in procs:
            p.start()
        for p in procs:
            p.join()
        failed = [p.exitcode for p in procs if p.exitcode != 0]
        if failed:
            raise RuntimeError(f"sweep workers failed with exit codes {failed}")
    return write_table(cfg)


def write_table(cfg: SweepConfig) -> Path:
    """One results table (CSV and Markdown) over every finished trial of the study."""
    import optuna

    trials = [t for t in _study(cfg).get_trials(deepcopy=False) if t.state == optuna.trial.TrialState.COMPLETE]
    columns = ["trial", *cfg.grid, cfg.objective, *RESULT_KEYS, "run_dir"]
    rows = [
        {"trial": t.number, **t.params, cfg.objective: t.value, **{k: t.user_attrs.get(k) for k in (*RESULT_KEYS, "run_dir")}}
        for t in sorted(trials, key=lambda t: t.number)
    ]
    out = Path(cfg.out)
    lines: list[str] = []
    w = csv.DictWriter(_Lines(lines), fieldnames=columns, lineterminator="\n")
    w.writeheader()
    w.writerows(rows)
    atomic_write_bytes(out / "results.csv", "".join(lines).encode())
    md = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    md += ["| " + " | ".join(_fmt(r.get(c)) for c in columns) + " |" for r in rows]
    atomic_write_bytes(out / "results.md", ("\n".join(md) + "\n").encode())
    return out / "results.csv"


class _Lines:
    def __init__(self, lines: list[str]) -> None:
        self.write = lines.append


def _fmt(v: Any) -> str:
    return f"{v:.6g}" if isinstance(v, float) else str(v)
