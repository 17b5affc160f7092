"""HRSNN spiking classification on the N-MNIST subset (issue #5): the four STDP heterogeneity
ablations over seeds (ridge and multi-layer §VI.F readouts), and HoNB / HeNB (the recurrent
layer trained by BPTT instead); accuracy, spikes and SOPs per sample.

    python benchmarks/hrsnn_nmnist.py --data-dir ../shared/datasets/n-mnist/NMNISTsmall --neurons 500 --out results/hrsnn_nmnist.json
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from common import write_results

from sparsesnn.recurrent.network import ReservoirConfig
from sparsesnn.recurrent.run import TaskConfig, run_reservoir

KEYS = ("accuracy", "mlp_readout_accuracy", "spikes_per_sample", "sops_per_sample", "synapses", "neurons", "seconds")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data-dir", required=True)
    ap.add_argument("--neurons", type=int, default=500)
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    ap.add_argument("--bptt-seeds", type=int, nargs="+", default=[0, 1], help="HoNB/HeNB seeds (BPTT is ~20x costlier)")
    ap.add_argument("--bptt-epochs", type=int, default=3)
    ap.add_argument("--runs-dir", default="runs/hrsnn_nmnist")
    ap.add_argument("--out", default="results/hrsnn_nmnist.json")
    args = ap.parse_args()
    out: dict = {}
    for name, nh, sh, training in (("HoNHoS", "homo", "homo", "stdp"), ("HeNHoS", "hetero", "homo", "stdp"),
                                   ("HoNHeS", "homo", "hetero", "stdp"), ("HeNHeS", "hetero", "hetero", "stdp"),
                                   ("HoNB", "homo", "homo", "backprop"), ("HeNB", "hetero", "homo", "backprop")):
        task = TaskConfig(task="nmnist", data_dir=args.data_dir, frames=8, training=training, bptt_epochs=args.bptt_epochs)
        seeds = args.seeds if training == "stdp" else args.bptt_seeds
        rows = [{k: s.get(k) for k in KEYS} for seed in seeds
                for s in [run_reservoir(ReservoirConfig(neurons=args.neurons, neuron_het=nh, stdp_het=sh, seed=seed), task,
                                        Path(args.runs_dir) / f"{name}_{seed}")]]
        out[name] = {"runs": rows, **{k: {"mean": float(np.mean(v)), "std": float(np.std(v))}
                                      for k in KEYS for v in [[r[k] for r in rows if r[k] is not None]] if v}}
        print(name, f"accuracy {out[name]['accuracy']['mean']:.3f} ± {out[name]['accuracy']['std']:.3f}",
              f"spikes {out[name]['spikes_per_sample']['mean']:.0f}")
    write_results(args.out, out)


if __name__ == "__main__":
    main()
