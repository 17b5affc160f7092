"""``sparsesnn lnp RUN_DIR``: LNP iterations on a reservoir run, one JSON line per iteration in
``RUN_DIR/lnp.jsonl``, then the activity-pruning (AP) and Erdős–Rényi baselines at the final
size (weights of the unpruned network, and of the LNP network) and the no-recurrence control in
``RUN_DIR/lnp_summary.json``, drawn in ``RUN_DIR/lnp.png``. With ``LNPConfig.retrain_epochs``
every network is STDP-trained on the training series before it is read out (the pruned networks
carried between iterations are not)."""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

import torch

from ..atomic import atomic_write_bytes, atomic_write_json
from ..training.rundir import append_jsonl
from .dynamics import Simulator
from .lnp import LNPConfig, lnp_iteration
from .network import Reservoir
from .plots import plot_lnp_run
from .run import load_reservoir_run, predict, stdp_train, task_series


def _evaluate(res: Reservoir, task, substeps: int, u, sops0: float | None, retrain_epochs: int = 0) -> dict:
    """Prediction figures of ``res`` (after ``retrain_epochs`` STDP passes over the training series,
    on a copy); ``sop_ratio`` = ``sops0`` / its SOPs per step (1 for the reference itself, None for
    a network without any SOP: the ratio is unbounded)."""
    if retrain_epochs:
        res = stdp_train(res, u, dataclasses.replace(task, stdp_epochs=retrain_epochs), substeps)
    p = predict(res, task, substeps, u)
    sops = p["sops_per_step"]
    return {"synapses": res.synapses, "neurons": int(res.alive.sum()), "nrmse": p["nrmse"],
            "nrmse_lyapunov_time": p["nrmse_lyapunov_time"], "vpt": p["vpt"],
            "nrmse_windows": p["nrmse_windows"], "vpt_windows": p["vpt_windows"],
            "one_step_nrmse": p["one_step_nrmse"], "sops_per_step": sops,
            "sop_ratio": 1.0 if sops0 is None else (sops0 / sops if sops > 0 else None)}


def activity_pruned(res: Reservoir, drive: torch.Tensor, substeps: int, neurons: int, synapses: int) -> Reservoir:
    """AP baseline: keep the ``neurons`` most active neurons, then the ``synapses`` strongest
    synapses among them."""
    _, counts = Simulator(res, substeps).run(drive)
    counts = torch.where(res.alive, counts, torch.full_like(counts, -1.0))
    keep_n = torch.argsort(counts, descending=True, stable=True)[:neurons]
    alive = torch.zeros(res.n, dtype=torch.bool)
    alive[keep_n] = True
    inside = alive[res.pre] & alive[res.post]
    idx = torch.nonzero(inside).flatten()
    idx = idx[torch.argsort(res.w[idx].abs(), descending=True, stable=True)[:synapses]]
    out = res.subset_synapses(idx)
    out.alive = alive
    return out


def random_network(res: Reservoir, neurons: int, synapses: int, seed: int) -> Reservoir:
    """Erdős–Rényi baseline of equal size: random live neurons, random edges among them, weights
    drawn from ``res``'s weights of the presynaptic population (Dale's law), ``res``'s τ and
    thresholds. Drawn from the unpruned network (``random``), its synapses keep their original
    strength; drawn from the LNP network (``random_matched``), they carry LNP's 1/p-rescaled
    weights and tuned τ, so that only the topology differs from LNP's."""
    g = torch.Generator().manual_seed(seed)
    live = torch.randperm(res.n, generator=g)[:neurons]
    alive = torch.zeros(res.n, dtype=torch.bool)
    alive[live] = True
    keys = torch.randperm(neurons * neurons, generator=g)
    pre, post = live[keys // neurons], live[keys % neurons]
    ok = pre != post
    pre, post = pre[ok][:synapses], post[ok][:synapses]
    w = torch.empty(len(pre))
    for exc in (True, False):
        pool = res.w[res.excitatory[res.pre] == exc]
        sel = res.excitatory[pre] == exc
        if len(pool) and bool(sel.any()):
            w[sel] = pool[torch.randint(0, len(pool), (int(sel.sum()),), generator=g)]
    mean = lambda t: t.mean().expand(len(pre)).clone()
    out = res.with_synapses(pre, post, w, mean(res.a_plus), mean(res.a_minus), mean(res.tau_plus), mean(res.tau_minus))
    out.alive = alive
    return out


def without_recurrence(res: Reservoir) -> Reservoir:
    """The control: ``res`` with every recurrent synapse removed (neurons and inputs kept), a bank of
    LIF filters of the input. Where it predicts as well as ``res``, the task does not use the
    recurrence, so which synapses a pruning method keeps has little to act on."""
    return res.subset_synapses(torch.zeros(res.synapses, dtype=torch.bool))


def run_lnp(run_dir: str | Path, iterations: int = 10, cfg: LNPConfig | None = None,
            target_neuron_sparsity: float = 0.4, target_synapse_sparsity: float = 0.5) -> dict:
    """Iterate LNP until both sparsity targets are met or ``iterations`` are done."""
    run_dir = Path(run_dir)
    if int(iterations) < 1:
        raise ValueError(f"--iterations must be >= 1; got {iterations}")
    res, net, task = load_reservoir_run(run_dir)
    cfg = cfg or LNPConfig(seed=net.seed)
    u, _, _ = task_series(task)
    drive = torch.as_tensor(u[: cfg.drive_samples], dtype=torch.float32)
    start = time.perf_counter()
    atomic_write_bytes(run_dir / "lnp.jsonl", b"")

    def evaluate(r: Reservoir, sops0: float | None) -> dict:
        return _evaluate(r, task, net.substeps, u, sops0, cfg.retrain_epochs)

    base = evaluate(res, None)
    n0, s0 = base["neurons"], base["synapses"]
    rows = [{"iteration": 0, **base, "sop_ratio": 1.0}]
    append_jsonl(run_dir / "lnp.jsonl", rows[0])
    gen = torch.Generator().manual_seed(cfg.seed)
    current, record = res, base
    for it in range(1, iterations + 1):
        current, info = lnp_iteration(current, drive, net.substeps, cfg, gen, it)
        record = {"iteration": it, **evaluate(current, base["sops_per_step"]), **info,
                  "neuron_sparsity": 1 - current.alive.sum().item() / n0, "synapse_sparsity": 1 - current.synapses / s0}
        rows.append(record)
        append_jsonl(run_dir / "lnp.jsonl", record)
        if record["neuron_sparsity"] >= target_neuron_sparsity and record["synapse_sparsity"] >= target_synapse_sparsity:
            break
    ap = evaluate(activity_pruned(res, drive, net.substeps, record["neurons"], record["synapses"]), base["sops_per_step"])
    er, er_matched = (evaluate(random_network(like, record["neurons"], record["synapses"], cfg.seed), base["sops_per_step"])
                      for like in (res, current))
    control = evaluate(without_recurrence(res), base["sops_per_step"])
    summary = {"unpruned": base, "lnp": record, "activity_pruning": ap, "random": er, "random_matched": er_matched,
               "no_recurrence": control, "config": dataclasses.asdict(cfg),
               "nrmse_ratio_lnp_over_unpruned": record["nrmse"] / base["nrmse"], "seconds": time.perf_counter() - start}
    atomic_write_json(run_dir / "lnp_summary.json", summary)
    plot_lnp_run(rows, summary, run_dir / "lnp.png")
    return summary
