"""``sparsesnn`` command line: ``train`` and ``evaluate``."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ..errors import (
    CheckpointError,
    ChecksumError,
    ConfigError,
    DatasetError,
    DatasetNotFoundError,
    TrainingDiverged,
)

# flag → config field; flags win over the config file
_TRAIN_FLAGS = {
    "dataset": "data.dataset",
    "data_dir": "data.data_dir",
    "epochs": "train.epochs",
    "sparsity": "topology.sparsity",
    "seed": "train.seed",
    "batch_size": "data.batch_size",
    "lr": "train.lr",
    "T": "model.T",
    "model": "model.arch",
    "conv_sparsity": "topology.conv_sparsity",
}

# `train --ann`: CHTs (003 App. C: CH2-L3n soft regrowth for linear, CH3-L3n for conv layers,
# magnitude removal) on a QCFS ANN; with --config only model.kind is forced, and --set wins
_ANN_DEFAULTS = {
    "model.kind": "ann",
    "model.weight_init": "swi",
    "topology.removal": "magnitude",
    "topology.regrowth": "ch2_l3n",
    "topology.conv_regrowth": "ch3_l3n",
}


def _add_train(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("train", help="train a sparse (CH-SNN) or dense spiking network")
    p.add_argument("--config", type=Path, help="YAML or TOML config file")
    p.add_argument("--dataset", choices=["digits", "mnist", "fashion_mnist", "cifar10", "cifar100", "nmnist", "shd", "dvs_gesture", "cifar10_dvs"])
    p.add_argument("--model", help="mlp (default), 2conv2fc, 6conv2fc, vgg16, resnet18, spikformer, vit (with --ann) or a layer spec like 15C3-AP2-40C3-AP2-300")
    p.add_argument("--data-dir", dest="data_dir")
    p.add_argument("--download", action="store_true", help="download missing data files (checksum-verified)")
    p.add_argument("--epochs", type=int)
    p.add_argument("--sparsity", type=float, help="link sparsity in [0, 1) of every sparse layer")
    p.add_argument("--seed", type=int)
    p.add_argument("--batch-size", dest="batch_size", type=int)
    p.add_argument("--lr", type=float)
    p.add_argument("--T", type=int, help="time steps")
    p.add_argument("--dense", action="store_true", help="train the fully connected twin")
    p.add_argument("--ann", action="store_true",
                   help="train a sparse ANN for conversion (CHTs, QCFS activation); convert it with `sparsesnn convert`")
    p.add_argument("--conv-sparsity", dest="conv_sparsity", type=float,
                   help="sparsity of convolution kernels (CHT-Conv); default: convolutions stay dense")
    p.add_argument("--set", action="append", default=[], metavar="SECTION.FIELD=VALUE",
                   help="override any config field, e.g. --set topology.regrowth=ch2_l3n")
    p.add_argument("--out", type=Path, help="run directory (required unless --resume)")
    p.add_argument("--resume", type=Path, metavar="RUN_DIR", help="continue RUN_DIR from its last checkpoint; --epochs is the new total")
    p.add_argument("--init-from", dest="init_from", type=Path, metavar="RUN_DIR",
                   help="start from RUN_DIR's trained weights and topology (same architecture), e.g. CS-QCFS stage 2")
    p.add_argument("--no-progress", action="store_true")


def _train(args: argparse.Namespace) -> int:
    from ..training.config import RunConfig
    from ..training.trainer import resume, train

    if args.resume is not None:
        summary = resume(args.resume, args.epochs, progress=not args.no_progress)
        print(json.dumps(summary_view(summary), indent=2))
        return 0
    if args.out is None:
        raise ConfigError("train needs --out RUN_DIR (or --resume RUN_DIR)")

    cfg = RunConfig.from_file(args.config) if args.config else RunConfig()
    if args.ann:
        for key, value in (_ANN_DEFAULTS if args.config is None else {"model.kind": "ann"}).items():
            cfg.set(key, value)
    for item in args.set:
        key, sep, value = item.partition("=")
        if not sep:
            raise ConfigError(f"--set expects SECTION.FIELD=VALUE; got {item!r}")
        cfg.set(key.strip(), value.strip())
    for flag, field in _TRAIN_FLAGS.items():
        value = getattr(args, flag)
        if value is not None:
            cfg.set(field, value)
    if args.download:
        cfg.set("data.download", True)
    if args.dense:
        cfg.set("train.dense", True)
    initial = None
    if args.init_from is not None:
        from ..training.rundir import load_checkpoint

        initial = load_checkpoint(args.init_from / "checkpoint.pt")["model"]
    summary = train(cfg, args.out, progress=not args.no_progress, initial_state=initial)
    print(json.dumps(summary_view(summary), indent=2))
    return 0


def summary_view(summary: dict) -> dict:
    """The headline numbers of a summary (per-layer detail stays in the file)."""
    keys = ("test_accuracy", "link_sparsity", "node_sparsity", "sops_per_sample", "energy_mj_per_sample",
            "firing_rate", "epochs", "seconds")
    return {k: summary[k] for k in keys if k in summary}


def _evaluate(args: argparse.Namespace) -> int:
    from ..atomic import atomic_write_json
    from ..training.trainer import final_report, load_run

    exp = load_run(args.run_dir)
    report = final_report(exp)
    atomic_write_json(Path(args.run_dir) / "evaluation.json", report)
    print(json.dumps(summary_view(report), indent=2))
    return 0


def _analyze(args: argparse.Namespace) -> int:
    from ..analysis.run import analyze_run

    result = analyze_run(args.run_dir, bootstrap=args.bootstrap, robustness_samples=args.robustness_samples)
    brief = {k: result.get(k) for k in ("meta_depth", "modularity", "itop")}
    brief["layers"] = [{k: l.get(k) for k in ("layer", "gamma", "gamma_pvalue", "xmin", "node_sparsity")} for l in result["layers"]]
    print(json.dumps(brief, indent=2))
    return 0


def _report(args: argparse.Namespace) -> int:
    from ..analysis.report import write_report

    print(write_report(args.run_dir, bootstrap=args.bootstrap))
    return 0


def _export(args: argparse.Namespace) -> int:
    from ..export.nir_export import export_nir
    from ..training.trainer import load_run

    print(export_nir(load_run(args.run_dir).model, args.nir))
    return 0


def _sweep(args: argparse.Namespace) -> int:
    from ..training.sweep import SweepConfig, run_sweep

    table = run_sweep(SweepConfig.from_file(args.sweep), workers=args.workers)
    print(table.with_suffix(".md").read_text())
    return 0


def _convert(args: argparse.Namespace) -> int:
    from ..conversion.convert import convert_run

    r = convert_run(args.run_dir, args.method, args.max_T, batch_size=args.batch_size, calib_samples=args.calib_samples,
                    n_thresholds=args.n_thresholds, dcgs_threshold=args.dcgs_threshold, aec_finetune_T=args.aec_T,
                    aec_steps=args.aec_steps, aec_per_T=args.aec_per_T, vit_scale=args.vit_scale, test_limit=args.test_limit, progress=not args.no_progress)
    sat = r["saturation_T"]
    at = (sat or r["T"][-1]) - 1
    print(json.dumps({k: r[k] for k in ("method", "ann_accuracy", "saturation_T", "link_sparsity")} | {
        "accuracy_at_saturation": r["accuracy"][at], "energy_mj_at_saturation": r["energy_mj_per_sample"][at],
        "accuracy_at_max_T": r["accuracy"][-1]}, indent=2))
    return 0


def _prune(args: argparse.Namespace) -> int:
    from ..atomic import atomic_write_json
    from ..layers.sparse_linear import SparseLinks
    from ..models.ann import SparseANN
    from ..topology.structured import magnitude_prune, structured_prune
    from ..training.trainer import load_run, train

    exp = load_run(args.run_dir)
    if not isinstance(exp.model, SparseANN):
        raise ConfigError(f"{args.run_dir} holds a spiking network; prune needs a dense ANN run (sparsesnn train --ann --dense)")
    cfg = exp.config
    if args.ratio is not None:
        model, sparsity = structured_prune(exp.model, args.ratio, exp.model.batch_input(exp.train.x[:8], False))
        cfg.model = model.config
        key, record = "structured_pruning", {"method": "DepGraph (torch-pruning), group L2", "ratio": args.ratio}
    else:  # one-shot magnitude pruning, topology kept static while fine-tuning
        model = magnitude_prune(exp.model, args.sparsity, args.conv_sparsity)
        sparsity = [1.0 - s.density if isinstance(s, SparseLinks) else 0.0 for s in model.synapses]
        for field, value in (("train.dense", False), ("topology.sparsity", args.sparsity),
                             ("topology.conv_sparsity", args.conv_sparsity), ("topology.evolve", False)):
            cfg.set(field, value)
        key, record = "magnitude_pruning", {"method": "one-shot magnitude pruning, static topology", "sparsity": args.sparsity,
                                            "conv_sparsity": args.conv_sparsity}
    cfg.set("train.epochs", args.epochs)
    if args.lr is not None:
        cfg.set("train.lr", args.lr)
    summary = train(cfg, args.out, progress=not args.no_progress, initial_state=model.state_dict())
    summary.update({key: {"source_run": str(args.run_dir), **record, "layer_link_sparsity_vs_source": sparsity}})
    atomic_write_json(Path(args.out) / "summary.json", summary)
    print(json.dumps({"test_accuracy": summary["test_accuracy"], "layer_link_sparsity_vs_source": sparsity}, indent=2))
    return 0


def _reservoir_configs(args: argparse.Namespace):
    """(ReservoirConfig, TaskConfig) from ``--config`` (sections 'reservoir' and 'task') and flags."""
    import yaml

    from ..recurrent.run import TaskConfig, reservoir_config

    raw = yaml.safe_load(args.config.read_text()) if args.config else {}
    if not isinstance(raw, dict):
        raise ConfigError(f"{args.config}: expected a mapping with 'reservoir' and 'task' sections")
    try:
        flags = {f: getattr(args, f) for f in ("task", "data_dir", "training", "windows", "observed") if getattr(args, f, None) is not None}
        task = TaskConfig(**{**raw.get("task", {}), **flags})
        # the task decides the defaults the reservoir section and flags override
        net = reservoir_config(task.task, **raw.get("reservoir", {}))
    except TypeError as exc:
        raise ConfigError(f"{args.config}: {exc}") from None
    for field in ("neurons", "neuron_het", "stdp_het", "seed"):
        if getattr(args, field) is not None:
            setattr(net, field, getattr(args, field))
    return net.validate(), task


def _reservoir(args: argparse.Namespace) -> int:
    from ..recurrent.run import run_reservoir

    summary = run_reservoir(*_reservoir_configs(args), args.out)
    keys = ("accuracy", "spikes_per_sample", "sops_per_sample") if "accuracy" in summary else (
        "nrmse", "vpt", "vpt_lyapunov_times", "memory_capacity", "spike_efficiency", "sops_per_step")
    print(json.dumps({k: summary[k] for k in (*keys, "synapses", "neurons")}, indent=2))
    return 0


def _bayesopt(args: argparse.Namespace) -> int:
    from ..recurrent.bo_run import run_bayesopt
    from ..recurrent.run import CLASSIFICATION

    net, task = _reservoir_configs(args)
    objective = args.objective or ("val_accuracy" if task.task in CLASSIFICATION else "efficiency")
    s = run_bayesopt(net, task, args.out, objective, args.init, args.iterations, args.seeds_per_eval)
    print(json.dumps({k: s[k] for k in ("objective", "best_objective", "best_of_init", "best_params", "test")}, indent=2))
    return 0


def _lnp(args: argparse.Namespace) -> int:
    from ..recurrent.lnp import LNPConfig
    from ..recurrent.lnp_run import run_lnp
    from ..recurrent.run import load_reservoir_run

    cfg = LNPConfig(seed=load_reservoir_run(args.run_dir)[1].seed, retrain_epochs=args.retrain_epochs) if args.retrain_epochs else None
    s = run_lnp(args.run_dir, args.iterations, cfg, target_neuron_sparsity=args.target_neuron_sparsity,
                target_synapse_sparsity=args.target_synapse_sparsity)
    print(json.dumps({k: {m: s[k][m] for m in ("neurons", "synapses", "nrmse", "sop_ratio")}
                      for k in ("unpruned", "lnp", "activity_pruning", "random", "random_matched", "no_recurrence")}, indent=2))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="sparsesnn", description="Ultra-sparse spiking neural networks")
    sub = parser.add_subparsers(dest="command", required=True)
    _add_train(sub)
    p = sub.add_parser("evaluate", help="re-evaluate a run directory's checkpoint on its test set")
    p.add_argument("run_dir", type=Path)
    p = sub.add_parser("analyze", help="topology statistics, embedding and robustness → RUN_DIR/analysis.json")
    p.add_argument("run_dir", type=Path)
    p.add_argument("--bootstrap", type=int, default=100, help="bootstrap samples of the power-law p-value")
    p.add_argument("--robustness-samples", type=int, default=2000, help="test samples used for the noise table")
    p = sub.add_parser("report", help="HTML report with figures → RUN_DIR/report/index.html")
    p.add_argument("run_dir", type=Path)
    p.add_argument("--bootstrap", type=int, default=100)
    p = sub.add_parser("export", help="export a trained run (NIR graph with the sparse topology)")
    p.add_argument("run_dir", type=Path)
    p.add_argument("--nir", type=Path, required=True, metavar="OUT.nir")
    p = sub.add_parser("convert", help="convert a sparse ANN run to an SNN → RUN_DIR/conversion-METHOD.json")
    p.add_argument("run_dir", type=Path)
    p.add_argument("--method", required=True, choices=["qcfs", "csqcfs", "snm", "aec", "dcgs"])
    p.add_argument("--max-T", dest="max_T", type=int, default=64, help="simulate T = 1..max-T (one run)")
    p.add_argument("--batch-size", dest="batch_size", type=int, default=500)
    p.add_argument("--calib-samples", dest="calib_samples", type=int, default=2000, help="training samples for thresholds")
    p.add_argument("--n-thresholds", dest="n_thresholds", type=int, default=4, help="DCGS multi-threshold levels")
    p.add_argument("--dcgs-threshold", dest="dcgs_threshold", default="auto", choices=["auto", "percentile", "var"])
    p.add_argument("--aec-T", dest="aec_T", type=int, default=8, help="AEC window used for threshold fine-tuning")
    p.add_argument("--aec-steps", dest="aec_steps", type=int, default=300, help="AEC fine-tuning steps (0: none)")
    p.add_argument("--aec-per-T", dest="aec_per_T", action="store_true",
                   help="fine-tune AEC's parameters separately for every window T = 1..max-T (max-T × the cost)")
    p.add_argument("--vit-scale", dest="vit_scale", type=float, default=4.0,
                   help="ViT (DCGS): thresholds = this × the channel 99.9th percentile (003 App. C.4: 4, with --n-thresholds 8)")
    p.add_argument("--test-limit", dest="test_limit", type=int, help="evaluate on the first N test samples")
    p.add_argument("--no-progress", action="store_true")
    p = sub.add_parser("prune", help="post-training pruning of a dense ANN run (DepGraph structured, or one-shot magnitude), then fine-tuning → OUT")
    p.add_argument("run_dir", type=Path)
    how = p.add_mutually_exclusive_group(required=True)
    how.add_argument("--ratio", type=float, help="structured (DepGraph): fraction of neurons/channels removed per layer (0.9 → 1 %% of hidden links)")
    how.add_argument("--sparsity", type=float, help="unstructured one-shot magnitude pruning of every linear layer but the output")
    p.add_argument("--conv-sparsity", dest="conv_sparsity", type=float, help="with --sparsity: kernel sparsity of convolutions")
    p.add_argument("--epochs", type=int, default=2, help="fine-tuning epochs")
    p.add_argument("--lr", type=float, help="fine-tuning learning rate (default: the source run's)")
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--no-progress", action="store_true")
    for name, text in (("reservoir", "HRSNN: build, STDP-train, ridge readout, chaotic prediction → RUN_DIR/summary.json"),
                       ("bayesopt", "Bayesian optimisation of a reservoir's parameter distributions → RUN_DIR/bo.jsonl, best.yaml")):
        p = sub.add_parser(name, help=text)
        p.add_argument("--config", type=Path, help="YAML with 'reservoir' and 'task' sections")
        p.add_argument("--task", choices=["lorenz63", "lorenz96", "rossler", "nmnist", "shd", "dvs_gesture"],
                       help="a chaotic system to predict or an event data set to classify (needs --data-dir)")
        p.add_argument("--data-dir", dest="data_dir", help="folder of the event data set (classification tasks)")
        p.add_argument("--training", choices=["stdp", "backprop"],
                       help="classification: STDP + readouts, or BPTT of the recurrent layer (HoNB/HeNB)")
        p.add_argument("--neurons", type=int)
        p.add_argument("--neuron-het", dest="neuron_het", choices=["homo", "hetero"])
        p.add_argument("--stdp-het", dest="stdp_het", choices=["homo", "hetero"])
        p.add_argument("--seed", type=int)
        p.add_argument("--out", type=Path, required=True)
    sub.choices["reservoir"].add_argument(
        "--windows", type=int, help="prediction: closed-loop windows after the training stretch (summary: window 0's "
                                    "nrmse/vpt, and nrmse_windows/vpt_windows over all; default 1)")
    sub.choices["reservoir"].add_argument(
        "--observed", type=int, nargs="+", metavar="I",
        help="prediction: indices of the variables fed in and predicted (default: all; '--observed 0' is Lorenz63's x "
             "alone, which the network must remember its way to y and z from)")
    p.add_argument("--objective", choices=["efficiency", "val_nrmse", "val_accuracy"],
                   help="prediction: spike efficiency (004 eq. 10, default) or closed-loop NRMSE on a validation stretch of the "
                        "training series; classification: accuracy on a validation fifth of the training set (default)")
    p.add_argument("--init", type=int, default=8, help="Sobol points before the GP takes over")
    p.add_argument("--iterations", type=int, default=20, help="expected-improvement steps")
    p.add_argument("--seeds-per-eval", dest="seeds_per_eval", type=int, default=2, help="reservoirs averaged per evaluation")
    p = sub.add_parser("lnp", help="Lyapunov noise pruning of a reservoir run → RUN_DIR/lnp.jsonl")
    p.add_argument("run_dir", type=Path)
    p.add_argument("--iterations", type=int, default=10)
    p.add_argument("--target-neuron-sparsity", dest="target_neuron_sparsity", type=float, default=0.4)
    p.add_argument("--target-synapse-sparsity", dest="target_synapse_sparsity", type=float, default=0.5)
    p.add_argument("--retrain-epochs", dest="retrain_epochs", type=int, default=0,
                   help="STDP passes every compared network gets before its readout (004 §VI.F); 0: read out as pruned")
    p = sub.add_parser("sweep", help="grid/TPE search over config fields with Optuna (parallel workers)")
    p.add_argument("sweep", type=Path, help="sweep YAML: study, out, grid, base_config, overrides, objective")
    p.add_argument("--workers", type=int, default=1, help="local worker processes sharing the study storage")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    handlers = {"train": _train, "evaluate": _evaluate, "analyze": _analyze, "report": _report, "export": _export, "sweep": _sweep,
                "convert": _convert, "prune": _prune, "reservoir": _reservoir, "bayesopt": _bayesopt, "lnp": _lnp}
    try:
        return handlers[args.command](args)
    except (ConfigError, DatasetError, DatasetNotFoundError, ChecksumError, TrainingDiverged, CheckpointError, ImportError,
            FileNotFoundError, ValueError) as exc:
        print(f"sparsesnn {args.command}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
