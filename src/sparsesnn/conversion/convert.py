"""``sparsesnn convert``: a trained sparse ANN run directory → its SNN, measured at every T.

Data flow: run directory (config + checkpoint) → ANN → thresholds calibrated on training data →
:class:`ConvertedSNN` simulated once to ``max_T`` over the test set → per-T accuracy, SOPs,
energy, firing rates, saturation → ``conversion-<method>.json`` and a plot, written atomically.
"""

from __future__ import annotations

import time
from pathlib import Path

import torch
from tqdm.auto import tqdm

from ..atomic import atomic_write_json
from ..energy.sops import energy_45nm_mj
from ..errors import ConfigError
from ..layers.sparse_linear import SparseLinks
from ..models.ann import SparseANN
from ..models.vit import SparseViT
from ..training.metrics import evaluate
from ..training.rundir import versions
from . import thresholds as th
from .aec import AECParams, initial_params
from .measure import plot_conversion, saturation_time
from .simulate import METHODS, ConvertedSNN, Tally
from .vit import convert_vit

DCGS_THRESHOLDS = ("auto", "percentile", "var")


def calibrate(model: SparseANN, method: str, calib_x: torch.Tensor, n_thresholds: int, dcgs_threshold: str, max_T: int) -> list[torch.Tensor]:
    """Per-population thresholds (AEC: initial parameters) from training samples."""
    taps = th.collect(model, calib_x)
    kind = model.config.activation
    if method in ("qcfs", "csqcfs"):
        allowed = ("csqcfs", "sqcfs") if method == "csqcfs" else ("qcfs",)
        if kind not in allowed:
            raise ConfigError(f"--method {method} needs an ANN trained with model.activation {' or '.join(allowed)}; this run used {kind!r}")
        return [act.thresholds(z) for act, (z, _) in zip(model.activations, taps)]
    if method == "snm":
        return [th.neuron_max(a) for _, a in taps]
    if method == "aec":
        return [initial_params(a) for _, a in taps]
    if dcgs_threshold == "auto":
        dcgs_threshold = "lambda" if kind != "relu" else "percentile"
    if dcgs_threshold == "lambda":  # the ANN's own clipping threshold is the top level
        return [act.thresholds(z) for act, (z, _) in zip(model.activations, taps)]
    if dcgs_threshold == "percentile":
        return [th.channel_percentile(a) for _, a in taps]
    return [th.channel_gaussian(z, max_T * 2**n_thresholds) for z, _ in taps]


