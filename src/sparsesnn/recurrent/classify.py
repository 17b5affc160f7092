"""Spiking classification with an HRSNN (004 §VI): event data (N-MNIST, SHD, DVS Gesture) is
streamed frame by frame into a reservoir, whose per-sample activity feeds two readouts.

Per sample the reservoir starts from rest; each frame is presented for ``substeps`` steps.
Features: the spike count of every neuron over the sample and the filtered spike trace at its
end. Readouts: ridge regression on one-hot targets (closed form, α chosen on a validation part
of the training set) and the multi-layer readout of §VI.F (top 10 % of neurons by betweenness
centrality → 20 → classes). STDP (HeS/HoS) runs unsupervised on the first ``stdp_samples``
training samples before the features are recorded. Inputs are scaled from the *training* set so
that a one-σ drive (U(−1, 1) input weights over the mean number of active inputs per frame)
brings a resting E neuron to threshold within one frame, whatever the sensor size
(``ReservoirConfig.input_scale`` multiplies it).
"""

from __future__ import annotations

import copy
import math

import numpy as np
import torch
from tqdm import tqdm

from ..data.split import Split
from .dynamics import Simulator, default_w_max
from .network import Reservoir, ReservoirConfig
from .readout import betweenness_top, design, mlp_readout, ridge_fit

RIDGE_GRID = (1e-2, 1e-1, 1.0, 10.0, 100.0)


def input_scale(train: Split, cfg: ReservoirConfig) -> float:
    """θ / (1 − (1 − dt/τ_E)^substeps) per unit drive std, the std being √(active / 3)."""
    active = float(train.x.flatten(2).ne(0).sum(-1).float().mean())
    reach = 1.0 - (1.0 - min(1.0, cfg.dt / cfg.tau_e)) ** cfg.substeps  # fraction of the drive one frame reaches
    return math.sqrt(3.0 / max(active, 1.0)) * cfg.threshold / reach


def reservoir_features(res: Reservoir, frames: torch.Tensor, substeps: int, scale: float, progress: bool = False,
                       stdp: bool = False) -> tuple[np.ndarray, float]:
    """Features ``[N, 2n]`` (spike counts, end traces) of samples ``frames`` ``[N, T, ...]`` and
    the recurrent SOPs per sample (spikes × live out-degree). With ``stdp`` the weights learn."""
    sim = Simulator(res, substeps)
    w_max = default_w_max(res)  # fixed once: per-sample calls must not move the cap
    out = np.empty((len(frames), 2 * res.n), dtype=np.float32)
    degree = res.out_degree().to(torch.float32)
    sops = 0.0
    for i in tqdm(range(len(frames)), disable=not progress, desc="reservoir", leave=False):
        sim.reset()
        _, counts = sim.run(frames[i].flatten(1).to(torch.float32) * scale, stdp=stdp, w_max=w_max)
        out[i, : res.n] = counts.numpy()
        out[i, res.n :] = sim.state.trace.numpy()
        sops += float((counts * degree).sum())
    return out, sops / max(1, len(frames))


def _accuracy(scores: np.ndarray, labels: np.ndarray) -> float:
    return float((scores.argmax(1) == labels).mean())


def _standardise(train: np.ndarray, *others: np.ndarray) -> list[np.ndarray]:
    mu, sd = train.mean(0), train.std(0) + 1e-6
    return [(a - mu) / sd for a in (train, *others)]


def classify(res: Reservoir, cfg: ReservoirConfig, train: Split, test: Split, stdp_samples: int = 200,
             val_fraction: float = 0.2, progress: bool = False) -> dict:
    """Train the readouts on ``train`` and report test accuracy, activity and SOPs."""
    if not (train.events and test.events):
        raise ValueError("reservoir classification needs event data (spike frames [N, T, ...])")
    scale, substeps, seed = input_scale(train, cfg), cfg.substeps, cfg.seed
    if stdp_samples > 0:
        res = copy.deepcopy(res)
        reservoir_features(res, train.x[:stdp_samples], substeps, scale, progress, stdp=True)
    f_train, sops_train = reservoir_features(res, train.x, substeps, scale, progress)
    f_test, sops_test = reservoir_features(res, test.x, substeps, scale, progress)
    y_train, y_test = train.y.numpy(), test.y.numpy()
    classes = int(max(y_train.max(), y_test.max())) + 1
    # ridge α on a validation part of the training set, then refit on all of it
    order = np.random.default_rng(seed).permutation(len(y_train))
    n_val = max(1, int(round(val_fraction * len(order))))
    val, fit = order[:n_val], order[n_val:]
    a_fit, a_val = _standardise(f_train[fit], f_train[val])
    onehot = np.eye(classes)[y_train]
    scores = {a: _accuracy(design(a_val) @ ridge_fit(design(a_fit), onehot[fit], a), y_train[val]) for a in RIDGE_GRID}
    alpha = max(scores, key=scores.get)
    s_train, s_test = _standardise(f_train, f_test)
    W = ridge_fit(design(s_train), onehot, alpha)
    ridge_acc = _accuracy(design(s_test) @ W, y_test)
    top = betweenness_top(res, 0.1, seed=seed)
    cols = np.concatenate([top, top + res.n])  # counts and traces of the chosen neurons
    net = mlp_readout(s_train, y_train, cols, classify=True, seed=seed)
    with torch.no_grad():
        mlp_acc = _accuracy(net(torch.as_tensor(s_test[:, cols])).numpy(), y_test)
    spikes = float(f_test[:, : res.n].sum(1).mean())
    return {
        "accuracy": ridge_acc, "ridge_alpha": alpha, "ridge_val_accuracy": scores[alpha],
        "mlp_readout_accuracy": mlp_acc, "mlp_readout_neurons": int(len(top)),
        "spikes_per_sample": spikes, "sops_per_sample": sops_test, "train_sops_per_sample": sops_train,
        "firing_rate": spikes / (max(1, int(res.alive.sum())) * test.x.shape[1] * substeps),
        "synapses": res.synapses, "neurons": int(res.alive.sum()), "input_scale": scale,
    }
