"""A small Spikformer trained with CH-SNN on MNIST on a CPU (issue #7): accuracy and sparsity.

    python benchmarks/spikformer_mnist.py --data-dir ../shared/datasets/mnist --out results/spikformer_mnist.json
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from common import write_results

from sparsesnn.training import RunConfig, train

HERE = Path(__file__).resolve().parent


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data-dir", required=True)
    ap.add_argument("--config", default=str(HERE.parent / "configs" / "spikformer_mnist.yaml"))
    ap.add_argument("--runs-dir", default="runs/spikformer_mnist")
    ap.add_argument("--out", default="results/spikformer_mnist.json")
    args = ap.parse_args()
    cfg = RunConfig.from_file(args.config)
    cfg.set("data.data_dir", args.data_dir)
    summary = train(cfg, args.runs_dir, progress=True)
    curve = [json.loads(l) for l in (Path(args.runs_dir) / "metrics.jsonl").read_text().splitlines()]
    summary["curve"] = [{k: r.get(k) for k in ("epoch", "train_loss", "test_accuracy", "link_sparsity", "node_sparsity", "epoch_seconds")} for r in curve]
    summary["config"] = cfg.to_dict()
    write_results(args.out, summary)
    print(json.dumps({k: summary[k] for k in ("test_accuracy", "link_sparsity", "node_sparsity", "epochs", "seconds")}, indent=2))


if __name__ == "__main__":
    main()
