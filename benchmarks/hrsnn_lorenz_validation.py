"""Choose the HRSNN's chaotic-prediction settings on the validation stretch only (issue #5).

Grid over the input scale, the recurrent weight scale, the simulation steps per sample and the
readout's ridge α; every point is scored by the closed-loop NRMSE over the last ``horizon``
samples of the *training* series (``validation_stretch``: the test continuation is never seen),
averaged over HoNHoS and HeNHeS reservoirs of validation seeds (100–105, disjoint from the
reported seeds 0–4). The chosen point becomes the system's entry of
``recurrent.run.PREDICTION_PRESETS`` (reservoir fields and the readout's ridge α).

    python benchmarks/hrsnn_lorenz_validation.py --out results/hrsnn_lorenz_validation.json
    python benchmarks/hrsnn_lorenz_validation.py --task rossler --out results/hrsnn_rossler_validation.json
    python benchmarks/hrsnn_lorenz_validation.py --task lorenz96 --out results/hrsnn_lorenz96_validation.json
"""

from __future__ import annotations

import argparse
import itertools
from multiprocessing import Pool

import numpy as np
import torch
from common import add_observed, write_results

from sparsesnn.recurrent.network import ReservoirConfig
from sparsesnn.recurrent.run import TaskConfig, predict, trained_reservoir, validation_stretch

GRID = {"input_scale": (1.0, 8.0, 16.0), "weight_scale": (0.25, 0.5, 1.0), "substeps": (4, 10), "ridge": (1.0, 10.0, 100.0)}
KINDS = (("HoNHoS", "homo"), ("HeNHeS", "hetero"))


def score(job: tuple[dict, str, int, int, str, list[int] | None]) -> dict:
    point, het, seed, neurons, task_name, observed = job
    torch.set_num_threads(1)
    val, u = validation_stretch(TaskConfig(task=task_name, ridge=point["ridge"], observed=observed))
    cfg = ReservoirConfig(neurons=neurons, neuron_het=het, stdp_het=het, seed=seed,
                          **{k: v for k, v in point.items() if k != "ridge"})
    out = predict(trained_reservoir(cfg, u, val), val, cfg.substeps, u)
    return {"nrmse": out["nrmse"], "nrmse_lyapunov_time": out["nrmse_lyapunov_time"], "firing_rate": out["firing_rate"]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--neurons", type=int, default=500)
    ap.add_argument("--task", default="lorenz63")
    add_observed(ap)
    ap.add_argument("--seeds", type=int, nargs="+", default=[100, 101, 102, 103, 104, 105])
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--out", default="results/hrsnn_lorenz_validation.json")
    args = ap.parse_args()
    if set(args.seeds) & set(range(5)):
        raise SystemExit("validation seeds must not overlap the reported seeds 0-4")
    points = [dict(zip(GRID, values)) for values in itertools.product(*GRID.values())]
    jobs = [(p, het, s, args.neurons, args.task, args.observed) for p in points for _, het in KINDS for s in args.seeds]
    with Pool(args.workers) as pool:
        results = pool.map(score, jobs, chunksize=1)
    rows, k = [], 0
    per_point = len(KINDS) * len(args.seeds)
    for p in points:
        block = results[k : k + per_point]
        k += per_point
        row = {"point": p}
        for i, (name, _) in enumerate(KINDS):
            runs = block[i * len(args.seeds) : (i + 1) * len(args.seeds)]
            # a diverged closed loop counts as NRMSE 10, so one blow-up cannot dominate the mean
            e = [min(r["nrmse"], 10.0) for r in runs]
            row[name] = {"nrmse_mean": float(np.mean(e)), "nrmse_std": float(np.std(e)),
                         "nrmse_lyapunov_time_mean": float(np.mean([min(r["nrmse_lyapunov_time"], 10.0) for r in runs])),
                         "firing_rate_mean": float(np.mean([r["firing_rate"] for r in runs]))}
        row["objective"] = float(np.mean([row[name]["nrmse_mean"] for name, _ in KINDS]))
        rows.append(row)
    rows.sort(key=lambda r: r["objective"])
    print("best", rows[0]["point"], f"objective {rows[0]['objective']:.3f}")
    write_results(args.out, {"grid": GRID, "validation_seeds": args.seeds, "neurons": args.neurons, "task": args.task,
                             **({"observed": args.observed} if args.observed else {}),
                             "chosen": rows[0]["point"], "points": rows})


if __name__ == "__main__":
    main()
