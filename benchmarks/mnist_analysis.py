"""Network analysis and robustness of the CH-SNN MNIST run next to its dense twin (issue #6).

    python benchmarks/mnist_analysis.py --sparse RUN_DIR --dense RUN_DIR --out results/mnist_analysis.json

Both run directories come from benchmarks/mnist_chsnn.py. The sparse run's layer statistics and
meta-depth are reported next to a random sparse network of equal density; robustness uses the
same noise draws for both models.
"""

from __future__ import annotations

import argparse

from common import write_results

from sparsesnn.analysis.report import write_report
from sparsesnn.analysis.run import analyze_run


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sparse", required=True)
    ap.add_argument("--dense", required=True)
    ap.add_argument("--bootstrap", type=int, default=100)
    ap.add_argument("--robustness-samples", type=int, default=2000)
    ap.add_argument("--out", default="results/mnist_analysis.json")
    args = ap.parse_args()
    sparse = analyze_run(args.sparse, args.bootstrap, args.robustness_samples)
    dense = analyze_run(args.dense, args.bootstrap, args.robustness_samples)
    write_report(args.sparse)
    table = [
        {"noise": s["noise"], "ratio": s["ratio"], "sparse_accuracy": s["accuracy"], "sparse_rpdr": s["rpdr"],
         "dense_accuracy": d["accuracy"], "dense_rpdr": d["rpdr"]}
        for s, d in zip(sparse["robustness"], dense["robustness"])
    ]
    keys = ("layers", "meta_depth", "kruskal_pvalue", "mean_radius_by_layer", "modularity", "embedded_nodes")
    write_results(args.out, {
        "sparse_topology": {k: sparse.get(k) for k in keys},
        "random_equal_density": {k: sparse["random_baseline"].get(k) for k in keys},
        "robustness_sparse_vs_dense": table,
        "robustness_samples": sparse["robustness_samples"],
    })
    for row in table:
        print(row)


if __name__ == "__main__":
    main()
