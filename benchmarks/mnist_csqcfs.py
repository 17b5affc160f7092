"""CS-QCFS's two-stage schedule (issue #4; 003 App. C.3) on the CHTs MNIST MLP: stage 1 trains
layer-wise S-QCFS thresholds with CHT evolving the topology, stage 2 fine-tunes channel-wise
thresholds (and weights) with the topology frozen; both stages converted with CS-QCFS neurons.

    python benchmarks/mnist_csqcfs.py --data-dir ../shared/datasets/mnist --epochs 6 --finetune-epochs 2 --max-T 32 \\
        --out results/mnist_csqcfs.json
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

HERE = Path(__file__).resolve().parent


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data-dir", required=True)
    ap.add_argument("--epochs", type=int, default=6)
    ap.add_argument("--finetune-epochs", type=int, default=2)
    ap.add_argument("--max-T", dest="max_T", type=int, default=32)
    ap.add_argument("--runs-dir", default="runs/mnist_csqcfs")
    ap.add_argument("--out", default="results/mnist_csqcfs.json")
    args = ap.parse_args()
    runs, config = Path(args.runs_dir), str(HERE.parent / "configs" / "cht_ann_mnist.yaml")
    common = ["train", "--config", config, "--data-dir", args.data_dir, "--no-progress"]
    stages = {"stage1_sqcfs": ["--set", "model.activation=sqcfs", "--epochs", str(args.epochs)],
              "stage2_csqcfs": ["--set", "model.activation=csqcfs", "--set", "topology.evolve=false", "--epochs",
                                str(args.finetune_epochs), "--init-from", str(runs / "stage1_sqcfs")]}
    out: dict = {}
    for name, flags in stages.items():
        with contextlib.redirect_stdout(io.StringIO()):
            if cli([*common, *flags, "--out", str(runs / name)]):
                raise SystemExit(f"{name} failed")
        r = brief(convert_run(runs / name, "csqcfs", args.max_T, progress=False))
        out[name] = r
        print(name, "ANN", r["ann_accuracy"], json.dumps(r["at_saturation"]), "T16", json.dumps(r["at_T16"]))
    write_results(args.out, out)


if __name__ == "__main__":
    main()
