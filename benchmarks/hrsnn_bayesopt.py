"""Bayesian optimisation of HRSNN parameter distributions (issue #5; 004 eq. 6–8), then the
HoNHoS vs HeNHeS comparison on Lorenz63 with the distributions BO chose for each, and LNP on
the seed-0 BO-chosen HeNHeS network (AP and Erdős–Rényi baselines at equal size).

BO sees only the training series (objective: closed-loop NRMSE on its last ``horizon`` samples,
readout fitted before them) and reservoir seeds 100, 101; the chosen distributions are then
evaluated once on the test horizon with the reported seeds 0–4.

    python benchmarks/hrsnn_bayesopt.py --neurons 500 --init 8 --iterations 16 --out results/hrsnn_bayesopt.json

With ``--task nmnist --data-dir DIR`` the same comparison runs on spiking classification (BO
objective: accuracy on a validation fifth of the training set; no LNP).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
from common import hrsnn_parser, write_results

from sparsesnn.recurrent.bo_run import run_bayesopt
from sparsesnn.recurrent.lnp_run import run_lnp
from sparsesnn.recurrent.run import TaskConfig, reservoir_config, run_reservoir

PREDICTION = ("nrmse", "vpt", "memory_capacity", "spike_efficiency", "sops_per_step", "synapses", "neurons")
CLASSIFICATION = ("accuracy", "mlp_readout_accuracy", "spikes_per_sample", "sops_per_sample", "synapses", "neurons")


def main() -> None:
    ap = hrsnn_parser(__doc__, "hrsnn_bayesopt", [0, 1, 2, 3, 4])
    ap.add_argument("--init", type=int, default=8)
    ap.add_argument("--iterations", type=int, default=16)
    ap.add_argument("--task", default="lorenz63")
    ap.add_argument("--data-dir", help="event data set folder (classification tasks)")
    ap.add_argument("--objective", help="default: val_nrmse for prediction, val_accuracy for classification")
    ap.add_argument("--bo-seed", type=int, default=100)
    args = ap.parse_args()
    runs, task = Path(args.runs_dir), TaskConfig(task=args.task, data_dir=args.data_dir, observed=args.observed)
    classify = args.data_dir is not None
    keys = CLASSIFICATION if classify else PREDICTION
    objective = args.objective or ("val_accuracy" if classify else "val_nrmse")
    out: dict = {}
    for name, nh, sh in (("HoNHoS", "homo", "homo"), ("HeNHeS", "hetero", "hetero")):
        base = reservoir_config(args.task, neurons=args.neurons, neuron_het=nh, stdp_het=sh, seed=args.bo_seed)
        bo = run_bayesopt(base, task, runs / name, objective, args.init, args.iterations, seeds=2)
        chosen = dataclasses.replace(base, **bo["best_params"])
        rows = [{k: r[k] for k in keys} for s in args.seeds
                for r in [run_reservoir(dataclasses.replace(chosen, seed=s), task, runs / f"{name}_test_{s}")]]
        agg = {k: {"mean": float(np.mean(v)), "std": float(np.std(v))}
               for k in keys for v in [[r[k] for r in rows if r[k] is not None]] if v}
        out[name] = {"bo": bo, "test_runs": rows, **agg}
        print(name, f"BO best {bo['best_objective']:.3f} (init best {bo['best_of_init']:.3f});",
              f"test {keys[0]} {agg[keys[0]]['mean']:.3f} ± {agg[keys[0]]['std']:.3f}")
    out[f"HeNHeS_minus_HoNHoS_{keys[0]}"] = out["HeNHeS"][keys[0]]["mean"] - out["HoNHoS"][keys[0]]["mean"]
    if args.lnp_iterations and not classify:
        lnp = run_lnp(runs / f"HeNHeS_test_{args.seeds[0]}", args.lnp_iterations)
        out["lnp"] = lnp
        print("LNP", {k: {m: lnp[k][m] for m in ("neurons", "synapses", "nrmse", "sop_ratio")}
                      for k in ("unpruned", "lnp", "activity_pruning", "random")})
    write_results(args.out, out)


if __name__ == "__main__":
    main()
