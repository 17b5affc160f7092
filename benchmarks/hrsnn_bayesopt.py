"""Bayesian optimisation of HRSNN parameter distributions (issue #5; 004 eq. 6–8), then the
HoNHoS vs HeNHeS comparison on Lorenz63 with the distributions BO chose for each, and LNP on
the seed-0 BO-chosen HeNHeS network (AP and Erdős–Rényi baselines at equal size).

BO sees only the training series (objective: closed-loop NRMSE on its last ``horizon`` samples,
readout fitted before them) and reservoir seeds 100, 101; the chosen distributions are then
evaluated once on the test horizon with the reported seeds 0–4.

    python benchmarks/hrsnn_bayesopt.py --neurons 500 --init 8 --iterations 16 --out results/hrsnn_bayesopt.json
"""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

import numpy as np
from common import write_results

from sparsesnn.recurrent.bo_run import run_bayesopt
from sparsesnn.recurrent.lnp_run import run_lnp
from sparsesnn.recurrent.network import ReservoirConfig
from sparsesnn.recurrent.run import TaskConfig, run_reservoir

KEYS = ("nrmse", "vpt", "memory_capacity", "spike_efficiency", "sops_per_step", "synapses", "neurons")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--neurons", type=int, default=500)
    ap.add_argument("--init", type=int, default=8)
    ap.add_argument("--iterations", type=int, default=16)
    ap.add_argument("--objective", default="val_nrmse", choices=["val_nrmse", "efficiency"])
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    ap.add_argument("--bo-seed", type=int, default=100)
    ap.add_argument("--lnp-iterations", type=int, default=12)
    ap.add_argument("--runs-dir", default="runs/hrsnn_bayesopt")
    ap.add_argument("--out", default="results/hrsnn_bayesopt.json")
    args = ap.parse_args()
    runs, task = Path(args.runs_dir), TaskConfig(task="lorenz63")
    out: dict = {}
    for name, nh, sh in (("HoNHoS", "homo", "homo"), ("HeNHeS", "hetero", "hetero")):
        base = ReservoirConfig(neurons=args.neurons, neuron_het=nh, stdp_het=sh, seed=args.bo_seed)
        bo = run_bayesopt(base, task, runs / name, args.objective, args.init, args.iterations, seeds=2)
        chosen = dataclasses.replace(base, **bo["best_params"])
        rows = [{k: run_reservoir(dataclasses.replace(chosen, seed=s), task, runs / f"{name}_test_{s}")[k] for k in KEYS}
                for s in args.seeds]
        agg = {k: {"mean": float(np.mean(v)), "std": float(np.std(v))}
               for k in KEYS for v in [[r[k] for r in rows if r[k] is not None]] if v}
        out[name] = {"bo": bo, "test_runs": rows, **agg}
        print(name, f"BO best {bo['best_objective']:.3f} (init best {bo['best_of_init']:.3f});",
              f"test NRMSE {agg['nrmse']['mean']:.3f} ± {agg['nrmse']['std']:.3f}")
    out["HeNHeS_minus_HoNHoS_nrmse"] = out["HeNHeS"]["nrmse"]["mean"] - out["HoNHoS"]["nrmse"]["mean"]
    if args.lnp_iterations:
        lnp = run_lnp(runs / f"HeNHeS_test_{args.seeds[0]}", args.lnp_iterations)
        out["lnp"] = lnp
        print("LNP", {k: {m: lnp[k][m] for m in ("neurons", "synapses", "nrmse", "sop_ratio")}
                      for k in ("unpruned", "lnp", "activity_pruning", "random")})
    write_results(args.out, out)


if __name__ == "__main__":
    main()
