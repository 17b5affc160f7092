"""``sparsesnn bayesopt``: Bayesian optimisation of a reservoir's parameter distributions
(004 eq. 6–8), then one evaluation of the chosen distributions on the test protocol.

Every evaluation is a fresh reservoir (seeds ``seed … seed + seeds − 1``, averaged) built from
the candidate distributions and STDP-trained; its objective is the spike efficiency 𝓔 (eq. 10),
the negative closed-loop NRMSE on the last ``horizon`` samples of the *training* stretch
(readout fitted on the samples before them), or — for event classification — the readout's
accuracy on a fixed validation fifth of the *training* set. The test data is used only once, at
the end.
Writes ``bo.jsonl`` (one line per evaluation), ``best.yaml`` (a ``sparsesnn reservoir
--config`` file) and ``bo_summary.json``; the final test run goes to ``RUN_DIR/best``.
"""

from __future__ import annotations

import dataclasses
import functools
import time
from pathlib import Path

import numpy as np
import torch
import yaml

from ..atomic import atomic_write_bytes, atomic_write_json
from ..training.rundir import append_jsonl, versions
from .bayesopt import SPACE, check_budget, optimise
from .network import ReservoirConfig, build_reservoir
from .run import CLASSIFICATION, TaskConfig, memory, predict, run_reservoir, trained_reservoir, validation_stretch

OBJECTIVES = ("efficiency", "val_nrmse", "val_accuracy")


def _check_objective(objective: str, task: TaskConfig) -> None:
    allowed = ("val_accuracy",) if task.task in CLASSIFICATION else ("efficiency", "val_nrmse")
    if objective not in allowed:
        raise ValueError(f"objective for task {task.task!r} must be one of {allowed}; got {objective!r}")
    if task.training != "stdp":
        raise ValueError("bayesopt tunes the distributions of STDP reservoirs (task.training stdp)")


@functools.lru_cache(maxsize=1)  # every evaluation of one BO run uses the same split
def _validation_split(dataset: str, data_dir: str, frames: int, seed: int):
    """(fit, validation) parts of the training set of an event data set (fixed 80/20 split)."""
    from ..data import load_dataset, train_val_split

    train, _ = load_dataset(dataset, data_dir, T=frames)
    return train_val_split(train, 0.2, seed)


def objective_value(cfg: ReservoirConfig, task: TaskConfig, objective: str, seeds: int) -> float:
    """Mean objective (higher is better) over ``seeds`` reservoirs drawn from ``cfg``."""
    _check_objective(objective, task)
    if objective == "val_accuracy":
        from .classify import classify

        fit, val = _validation_split(task.task, task.data_dir, task.frames, cfg.seed)
        values = []
        for s in range(seeds):
            net = dataclasses.replace(cfg, seed=cfg.seed + s)
            torch.manual_seed(net.seed)
            res = build_reservoir(net, int(np.prod(fit.x.shape[2:])))
            values.append(classify(res, net, fit, val, task.stdp_samples if task.stdp_epochs > 0 else 0)["accuracy"])
        return float(np.mean(values))
    val, u = validation_stretch(task)
    values = []
    for s in range(seeds):
        net = dataclasses.replace(cfg, seed=cfg.seed + s)
        res = trained_reservoir(net, u, val)
        if objective == "efficiency":
            eff = memory(res, val, net.substeps, net.seed)["spike_efficiency"]
            values.append(0.0 if eff is None else eff)  # a silent reservoir is the worst case
        else:
            nrmse = predict(res, val, net.substeps, u)["nrmse"]
            values.append(-nrmse if np.isfinite(nrmse) else -1e6)
    return float(np.mean(values))


def run_bayesopt(
    base: ReservoirConfig, task: TaskConfig, run_dir: str | Path, objective: str = "efficiency",
    n_init: int = 8, n_iter: int = 20, seeds: int = 2, rho: float = 2.5,
) -> dict:
    check_budget(n_init, n_iter)
    _check_objective(objective, task)
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    atomic_write_json(run_dir / "config.json", {"reservoir": dataclasses.asdict(base), "task": dataclasses.asdict(task),
                                                "objective": objective, "n_init": n_init, "n_iter": n_iter, "seeds": seeds,
                                                "rho": rho, "space": SPACE, "versions": versions()})
    atomic_write_bytes(run_dir / "bo.jsonl", b"")
    history = optimise(lambda c: objective_value(c, task, objective, seeds), base.validate(), n_init, n_iter,
                       rho=rho, seed=base.seed, on_evaluation=lambda row: append_jsonl(run_dir / "bo.jsonl", row))
    best = max(history, key=lambda h: h["objective"])
    chosen = dataclasses.replace(base, **best["params"])
    atomic_write_bytes(run_dir / "best.yaml", yaml.safe_dump({"reservoir": dataclasses.asdict(chosen),
                                                               "task": dataclasses.asdict(task)}).encode())
    test = run_reservoir(chosen, task, run_dir / "best")
    summary = {
        "objective": objective, "best_objective": best["objective"], "best_evaluation": best["evaluation"],
        "best_params": best["params"], "evaluations": len(history),
        "best_of_init": max(h["objective"] for h in history if h["phase"] == "init"),
        "test": {k: test[k] for k in ("accuracy", "spikes_per_sample", "sops_per_sample", "nrmse", "vpt", "memory_capacity",
                                      "spike_efficiency", "sops_per_step", "synapses", "neurons") if k in test},
        "seconds": time.perf_counter() - start,
    }
    atomic_write_json(run_dir / "bo_summary.json", summary)
    return summary
