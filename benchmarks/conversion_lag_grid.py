"""Time lag between firing-rate and accuracy saturation over a grid of converted runs (issue #4;
002 §3.3, eq. 5, Fig. 3b): CHTs sparse ANNs and dense twins on the embedded digits data set,
several seeds each, converted with QCFS and SNM for T = 1..max_T; one-sided Wilcoxon
("accuracy saturates after MASFR") and two-sided Mann-Whitney U (sparse vs dense lags), KDE plot.

    python benchmarks/conversion_lag_grid.py --seeds 0 1 2 3 4 --out results/conversion_lag_grid.json
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
from pathlib import Path

from common import write_results

from sparsesnn.cli.main import main as cli
from sparsesnn.conversion.convert import convert_run
from sparsesnn.conversion.measure import plot_lag_kde, time_lag_statistics


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sparsities", type=float, nargs="+", default=[0.9, 0.95, 0.99])
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    ap.add_argument("--epochs", type=int, default=30)
    ap.add_argument("--max-T", dest="max_T", type=int, default=64)
    ap.add_argument("--runs-dir", default="runs/conversion_lag_grid")
    ap.add_argument("--out", default="results/conversion_lag_grid.json")
    args = ap.parse_args()
    runs, rows = Path(args.runs_dir), []
    for sparsity in [None, *args.sparsities]:
        for seed in args.seeds:
            run = runs / f"{'dense' if sparsity is None else sparsity}_{seed}"
            flags = ["--dense"] if sparsity is None else ["--sparsity", str(sparsity)]
            with contextlib.redirect_stdout(io.StringIO()):
                code = cli(["train", "--dataset", "digits", "--ann", "--model", "mlp", "--set", "model.hidden=[256,256]",
                            *flags, "--epochs", str(args.epochs), "--seed", str(seed), "--out", str(run), "--no-progress"])
            if code != 0:
                raise SystemExit(f"training {run} failed")
            for method in ("qcfs", "snm"):
                r = convert_run(run, method, args.max_T, progress=False)
                rows.append({"sparsity": sparsity, "seed": seed, "method": method, "ann_accuracy": r["ann_accuracy"],
                             "saturation_T": r["saturation_T"], "masfr_saturation_T": r["masfr_saturation_T"],
                             "accuracy_at_saturation": r["accuracy"][(r["saturation_T"] or args.max_T) - 1]})
                print(json.dumps(rows[-1]))
    done = [r for r in rows if r["saturation_T"] is not None and r["masfr_saturation_T"] is not None]
    stats = time_lag_statistics([r["saturation_T"] for r in done], [r["masfr_saturation_T"] for r in done],
                                [r["sparsity"] is not None for r in done])
    lags = stats["lags"]
    plot_lag_kde([l for l, r in zip(lags, done) if r["sparsity"] is not None],
                 [l for l, r in zip(lags, done) if r["sparsity"] is None], Path(args.out).with_name("conversion_lag_kde.png"))
    write_results(args.out, {"runs": rows, "saturated_runs": len(done), "statistics": stats})
    print(json.dumps({k: v for k, v in stats.items() if k != "lags"}, indent=2))


if __name__ == "__main__":
    main()