def finetune_aec(snn: ConvertedSNN, x: torch.Tensor, y: torch.Tensor, T: int, steps: int, lr: float = 0.01, batch: int = 200,
                 seed: int = 0) -> tuple[list[torch.Tensor], list[float]]:
    """Fine-tune the AEC parameters for window ``T`` on training data, starting from the
    converter's, with the ANN weights frozen (cross-entropy through straight-through spike
    times, as the reference). Returns (the tuned parameters, the loss curve)."""
    params = AECParams(snn.thresholds)
    opt = torch.optim.Adam(params.parameters(), lr=lr)
    g = torch.Generator().manual_seed(seed)
    losses = []
    for p in snn.model.parameters():
        p.requires_grad_(False)
    for _ in range(steps):
        idx = torch.randint(0, len(x), (batch,), generator=g)
        logits, _, _ = snn.aec_forward(x[idx], T, list(params.values))
        loss = torch.nn.functional.cross_entropy(logits, y[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(float(loss.detach()))
    return [p.detach().clone() for p in params.values], losses


def convert_run(
    run_dir: str | Path,
    method: str,
    max_T: int = 64,
    batch_size: int = 500,
    calib_samples: int = 2000,
    n_thresholds: int = 4,
    dcgs_threshold: str = "auto",
    aec_finetune_T: int = 8,
    aec_steps: int = 300,
    aec_per_T: bool = False,
    vit_scale: float = 4.0,
    test_limit: int | None = None,
    progress: bool = True,
) -> dict:
    """Convert the ANN of ``run_dir`` with ``method`` and measure it for T = 1..max_T; writes
    ``RUN_DIR/conversion-<method>.json`` and ``conversion-<method>.png``; returns the result.
    A ViT run converts with ``dcgs`` only, thresholds ``vit_scale`` × the 99.9th percentile."""
    from ..training.trainer import load_run  # late: training imports models which import us

    if method not in METHODS:
        raise ConfigError(f"--method must be one of {list(METHODS)}; got {method!r}")
    if int(max_T) < 1:
        raise ConfigError(f"--max-T must be >= 1; got {max_T}")
    if dcgs_threshold not in DCGS_THRESHOLDS:
        raise ConfigError(f"--dcgs-threshold must be one of {list(DCGS_THRESHOLDS)}; got {dcgs_threshold!r}")
    run_dir = Path(run_dir)
    exp = load_run(run_dir)
    model = exp.model
    vit = isinstance(model, SparseViT)
    if not isinstance(model, SparseANN) and not vit:
        raise ConfigError(f"{run_dir} holds a spiking network; convert needs an ANN run (sparsesnn train --ann)")
    if vit and method != "dcgs":
        raise ConfigError(f"{run_dir} holds a ViT: it converts with --method dcgs (LayerNorm, softmax and GELU need "
                          f"differential coding); got {method!r}")
    if not vit_scale > 0:
        raise ConfigError(f"--vit-scale must be > 0; got {vit_scale}")
    start = time.perf_counter()
    model.eval()
    test = exp.test if test_limit is None else exp.test.subset(torch.arange(min(test_limit, len(exp.test))))
    ann = evaluate(model, test, batch_size, torch.device("cpu"))  # the samples the SNN sees
    gen = torch.Generator().manual_seed(exp.config.train.seed)
    pick = torch.randperm(len(exp.train), generator=gen)[: min(calib_samples, len(exp.train))]
    calib_x = model.batch_input(exp.train.x[pick], False)
    if vit:
        snn = convert_vit(model, calib_x, n_thresholds, vit_scale)
    else:
        snn = ConvertedSNN(model, method, calibrate(model, method, calib_x, n_thresholds, dcgs_threshold, max_T), n_thresholds)
    extra: dict = {}
    if method == "aec" and aec_steps > 0:
        xs, ys = model.batch_input(exp.train.x, False), exp.train.y.long()
        windows = range(1, max_T + 1) if aec_per_T else [min(aec_finetune_T, max_T)]
        tuned = {T: finetune_aec(snn, xs, ys, T, aec_steps, seed=exp.config.train.seed) for T in windows}
        if aec_per_T:  # every window T simulated with the parameters tuned for it
            snn.window_thresholds = {T: params for T, (params, _) in tuned.items()}
        else:
            snn.thresholds = tuned[windows[0]][0]
        extra = {"aec_finetune_T": "every T" if aec_per_T else windows[0], "aec_finetune_steps": aec_steps,
                 "aec_finetune_loss": {T: [loss[0], loss[-1]] for T, (_, loss) in tuned.items()},
                 "aec_params": {T: [p.tolist() for p in params] for T, (params, _) in tuned.items()}}
    tally = Tally(max_T, snn.populations)
    n_batches = -(-len(test) // batch_size)
    for x, y in tqdm(test.batches(batch_size), total=n_batches, desc=f"convert {method}", disable=not progress):
        snn.run(model.batch_input(x, False), y, tally)
    result = _report(model, snn, tally, method, ann["accuracy"], exp.config.train.dense)
    result.update(extra)
    result.update({
        "run_dir": str(run_dir),
        "n_thresholds": n_thresholds if method == "dcgs" else None,
        "dcgs_threshold": (f"{vit_scale} × channel 99.9th percentile of |input|" if vit else dcgs_threshold) if method == "dcgs" else None,
        "calibration": f"{len(pick)} training samples",
        "test_samples": tally.n,
        "seconds": time.perf_counter() - start,
        "versions": versions(),
    })
    atomic_write_json(run_dir / f"conversion-{method}.json", result)
    plot_conversion([result], run_dir / f"conversion-{method}.png")
    return result


def _report(model: SparseANN | SparseViT, snn, tally: Tally, method: str, ann_accuracy: float, dense: bool) -> dict:
    n = tally.n
    T = list(range(1, tally.max_T + 1))
    steps = torch.tensor(T, dtype=torch.float64)
    counts = torch.tensor(snn.neuron_counts, dtype=torch.float64).unsqueeze(1)
    accuracy = (tally.correct / n).tolist()
    masfr = (tally.spikes.sum(0) / (steps * counts.sum() * n)).tolist()
    macs, acs = tally.macs / n, tally.acs / n
    structure = model.structure()
    return {
        "method": method,
        "decoding": METHODS[method]["decoding"],
        "time_step": METHODS[method]["time_step"],
        "dense": dense,
        "ann_accuracy": ann_accuracy,
        "T": T,
        "accuracy": accuracy,
        "sops_per_sample": acs.tolist(),
        "macs_per_sample": macs.tolist(),
        "energy_mj_per_sample": [energy_45nm_mj(float(m), float(a)) for m, a in zip(macs, acs)],
        "masfr": masfr,
        "lasfr": (tally.spikes / (steps * counts * n)).tolist(),
        "saturation_T": saturation_time(T, accuracy, window=10, eps=0.01),
        "saturation_T_w5": saturation_time(T, accuracy, window=5, eps=0.01),
        "masfr_saturation_T": saturation_time(T, masfr, window=10, eps=0.01),
        "layer_sparsity": [layer_sparsity(layer) for layer in model.synapses],
        "link_sparsity": structure["link_sparsity"],
        "neurons": snn.neuron_counts,
        **({"ops_per_sample": {kind: (v / n).tolist() for kind, v in tally.ops.items()}} if tally.ops else {}),
    }


def layer_sparsity(layer: torch.nn.Module) -> float:
    """Fraction of absent links of a synaptic layer (sparse: its topology; dense: zero weights)."""
    if isinstance(layer, SparseLinks):
        return 1.0 - layer.density
    return float((layer.weight == 0).to(torch.float64).mean())
