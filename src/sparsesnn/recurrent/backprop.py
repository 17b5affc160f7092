"""HoNB / HeNB (004 §VI.C): the recurrent spiking layer trained by backpropagation through time
with surrogate gradients instead of STDP — homogeneous (HoNB) or gamma-distributed (HeNB)
membrane time constants and thresholds, which stay fixed while the weights learn.

The reservoir's sparse topology is kept: only its existing synapses (and the input projection
onto its 30 % input neurons) are trained, Dale's law by construction — a synapse's weight is
sign(w₀)·softplus(ρ), so its sign never flips. Dynamics are those of
:class:`~sparsesnn.recurrent.dynamics.Simulator` (Euler LIF, delta PSPs from the previous step,
reset to 0, refractory period as a non-differentiable mask), batched ``[B, N]``. The surrogate is
the arctan of :mod:`sparsesnn.neurons.surrogate`, scaled to each neuron's threshold.

Classification (:func:`train_backprop`): a linear readout on the spike counts of a recording,
cross-entropy. Prediction (:func:`train_forecast`): one-step prediction u(t) → u(t+1) of the
teacher-forced training series through a linear readout on [u(t), traces, membranes] — the
features the ridge readout of :func:`~sparsesnn.recurrent.run.forecast` sees — by truncated BPTT;
the trained network is then read out and run closed loop exactly as an STDP-trained one.
"""

from __future__ import annotations

import copy
import dataclasses

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from tqdm import tqdm

from ..data.split import Split
from ..neurons import surrogate as sg
from ..neurons.functional import spike
from .dynamics import SimState, trace_decay
from .network import Reservoir
from .readout import design, ridge_fit


def _inverse_softplus(x: torch.Tensor) -> torch.Tensor:
    return x + torch.log(-torch.expm1(-x))


class RecurrentSNN(nn.Module):
    """Trainable twin of a :class:`Reservoir`: same neurons, same synapses."""

    def __init__(self, res: Reservoir, substeps: int, input_gain: float = 1.0) -> None:
        super().__init__()
        self.res, self.substeps, self.input_gain = res, int(substeps), float(input_gain)
        self.register_buffer("sign", torch.sign(res.w))
        self.rho = nn.Parameter(_inverse_softplus(res.w.abs().clamp_min(1e-6)))
        self.register_buffer("input_mask", (res.w_in != 0).any(1, keepdim=True).to(torch.float32))
        self.w_in = nn.Parameter(res.w_in.clone())
        self.register_buffer("leak", (res.dt / res.tau).clamp(max=1.0))
        self.register_buffer("theta", res.threshold.clone())
        self.register_buffer("alive", res.alive.to(torch.float32))
        self.trace_decay = trace_decay(res, substeps)
        self.fn = sg.get("arctan")

    def weights(self) -> torch.Tensor:
        return self.sign * F.softplus(self.rho)

    def forward(self, frames: torch.Tensor, state: SimState | None = None,
                features: bool = True) -> tuple[torch.Tensor, torch.Tensor | None, SimState]:
        """``frames`` ``[B, T, inputs]`` from ``state`` (rest if None) → (spike counts ``[B, N]``,
        features ``[B, T, 2N]``: traces then membranes at each frame's last step, the final state).
        ``features=False`` (classification reads the counts only) returns None for the features:
        the graph then holds no per-frame copies of the state."""
        res, (B, T) = self.res, frames.shape[:2]
        w = self.weights()
        w_in = self.w_in * self.input_mask
        if state is None:
            zeros = frames.new_zeros(B, res.n)
            state = SimState(zeros, zeros, torch.zeros(B, res.n, dtype=torch.int32), zeros)
        v, s, refractory, trace = state.v, state.spikes, state.refractory, state.trace
        counts = frames.new_zeros(B, res.n)
        feats = []
        for t in range(T):
            drive = (frames[:, t] * self.input_gain) @ w_in.t()
            for _ in range(self.substeps):
                rec = frames.new_zeros(B, res.n).index_add(1, res.post, s[:, res.pre] * w)
                free = (refractory <= 0).to(v.dtype)
                v = (v + self.leak * (drive - v) + rec) * free * self.alive  # pruned: held at rest
                s = spike((v - self.theta) / self.theta, self.fn) * free
                v = v * (1.0 - s)  # reset to 0 (the gradient flows through the reset too)
                refractory = torch.where(s.detach() > 0, torch.full_like(refractory, res.refractory), refractory - 1)
                trace = trace * self.trace_decay + s
                counts = counts + s
            if features:
                feats.append(torch.cat([trace, v], 1))
        return counts, torch.stack(feats, 1) if features else None, SimState(v, s, refractory, trace)

    def to_reservoir(self) -> Reservoir:
        """The trained weights back in a :class:`Reservoir` (for SOPs, LNP, analysis)."""
        out = copy.deepcopy(self.res)
        out.w = self.weights().detach().clone()
        out.w_in = (self.w_in * self.input_mask).detach().clone()
        return out


