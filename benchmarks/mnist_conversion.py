"""Sparse ANN → sparse SNN on MNIST (issue #4 acceptance runs).

1. CHTs MLP 784-1568-1568-1568-10 at 99 % sparsity and its dense twin (configs/cht_ann_mnist.yaml,
   identical settings), each converted with QCFS and SNM for T = 1..max_T: accuracy vs its ANN,
   energy of sparse vs dense at each method's saturation T (002 §2.3 rule).
2. CHT-Conv small VGG (configs/cht_conv_mnist.yaml) converted with QCFS and DCGS, Pareto plot.

Thresholds are calibrated on training samples; the test set is only evaluated.

    python benchmarks/mnist_conversion.py --data-dir ../shared/datasets/mnist --epochs 6 --conv-epochs 3 --max-T 32 \
        --out results/mnist_conversion.json
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from common import write_results

from sparsesnn.conversion.convert import convert_run
from sparsesnn.conversion.measure import plot_conversion
from sparsesnn.training import RunConfig, train

HERE = Path(__file__).resolve().parent


def _train(config: Path, data_dir: str, run_dir: Path, epochs: int | None, dense: bool, seed: int) -> dict:
    cfg = RunConfig.from_file(config)
    cfg.set("data.data_dir", data_dir)
    cfg.set("train.seed", seed)
    cfg.set("train.dense", dense)
    if epochs is not None:
        cfg.set("train.epochs", epochs)
    return train(cfg, run_dir, progress=False)


def _at(result: dict, T: int | None) -> dict:
    i = (T or result["T"][-1]) - 1
    return {"T": i + 1, "accuracy": result["accuracy"][i], "energy_mj": result["energy_mj_per_sample"][i],
            "sops": result["sops_per_sample"][i], "masfr": result["masfr"][i]}


def brief(r: dict) -> dict:
    keep = ("method", "dense", "ann_accuracy", "saturation_T", "saturation_T_w5", "masfr_saturation_T", "layer_sparsity",
            "T", "accuracy", "sops_per_sample", "macs_per_sample", "energy_mj_per_sample", "masfr", "seconds", "decoding", "time_step")
    return {k: r[k] for k in keep if k in r} | {"at_saturation": _at(r, r["saturation_T"]), "at_T16": _at(r, min(16, r["T"][-1]))}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data-dir", required=True)
    ap.add_argument("--epochs", type=int, help="override the configs' epochs")
    ap.add_argument("--conv-epochs", type=int)
    ap.add_argument("--max-T", type=int, default=64)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--runs-dir", default="runs/mnist_conversion")
    ap.add_argument("--out", default="results/mnist_conversion.json")
    ap.add_argument("--skip-conv", action="store_true")
    args = ap.parse_args()
    runs = Path(args.runs_dir)
    out: dict = {"mlp": {}, "conv": {}}
    for name, dense in (("sparse", False), ("dense", True)):
        summary = _train(HERE.parent / "configs" / "cht_ann_mnist.yaml", args.data_dir, runs / f"mlp_{name}", args.epochs, dense, args.seed)
        out["mlp"][name] = {"ann": {k: summary.get(k) for k in ("test_accuracy", "link_sparsity", "node_sparsity", "seconds")}}
        for method in ("qcfs", "snm"):
            r = convert_run(runs / f"mlp_{name}", method, args.max_T, progress=False)
            out["mlp"][name][method] = brief(r)
            print(name, method, json.dumps(out["mlp"][name][method]["at_saturation"]), "ANN", r["ann_accuracy"])
    comparison = {}
    for method in ("qcfs", "snm"):
        s, d = out["mlp"]["sparse"][method], out["mlp"]["dense"][method]
        comparison[method] = {
            "sparse_energy_over_dense_at_saturation": s["at_saturation"]["energy_mj"] / d["at_saturation"]["energy_mj"],
            "sparse_minus_dense_accuracy_at_saturation": s["at_saturation"]["accuracy"] - d["at_saturation"]["accuracy"],
            "sparse_snn_minus_ann_at_T16": s["at_T16"]["accuracy"] - s["ann_accuracy"],
            "best_sparse_snn_minus_ann_T_le_16": max(s["accuracy"][:16]) - s["ann_accuracy"],
        }
    out["mlp"]["comparison"] = comparison
    plot_conversion([{**out["mlp"][n][m], "label": f"{n} {m}"} for n in ("sparse", "dense") for m in ("qcfs", "snm")],
                    Path(args.out).with_name("mnist_conversion_mlp.png"))
    if not args.skip_conv:
        summary = _train(HERE.parent / "configs" / "cht_conv_mnist.yaml", args.data_dir, runs / "conv_sparse", args.conv_epochs, False, args.seed)
        out["conv"]["ann"] = {k: summary.get(k) for k in ("test_accuracy", "link_sparsity", "seconds")}
        for method in ("qcfs", "dcgs"):
            r = convert_run(runs / "conv_sparse", method, min(args.max_T, 32), batch_size=250, progress=False)
            out["conv"][method] = brief(r)
            print("conv", method, json.dumps(out["conv"][method]["at_saturation"]), "ANN", r["ann_accuracy"])
        plot_conversion([{**out["conv"][m], "label": f"CHT-Conv {m}"} for m in ("qcfs", "dcgs")],
                        Path(args.out).with_name("mnist_conversion_conv.png"))
    write_results(args.out, out)


if __name__ == "__main__":
    main()
