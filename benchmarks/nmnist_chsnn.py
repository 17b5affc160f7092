"""CH-SNN 2Conv2FC vs its dense twin on the N-MNIST subset (issue #7 acceptance run).

    python benchmarks/nmnist_chsnn.py --data-dir ../shared/datasets/n-mnist/NMNISTsmall \
        --epochs 30 --out results/nmnist_chsnn.json

Identical settings for both; only the 2560→300 linear layer's topology differs. Final-epoch test
accuracy (the subset's 100 test recordings), SOPs and energy.
"""

from __future__ import annotations

import json
from pathlib import Path

from common import sparse_dense_parser, write_results
from mnist_chsnn import compare

HERE = Path(__file__).resolve().parent


def main() -> None:
    args = sparse_dense_parser(__doc__, HERE.parent / "configs" / "chsnn_nmnist.yaml", 30, 0.9, "nmnist_chsnn").parse_args()
    summaries = compare(args.config, args.data_dir, args.epochs, args.sparsity, args.seed, args.runs_dir)
    write_results(args.out, summaries)
    print(json.dumps(summaries["comparison"], indent=2))


if __name__ == "__main__":
    main()