def _step(opt: torch.optim.Optimizer, loss: torch.Tensor) -> float:
    if not torch.isfinite(loss.detach()):
        raise FloatingPointError(f"BPTT loss became {float(loss)}; lower the learning rate")
    opt.zero_grad()
    loss.backward()
    opt.step()
    return float(loss.detach())


def train_backprop(res: Reservoir, train: Split, test: Split, substeps: int, input_gain: float, epochs: int = 5,
                   lr: float = 2e-3, batch_size: int = 32, seed: int = 0, progress: bool = False) -> dict:
    """BPTT with Adam on cross-entropy; test accuracy, spikes and SOPs per sample of the result."""
    torch.manual_seed(seed)
    classes = int(max(train.y.max(), test.y.max())) + 1
    net = RecurrentSNN(res, substeps, input_gain)
    readout = nn.Linear(res.n, classes)
    opt = torch.optim.Adam([*net.parameters(), *readout.parameters()], lr=lr)
    g = torch.Generator().manual_seed(seed)
    flat = lambda x: x.flatten(2).to(torch.float32)  # noqa: E731
    losses = []
    for _ in tqdm(range(epochs), disable=not progress, desc="BPTT"):
        total = 0.0
        for x, y in train.batches(batch_size, shuffle=True, generator=g):
            total += _step(opt, F.cross_entropy(readout(net(flat(x), features=False)[0]), y)) * len(y)
        losses.append(total / len(train))
    correct, spikes = 0, 0.0
    degree = res.out_degree().to(torch.float32)
    sops = 0.0
    with torch.no_grad():
        for x, y in test.batches(256):
            counts = net(flat(x), features=False)[0]
            correct += int((readout(counts).argmax(1) == y).sum())
            spikes += float(counts.sum())
            sops += float((counts * degree).sum())
    trained = net.to_reservoir()
    return {"accuracy": correct / len(test), "train_loss": losses, "spikes_per_sample": spikes / len(test),
            "sops_per_sample": sops / len(test), "synapses": trained.synapses, "neurons": int(trained.alive.sum()),
            "dale_violations": int((torch.sign(trained.w) != torch.sign(res.w)).sum())}


def train_forecast(res: Reservoir, u: np.ndarray, warmup: int, train: int, substeps: int, ridge: float, epochs: int = 5,
                   lr: float = 2e-3, chunk: int = 20, seed: int = 0, progress: bool = False) -> tuple[Reservoir, list[float]]:
    """HoNB / HeNB for prediction: BPTT with Adam on the one-step MSE of a linear readout on
    [u(t), features(t)] → u(t+1), over the teacher-forced series ``u[:warmup + train]`` in chunks
    of ``chunk`` samples (the state carries over, its gradient is cut between chunks; the first
    ``warmup`` samples only settle the state). The readout is not a parameter: at the start of
    every epoch it is the ridge solution (α = ``ridge``) of the current network — Adam's first
    steps, ~lr on each of its 2N + d inputs at once, were measured to undo a fitted readout — so
    the gradient reaching the synapses is always that of a fitted readout. Returns the trained
    reservoir and each epoch's mean loss (the loss of the readout fitted before the epoch, as
    the synapses move under it)."""
    torch.manual_seed(seed)
    net = RecurrentSNN(res, substeps)
    n_fit = warmup + train
    x = torch.as_tensor(u[: n_fit + 1], dtype=torch.float32)
    opt = torch.optim.Adam(net.parameters(), lr=lr)
    losses = []
    for _ in tqdm(range(epochs), disable=not progress, desc="BPTT"):
        with torch.no_grad():
            feats = net(x[None, :n_fit])[1][0].numpy()
        W = torch.as_tensor(ridge_fit(design(feats[warmup:], u[warmup:n_fit]), u[warmup + 1 : n_fit + 1], ridge), dtype=torch.float32)
        state, total = None, 0.0
        for a in range(0, n_fit, chunk):
            b, lo = min(a + chunk, n_fit), max(a, warmup)
            with torch.set_grad_enabled(lo < b):
                _, feats_t, state = net(x[None, a:b], state)
            if lo < b:
                pred = W[0] + torch.cat([x[lo:b], feats_t[0, lo - a :]], 1) @ W[1:]
                total += _step(opt, F.mse_loss(pred, x[lo + 1 : b + 1])) * (b - lo)
            state = SimState(*(getattr(state, f.name).detach() for f in dataclasses.fields(state)))
        losses.append(total / train)
    return net.to_reservoir(), losses
