"""CH-SNN vs its dense FC twin on MNIST, 784-1568-10, T = 8 (issue #2 acceptance run).

Both runs share every setting (config file, epochs, seed); only the topology differs. Test
accuracy is the final epoch's — nothing is selected on the test set.

    python benchmarks/mnist_chsnn.py --data-dir ../shared/datasets/mnist --epochs 20 \
        --out results/mnist_chsnn.json
"""

from __future__ import annotations

import json
from pathlib import Path

from common import sparse_dense_parser, write_results

from sparsesnn.training import RunConfig, train

HERE = Path(__file__).resolve().parent


def compare(config: str, data_dir: str, epochs: int, sparsity: float, seed: int, runs_dir: str) -> dict:
    """Train the sparse network and its dense twin with identical settings; both summaries plus
    the comparison of accuracy, SOPs and energy."""
    summaries = {}
    for name, dense in (("sparse", False), ("dense", True)):
        cfg = RunConfig.from_file(config)
        cfg.set("data.data_dir", data_dir)
        cfg.set("train.epochs", epochs)
        cfg.set("train.seed", seed)
        cfg.set("topology.sparsity", sparsity)
        cfg.set("train.dense", dense)
        run_dir = Path(runs_dir) / name
        summary = train(cfg, run_dir, progress=True)
        curve = [json.loads(l) for l in (run_dir / "metrics.jsonl").read_text().splitlines()]
        summary["curve"] = [
            {k: r.get(k) for k in ("epoch", "train_loss", "test_accuracy", "link_sparsity", "node_sparsity", "epoch_seconds", "topology_seconds")}
            for r in curve
        ]
        summaries[name] = summary
        print(name, json.dumps({k: summary[k] for k in ("test_accuracy", "link_sparsity", "sops_per_sample", "seconds")}))
    s, d = summaries["sparse"], summaries["dense"]
    summaries["comparison"] = {
        "accuracy_sparse_minus_dense": s["test_accuracy"] - d["test_accuracy"],
        "sops_ratio_sparse_over_dense": s["sops_per_sample"] / d["sops_per_sample"],
        "energy_ratio_sparse_over_dense": s["energy_mj_per_sample"] / d["energy_mj_per_sample"],
    }
    return summaries


def main() -> None:
    args = sparse_dense_parser(__doc__, HERE.parent / "configs" / "chsnn_mnist.yaml", 20, 0.975, "mnist_chsnn").parse_args()

    summaries = compare(args.config, args.data_dir, args.epochs, args.sparsity, args.seed, args.runs_dir)
    s, d = summaries["sparse"], summaries["dense"]
    comparison = {
        **summaries["comparison"],
        "targets": {
            "sparse_accuracy_ge_0.980": s["test_accuracy"] >= 0.980,
            "sparse_ge_dense_minus_0.002": s["test_accuracy"] >= d["test_accuracy"] - 0.002,
            "sparse_sops_le_10pct_dense": s["sops_per_sample"] <= 0.10 * d["sops_per_sample"],
            "hidden_sparsity_ge_0.975": s["link_sparsity"] >= 0.975 - 1e-6,
        },
    }
    write_results(args.out, {"sparse": s, "dense": d, "comparison": comparison})
    print(json.dumps(comparison, indent=2))


if __name__ == "__main__":
    main()
