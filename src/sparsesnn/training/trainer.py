"""CH-SNN training loop: surrogate-gradient BPTT epochs, each followed by a topology update.

data → model → trainer ↔ topology engine → metrics → run directory.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass
from pathlib import Path

import torch
import yaml
from tqdm.auto import tqdm

from ..data import Split, load_dataset, train_val_split
from ..energy.recorder import ActivityRecorder
from ..errors import TrainingDiverged
from ..data import IMAGE_SHAPES
from ..layers.sparse_linear import SparseLinear
from ..models import build_model
from ..models.net import SpikingNet
from ..neurons import encoders
from ..topology.engine import TopologyEngine
from ..topology.weight_init import temporal_sparsity
from . import distributed
from .config import RunConfig
from .metrics import evaluate
from ..atomic import atomic_write_bytes, atomic_write_json
from .rundir import (
    append_jsonl,
    load_checkpoint,
    read_jsonl,
    save_checkpoint,
    versions,
)

CHECKPOINT = "checkpoint.pt"


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("train.device is cuda but no CUDA device is available")
    return torch.device(name)


@dataclass
class Experiment:
    """Everything a run is made of, built from a :class:`RunConfig`."""

    config: RunConfig
    train: Split
    val: Split | None
    test: Split
    model: SpikingNet
    engine: TopologyEngine | None
    optimizer: torch.optim.Optimizer
    scheduler: torch.optim.lr_scheduler.LRScheduler
    device: torch.device
    ctx: distributed.Context


def _first_layer_inputs(cfg: RunConfig, train: Split, model: SpikingNet) -> torch.Tensor:
    """Observations of the first layer's input, for SSCTI and SSWI's S_t: ``[n, M]`` analog
    samples or ``[T, n, M]`` spike trains (every (sample, step) an observation, 001 A.4)."""
    n = min(len(train), cfg.train.sscti_samples)
    x = model.batch_input(train.x[torch.randperm(len(train), generator=torch.Generator().manual_seed(cfg.train.seed))[:n]], train.events)
    if train.events:
        return x.reshape(x.shape[0], n, -1)
    x = x.reshape(n, -1)
    enc = cfg.model.encoding
    if enc == "poisson":
        return encoders.poisson(x, cfg.model.T, torch.Generator().manual_seed(cfg.train.seed))
    if enc == "latency":
        return encoders.latency(x, cfg.model.T)
    return x  # direct: T identical copies carry no extra correlation information


def build(cfg: RunConfig, initialise: bool = True) -> Experiment:
    """Load data and build model, topology engine and optimizer (seeded, deterministic)."""
    cfg.validate()
    torch.manual_seed(cfg.train.seed)
    device = resolve_device(cfg.train.device)
    train_all, test = load_dataset(cfg.data.dataset, cfg.data.data_dir, cfg.data.download, cfg.model.T, cfg.data.downsample)
    train, val = train_val_split(train_all, cfg.data.val_fraction, cfg.train.seed)
    if cfg.data.train_limit is not None and cfg.data.train_limit < len(train):
        pick = torch.randperm(len(train), generator=torch.Generator().manual_seed(cfg.train.seed + 1))
        train = train.subset(pick[: cfg.data.train_limit])
    sample = tuple(train.x.shape[2:] if train.events else train.x.shape[1:])
    if cfg.model.arch == "mlp":  # flat features; conv nets and Spikformer take images
        input_shape: tuple[int, ...] = (math.prod(sample),)
    else:
        input_shape = IMAGE_SHAPES.get(cfg.data.dataset, sample) if len(sample) == 1 else sample
    n_classes = int(max(train.y.max(), test.y.max())) + 1
    sparse = not cfg.train.dense
    top = cfg.topology
    s0 = (top.initial_sparsity if top.initial_sparsity is not None else top.sparsity) if sparse else None
    conv_s0 = None
    if sparse and top.conv_sparsity is not None:
        conv_s0 = min(top.conv_sparsity, top.initial_sparsity) if top.initial_sparsity is not None else top.conv_sparsity
    model = build_model(input_shape, n_classes, cfg.model, sparsity=s0, conv_sparsity=conv_s0)
    engine = None
    if sparse:
        engine = TopologyEngine(model.sparse_layers(), top, total_updates=cfg.train.epochs, chains=model.chains(), seed=cfg.train.seed)
    if initialise:
        inputs = _first_layer_inputs(cfg, train, model)
        if engine is not None:
            # SSCTI needs the correlations of the layer's own inputs: only an input layer has them
            first_sparse = isinstance(getattr(model, "synapses", [None])[0], SparseLinear)
            engine.initialize(inputs, sscti_layer=0 if first_sparse else None)
        model.init_weights(temporal_sparsity(inputs))
    model.to(device)
    t = cfg.train
    params = model.parameters()
    # foreach: one call per step for all tensors instead of a Python loop over them (~0.3 ms a step
    # of a sparse MNIST net on CPU, where it is not the default), element for element the same
    # arithmetic (bit-identical updates: tests/test_cli.py)
    if t.optimizer == "sgd":
        opt = torch.optim.SGD(params, lr=t.lr, momentum=t.momentum, weight_decay=t.weight_decay, foreach=True)
    elif t.optimizer == "adamw":
        opt = torch.optim.AdamW(params, lr=t.lr, weight_decay=t.weight_decay, foreach=True)
    else:
        opt = torch.optim.Adam(params, lr=t.lr, weight_decay=t.weight_decay, foreach=True)
    if t.lr_schedule == "cosine":
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=t.epochs)
    else:
        sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda _: 1.0)
    return Experiment(cfg, train, val, test, model, engine, opt, sched, device, distributed.setup(device))


def _train_epoch(exp: Experiment, generator: torch.Generator, progress: bool, epoch: int) -> dict:
    model, opt, ctx = exp.model, exp.optimizer, exp.ctx
    model.train()
    n_batches = math.ceil(len(exp.train) / exp.config.data.batch_size)
    track = exp.engine is not None and exp.engine.needs_dense_grad
    total_loss, correct, n = 0.0, 0, 0
    bar = tqdm(
        exp.train.batches(exp.config.data.batch_size, shuffle=True, generator=generator),
        total=n_batches, desc=f"epoch {epoch + 1}", leave=False, disable=not (progress and ctx.is_main),
    )
    for b, (x, y) in enumerate(bar):
        if len(y) < ctx.world:  # a tail batch too small to give every rank a row
            continue
        n_global = len(y)
        x, y = distributed.shard(ctx, x.to(exp.device), y.to(exp.device))
        x = model.batch_input(x, exp.train.events)
        if track and b == n_batches - 1:
            for layer in model.sparse_layers():  # RigL: dense gradient of the last batch
                layer.track_dense_grad = True
        if exp.config.train.method == "stp":
            logits, loss = _stp_loss(model, x, y, exp.config.train.stp_window, generator)
            loss = loss / n_global
        else:
            logits = model(x)
            # sum / global batch size: summed over ranks this is the single-process batch mean
            loss = torch.nn.functional.cross_entropy(logits, y, reduction="sum") / n_global
        (global_loss,) = distributed.sum_values(ctx, loss.item())
        if not math.isfinite(global_loss):
            raise TrainingDiverged(
                f"loss became {global_loss} at epoch {epoch + 1}, batch {b + 1}; "
                "the last good checkpoint is kept — lower train.lr or check the data"
            )
        opt.zero_grad(set_to_none=True)
        loss.backward()
        distributed.sum_gradients(ctx, model)
        opt.step()
        if track and b == n_batches - 1:
            for layer in model.sparse_layers():
                layer.track_dense_grad = False
        total_loss += global_loss * n_global
        correct += int((logits.argmax(1) == y).sum())
        n += n_global
        bar.set_postfix(loss=f"{total_loss / n:.4f}")
    (correct,) = distributed.sum_values(ctx, correct)
    return {"train_loss": total_loss / n, "train_accuracy": correct / n}


def _stp_loss(model: SpikingNet, x: torch.Tensor, y: torch.Tensor, window: int, generator: torch.Generator):
    """Sparse target propagation (S-TP, 001 §4.2 / A.5; Zhang et al. 2024a), as reconstructed here.

    The paper fixes a target window of 4 steps, threshold 4, lr 1e-4, batch 100 and 3FC
    networks; the rest is our choice: one window of ``window`` consecutive steps is drawn at
    random per batch; the target inside it is a spike at every step from the correct output
    neuron and silence from the others; the loss is the squared spike error summed over the
    window (per sample), and BPTT is truncated at the window start, so only the spikes inside
    the window carry learning signal (``window / T`` of them). Returns (logits, summed loss).
    """
    T = model.config.T
    t0 = int(torch.randint(0, T - window + 1, (1,), generator=generator))
    lifs = list(model.neurons)
    for lif in lifs:
        lif.grad_start = t0
    try:
        out = model.forward_sequence(x)  # [T, B, C] output spikes
    finally:
        for lif in lifs:
            lif.grad_start = 0
    target = torch.nn.functional.one_hot(y, out.shape[-1]).to(out.dtype)
    loss = (out[t0 : t0 + window] - target).square().sum()
    return out.mean(0), loss


def final_report(exp: Experiment) -> dict:
    """Test accuracy with SOPs, energy and firing statistics measured on the test set."""
    if not getattr(exp.model, "spiking", True):  # an ANN: energy belongs to its converted SNN
        test = evaluate(exp.model, exp.test, exp.config.data.batch_size, exp.device)
        energy = {}
    else:
        rec = ActivityRecorder()
        test = evaluate(exp.model, exp.test, exp.config.data.batch_size, exp.device, rec)
        energy = rec.report(exp.model.out_degrees())
    return {"test_accuracy": test["accuracy"], "test_loss": test["loss"], **exp.model.structure(), **energy}


def _save(exp: Experiment, run_dir: Path, epoch: int, generator: torch.Generator) -> None:
    save_checkpoint(
        {
            "epoch": epoch,
            "model": exp.model.state_dict(),
            "optimizer": exp.optimizer.state_dict(),
            "scheduler": exp.scheduler.state_dict(),
            "engine": exp.engine.state_dict() if exp.engine is not None else None,
            "batch_generator": generator.get_state(),
            "torch_rng": torch.get_rng_state(),
        },
        run_dir / CHECKPOINT,
    )


def train(cfg: RunConfig, run_dir: str | Path, progress: bool = True, initial_state: dict | None = None) -> dict:
    """Train a model and write the run directory; returns the summary. ``initial_state``
    (a state dict of the same architecture) replaces the initial weights (fine-tuning)."""
    run_dir = Path(run_dir)
    exp = build(cfg)
    if initial_state is not None:
        try:
            exp.model.load_state_dict(initial_state)
        except RuntimeError as exc:
            raise ValueError(f"the initial weights do not fit this model's architecture: {exc}") from None
    if exp.ctx.is_main:
        run_dir.mkdir(parents=True, exist_ok=True)
        (run_dir / "metrics.jsonl").unlink(missing_ok=True)
        _write_config(run_dir, cfg)
        atomic_write_json(run_dir / "versions.json", {**versions(), "seed": cfg.train.seed, "world_size": exp.ctx.world})
    return _run_epochs(exp, run_dir, torch.Generator().manual_seed(cfg.train.seed), 0, progress)


def resume(run_dir: str | Path, epochs: int | None = None, progress: bool = True) -> dict:
    """Continue a run from its last checkpoint up to ``epochs`` in total (default: the config's).

    Model, masks, optimizer, LR scheduler, topology engine and every random stream are restored,
    so a run killed and resumed ends bit-identical to an uninterrupted one with the same total.
    A different total re-derives the epoch-based schedules (cosine LR and ζ) for the new length.
    """
    run_dir = Path(run_dir)
    cfg = RunConfig.from_file(run_dir / "config.yaml")
    if epochs is not None:
        cfg.set("train.epochs", epochs)
    exp = build(cfg, initialise=False)
    state = load_checkpoint(run_dir / CHECKPOINT)
    done = int(state["epoch"])
    if cfg.train.epochs < done:
        raise ValueError(f"--epochs {cfg.train.epochs} is below the {done} epochs already trained in {run_dir}")
    exp.model.load_state_dict(state["model"])
    exp.optimizer.load_state_dict(state["optimizer"])
    exp.scheduler.load_state_dict(state["scheduler"])
    if hasattr(exp.scheduler, "T_max"):
        exp.scheduler.T_max = cfg.train.epochs
    if exp.engine is not None:
        exp.engine.load_state_dict(state["engine"])
    generator = torch.Generator()
    generator.set_state(state["batch_generator"])
    torch.set_rng_state(state["torch_rng"])
    # epochs logged after the checkpoint was taken are redone
    if exp.ctx.is_main:
        kept = [r for r in read_jsonl(run_dir / "metrics.jsonl") if r["epoch"] <= done]
        atomic_write_bytes(run_dir / "metrics.jsonl", "".join(json.dumps(r, sort_keys=True) + "\n" for r in kept).encode())
        _write_config(run_dir, cfg)
    return _run_epochs(exp, run_dir, generator, done, progress)


def _write_config(run_dir: Path, cfg: RunConfig) -> None:
    atomic_write_bytes(run_dir / "config.yaml", yaml.safe_dump(cfg.to_dict(), sort_keys=False).encode())


def _run_epochs(exp: Experiment, run_dir: Path, generator: torch.Generator, first: int, progress: bool) -> dict:
    try:
        return _epochs(exp, run_dir, generator, first, progress)
    finally:
        distributed.teardown(exp.ctx)


def _epochs(exp: Experiment, run_dir: Path, generator: torch.Generator, first: int, progress: bool) -> dict:
    cfg, ctx = exp.config, exp.ctx
    start = time.perf_counter()
    epochs = tqdm(range(first, cfg.train.epochs), desc="training", disable=not (progress and ctx.is_main))
    for epoch in epochs:
        t0 = time.perf_counter()
        record = {"epoch": epoch + 1, "lr": exp.optimizer.param_groups[0]["lr"]}
        record.update(_train_epoch(exp, generator, progress, epoch))
        exp.scheduler.step()
        t1 = time.perf_counter()
        record["train_seconds"] = t1 - t0
        if exp.engine is not None:
            record["topology"] = [vars(s) for s in exp.engine.update(exp.optimizer)]
            record["itop"] = exp.engine.itop()
        record["topology_seconds"] = time.perf_counter() - t1
        if ctx.active:
            record["rank_fingerprints"] = distributed.check_consistent(ctx, exp.model)
        if exp.val is not None:
            record["val_accuracy"] = evaluate(exp.model, exp.val, cfg.data.batch_size, exp.device, ctx=ctx)["accuracy"]
        test = evaluate(exp.model, exp.test, cfg.data.batch_size, exp.device, ctx=ctx)
        record["test_accuracy"] = test["accuracy"]
        record.update(exp.model.structure())
        record["epoch_seconds"] = time.perf_counter() - t0
        if ctx.is_main:
            append_jsonl(run_dir / "metrics.jsonl", record)
            if cfg.train.checkpoint:
                _save(exp, run_dir, epoch + 1, generator)
        epochs.set_postfix(test_acc=f"{test['accuracy']:.4f}")
    summary = {
        **final_report(exp),
        "epochs": cfg.train.epochs,
        "seconds": time.perf_counter() - start,
        "dataset": cfg.data.dataset,
        "dense": cfg.train.dense,
        "seed": cfg.train.seed,
        "world_size": ctx.world,
    }
    if ctx.is_main:
        atomic_write_json(run_dir / "summary.json", summary)
    return summary


def load_run(run_dir: str | Path) -> Experiment:
    """Rebuild a run's experiment from its config and last checkpoint."""
    run_dir = Path(run_dir)
    cfg_path = run_dir / "config.yaml"
    if not cfg_path.exists():
        raise FileNotFoundError(f"{run_dir} is not a run directory (no config.yaml)")
    cfg = RunConfig.from_file(cfg_path)
    exp = build(cfg, initialise=False)
    state = load_checkpoint(run_dir / CHECKPOINT)
    exp.model.load_state_dict(state["model"])
    if exp.engine is not None and state["engine"] is not None:
        exp.engine.load_state_dict(state["engine"])
    return exp
