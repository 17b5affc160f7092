"""S-TP 3FC with and without CH-SNN: the columns of 001 Table 2 (issue #7), on MNIST or, with
``--config configs/stp_nmnist.yaml``, on N-MNIST.

    python benchmarks/stp_mnist.py --data-dir ../shared/datasets/mnist --out results/stp_mnist.json
    python benchmarks/stp_mnist.py --config configs/stp_nmnist.yaml --data-dir ../shared/datasets/n-mnist/NMNISTsmall \
        --epochs 20 --out results/stp_nmnist.json

Spike count and SOPs are totals over the test set, as in Table 2; energy at 1.5 pJ/SOP.
"""

from __future__ import annotations

import json
from pathlib import Path

from common import sparse_dense_parser, write_results
from mnist_chsnn import compare

from sparsesnn.data import load_dataset
from sparsesnn.training import RunConfig

HERE = Path(__file__).resolve().parent


def main() -> None:
    args = sparse_dense_parser(__doc__, HERE.parent / "configs" / "stp_mnist.yaml", 5, 0.95, "stp_mnist").parse_args()
    runs = compare(args.config, args.data_dir, args.epochs, args.sparsity, args.seed, args.runs_dir)
    data = RunConfig.from_file(args.config).data
    n_test = len(load_dataset(data.dataset, args.data_dir, T=RunConfig.from_file(args.config).model.T, downsample=data.downsample)[1])
    table = [
        {"network": name, "spike_count": runs[key]["spikes_per_sample"] * n_test, "sops": runs[key]["sops_per_sample"] * n_test,
         "firing_rate": runs[key]["firing_rate"], "link_sparsity": runs[key]["link_sparsity"],
         "node_sparsity": runs[key]["node_sparsity"], "accuracy": runs[key]["test_accuracy"],
         "energy_mj": runs[key]["energy_mj_per_sample"] * n_test}
        for name, key in (("FC", "dense"), ("CH-SNN", "sparse"))
    ]
    write_results(args.out, {f"table2_{data.dataset}": table, "test_samples": n_test, **runs})
    print(json.dumps(table, indent=2))


if __name__ == "__main__":
    main()
