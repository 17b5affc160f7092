"""Sparse-training rules compared through conversion (issue #4, 003 §4.1 ablation): CHTs (CH2-L3n
soft regrowth), SET (random regrowth), RigL (gradient regrowth), a static sparse topology (fixed
random, never evolved), the dense twin, and one-shot magnitude pruning of that dense twin
(static topology, fine-tuned for ``--finetune-epochs``), on the embedded digits data set; each
ANN converted with QCFS and SNM; accuracy and energy at each run's saturation T, mean ± std.

    python benchmarks/conversion_baselines.py --sparsity 0.95 --seeds 0 1 2 --finetune-epochs 5 --out results/conversion_baselines.json
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
from pathlib import Path

import numpy as np
from common import write_results

from sparsesnn.cli.main import main as cli
from sparsesnn.conversion.convert import convert_run

RULES = {
    "CHTs": [],
    "SET": ["--set", "topology.regrowth=random"],
    "RigL": ["--set", "topology.regrowth=gradient"],
    "static": ["--set", "topology.evolve=false"],
    "dense": ["--dense"],
    "magnitude": None,  # pruned from the dense run of the same seed
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sparsity", type=float, default=0.95)
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--epochs", type=int, default=30)
    ap.add_argument("--finetune-epochs", type=int, default=5)
    ap.add_argument("--max-T", dest="max_T", type=int, default=64)
    ap.add_argument("--runs-dir", default="runs/conversion_baselines")
    ap.add_argument("--out", default="results/conversion_baselines.json")
    args = ap.parse_args()
    out: dict = {}
    for rule, flags in RULES.items():
        rows = []
        for seed in args.seeds:
            run = Path(args.runs_dir) / f"{rule}_{seed}"
            if flags is None:
                command = ["prune", str(Path(args.runs_dir) / f"dense_{seed}"), "--sparsity", str(args.sparsity),
                           "--epochs", str(args.finetune_epochs), "--out", str(run), "--no-progress"]
            else:
                command = ["train", "--dataset", "digits", "--ann", "--model", "mlp", "--set", "model.hidden=[256,256]",
                           "--sparsity", str(args.sparsity), *flags, "--epochs", str(args.epochs), "--seed", str(seed),
                           "--out", str(run), "--no-progress"]
            with contextlib.redirect_stdout(io.StringIO()):
                if cli(command):
                    raise SystemExit(f"{command[0]} {run} failed")
            for method in ("qcfs", "snm"):
                r = convert_run(run, method, args.max_T, progress=False)
                i = (r["saturation_T"] or args.max_T) - 1
                rows.append({"seed": seed, "method": method, "ann_accuracy": r["ann_accuracy"], "saturation_T": r["saturation_T"],
                             "accuracy": r["accuracy"][i], "energy_mj": r["energy_mj_per_sample"][i], "layer_sparsity": r["layer_sparsity"]})
        out[rule] = {"runs": rows, **{method: {k: {"mean": float(np.mean(v)), "std": float(np.std(v))}
                                               for k in ("ann_accuracy", "accuracy", "energy_mj", "saturation_T")
                                               for v in [[r[k] for r in rows if r["method"] == method and r[k] is not None]] if v}
                                      for method in ("qcfs", "snm")}}
        print(rule, json.dumps({m: {k: round(out[rule][m][k]["mean"], 6) for k in out[rule][m]} for m in ("qcfs", "snm")}))
    write_results(args.out, out)


if __name__ == "__main__":
    main()
