"""DepGraph structured-pruning baseline against CHT on MNIST (issue #4; 003 §4.1, Table 1): the
dense twin of ``benchmarks/mnist_conversion.py`` is pruned structurally (90 % of the neurons of
every hidden layer → 99 % of the links between hidden layers), fine-tuned, and converted with
QCFS and SNM exactly as the CHTs network was; the CHTs figures are read from that run's results.

    python benchmarks/mnist_depgraph.py --dense-run /tmp/bench_conv3/mlp_dense --ratio 0.9 --epochs 2 \\
        --cht-results results/mnist_conversion.json --out results/mnist_depgraph.json
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
from pathlib import Path

from common import write_results
from mnist_conversion import brief

from sparsesnn.cli.main import main as cli
from sparsesnn.conversion.convert import convert_run


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dense-run", required=True, help="the dense MLP ANN run of benchmarks/mnist_conversion.py")
    ap.add_argument("--ratio", type=float, default=0.9)
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--max-T", dest="max_T", type=int, default=32)
    ap.add_argument("--cht-results", default="results/mnist_conversion.json")
    ap.add_argument("--runs-dir", default="runs/mnist_depgraph")
    ap.add_argument("--out", default="results/mnist_depgraph.json")
    args = ap.parse_args()
    run = Path(args.runs_dir) / "depgraph"
    with contextlib.redirect_stdout(io.StringIO()):
        if cli(["prune", args.dense_run, "--ratio", str(args.ratio), "--epochs", str(args.epochs), "--out", str(run), "--no-progress"]):
            raise SystemExit("pruning failed")
    summary = json.loads((run / "summary.json").read_text())
    out: dict = {"ann": {k: summary[k] for k in ("test_accuracy", "structured_pruning", "seconds")}}
    cht = json.loads(Path(args.cht_results).read_text())["mlp"]
    for method in ("qcfs", "snm"):
        r = brief(convert_run(run, method, args.max_T, progress=False))
        out[method] = r
        s, d = cht["sparse"][method]["at_saturation"], cht["dense"][method]["at_saturation"]
        out[f"{method}_vs_cht"] = {
            "depgraph_at_saturation": r["at_saturation"], "cht_at_saturation": s, "dense_at_saturation": d,
            "depgraph_energy_over_dense": r["at_saturation"]["energy_mj"] / d["energy_mj"],
            "cht_energy_over_dense": s["energy_mj"] / d["energy_mj"],
            "depgraph_minus_cht_accuracy": r["at_saturation"]["accuracy"] - s["accuracy"],
        }
        print(method, json.dumps(out[f"{method}_vs_cht"]))
    write_results(args.out, out)


if __name__ == "__main__":
    main()
