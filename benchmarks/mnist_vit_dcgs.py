"""Sparse ViT → sparse SNN with DCGS on MNIST (issue #4: the ViT row of 003 Table 4 at CPU scale).

A CHTs ViT (configs/vit_ann_mnist.yaml: D = 64, 4 heads, 2 blocks, block linears 90 % sparse) and
its dense twin, identical settings, each converted with DCGS (signed multi-threshold neurons,
n = 8 levels, thresholds 4 × the channel 99.9th percentile of training activations: 003 App.
C.4) for T = 1..max_T. Reported: accuracy vs the ANN on the same test samples, energy of sparse
vs dense at T = 8 (003 reports ViT at T = 8) and at saturation, operations by kind.

    python benchmarks/mnist_vit_dcgs.py --data-dir ../shared/datasets/mnist --epochs 10 --max-T 16 --test-limit 2000 \
        --out results/mnist_vit_dcgs.json
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from common import write_results
from mnist_conversion import _at, _train, brief

from sparsesnn.conversion.convert import convert_run
from sparsesnn.conversion.measure import plot_conversion

HERE = Path(__file__).resolve().parent


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data-dir", required=True)
    ap.add_argument("--config", default=str(HERE.parent / "configs" / "vit_ann_mnist.yaml"))
    ap.add_argument("--epochs", type=int)
    ap.add_argument("--max-T", type=int, default=16)
    ap.add_argument("--n-thresholds", type=int, default=8)
    ap.add_argument("--scale", type=float, default=4.0)
    ap.add_argument("--test-limit", type=int, help="simulate the SNNs on the first N test images (the ANN is scored on the same N)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--runs-dir", default="runs/mnist_vit_dcgs")
    ap.add_argument("--out", default="results/mnist_vit_dcgs.json")
    args = ap.parse_args()
    runs = Path(args.runs_dir)
    out: dict = {}
    for name, dense in (("sparse", False), ("dense", True)):
        summary = _train(Path(args.config), args.data_dir, runs / name, args.epochs, dense, args.seed)
        r = convert_run(runs / name, "dcgs", args.max_T, batch_size=100, n_thresholds=args.n_thresholds, vit_scale=args.scale,
                        test_limit=args.test_limit, progress=False)
        out[name] = {"ann": {k: summary.get(k) for k in ("test_accuracy", "link_sparsity", "node_sparsity", "seconds")},
                     "dcgs": brief(r) | {"at_T8": _at(r, min(8, args.max_T)), "ops_per_sample": r["ops_per_sample"],
                                         "test_samples": r["test_samples"], "dcgs_threshold": r["dcgs_threshold"]}}
        print(name, "ANN", r["ann_accuracy"], "T=8", json.dumps(out[name]["dcgs"]["at_T8"]))
    s, d = out["sparse"]["dcgs"], out["dense"]["dcgs"]
    out["comparison"] = {
        "sparse_energy_over_dense_at_T8": s["at_T8"]["energy_mj"] / d["at_T8"]["energy_mj"],
        "sparse_energy_over_dense_at_saturation": s["at_saturation"]["energy_mj"] / d["at_saturation"]["energy_mj"],
        "sparse_minus_dense_snn_accuracy_at_T8": s["at_T8"]["accuracy"] - d["at_T8"]["accuracy"],
        "sparse_snn_minus_ann_at_T8": s["at_T8"]["accuracy"] - s["ann_accuracy"],
        "dense_snn_minus_ann_at_T8": d["at_T8"]["accuracy"] - d["ann_accuracy"],
    }
    print(json.dumps(out["comparison"], indent=2))
    plot_conversion([{**out[n]["dcgs"], "label": f"{n} ViT DCGS"} for n in ("sparse", "dense")], Path(args.out).with_name("mnist_vit_dcgs.png"))
    write_results(args.out, out)


if __name__ == "__main__":
    main()
