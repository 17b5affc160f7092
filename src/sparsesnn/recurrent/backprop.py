"""HoNB / HeNB (004 §VI.C): the recurrent spiking layer trained by backpropagation through time
with surrogate gradients instead of STDP — homogeneous (HoNB) or gamma-distributed (HeNB)
membrane time constants and thresholds, which stay fixed while the weights learn.

The reservoir's sparse topology is kept: only its existing synapses (and the input projection
onto its 30 % input neurons) are trained, Dale's law by construction — a synapse's weight is
sign(w₀)·softplus(ρ), so its sign never flips. Dynamics are those of
:class:`~sparsesnn.recurrent.dynamics.Simulator` (Euler LIF, delta PSPs from the previous step,
reset to 0, refractory period as a non-differentiable mask), batched ``[B, N]``; the readout is
a linear layer on the spike counts of the sample. The surrogate is the arctan of
:mod:`sparsesnn.neurons.surrogate`, scaled to each neuron's threshold.
"""

from __future__ import annotations

import copy

import torch
import torch.nn.functional as F
from torch import nn
from tqdm import tqdm

from ..data.split import Split
from ..neurons import surrogate as sg
from ..neurons.functional import spike
from .network import Reservoir


def _inverse_softplus(x: torch.Tensor) -> torch.Tensor:
    return x + torch.log(-torch.expm1(-x))


class RecurrentSNN(nn.Module):
    """Trainable twin of a :class:`Reservoir` (same neurons, same synapses) with a linear readout."""

    def __init__(self, res: Reservoir, n_classes: int, substeps: int, input_gain: float) -> None:
        super().__init__()
        self.res, self.substeps, self.input_gain = res, int(substeps), float(input_gain)
        self.register_buffer("sign", torch.sign(res.w))
        self.rho = nn.Parameter(_inverse_softplus(res.w.abs().clamp_min(1e-6)))
        self.register_buffer("input_mask", (res.w_in != 0).any(1, keepdim=True).to(torch.float32))
        self.w_in = nn.Parameter(res.w_in.clone())
        self.register_buffer("leak", (res.dt / res.tau).clamp(max=1.0))
        self.register_buffer("theta", res.threshold.clone())
        self.register_buffer("alive", res.alive.to(torch.float32))
        self.readout = nn.Linear(res.n, n_classes)
        self.fn = sg.get("arctan")

    def weights(self) -> torch.Tensor:
        return self.sign * F.softplus(self.rho)

    def forward(self, frames: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``frames`` ``[B, T, inputs]`` → (logits ``[B, classes]``, spike counts ``[B, N]``)."""
        res, B = self.res, frames.shape[0]
        w = self.weights()
        w_in = self.w_in * self.input_mask
        v = frames.new_zeros(B, res.n)
        s = frames.new_zeros(B, res.n)
        refractory = torch.zeros(B, res.n, dtype=torch.int32)
        counts = frames.new_zeros(B, res.n)
        for t in range(frames.shape[1]):
            drive = (frames[:, t] * self.input_gain) @ w_in.t()
            for _ in range(self.substeps):
                rec = frames.new_zeros(B, res.n).index_add(1, res.post, s[:, res.pre] * w)
                free = (refractory <= 0).to(v.dtype)
                v = (v + self.leak * (drive - v) + rec) * free
                s = spike((v - self.theta) / self.theta, self.fn) * free * self.alive
                v = v * (1.0 - s)  # reset to 0 (the gradient flows through the reset too)
                refractory = torch.where(s.detach() > 0, torch.full_like(refractory, res.refractory), refractory - 1)
                counts = counts + s
        return self.readout(counts), counts

    def to_reservoir(self) -> Reservoir:
        """The trained weights back in a :class:`Reservoir` (for SOPs, LNP, analysis)."""
        out = copy.deepcopy(self.res)
        out.w = self.weights().detach().clone()
        out.w_in = (self.w_in * self.input_mask).detach().clone()
        return out


def train_backprop(res: Reservoir, train: Split, test: Split, substeps: int, input_gain: float, epochs: int = 5,
                   lr: float = 2e-3, batch_size: int = 32, seed: int = 0, progress: bool = False) -> dict:
    """BPTT with Adam on cross-entropy; test accuracy, spikes and SOPs per sample of the result."""
    torch.manual_seed(seed)
    classes = int(max(train.y.max(), test.y.max())) + 1
    net = RecurrentSNN(res, classes, substeps, input_gain)
    opt = torch.optim.Adam(net.parameters(), lr=lr)
    g = torch.Generator().manual_seed(seed)
    flat = lambda x: x.flatten(2).to(torch.float32)  # noqa: E731
    losses = []
    for _ in tqdm(range(epochs), disable=not progress, desc="BPTT"):
        total = 0.0
        for x, y in train.batches(batch_size, shuffle=True, generator=g):
            logits, _ = net(flat(x))
            loss = F.cross_entropy(logits, y)
            if not torch.isfinite(loss.detach()):
                raise FloatingPointError(f"BPTT loss became {float(loss)}; lower the learning rate")
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += float(loss.detach()) * len(y)
        losses.append(total / len(train))
    correct, spikes = 0, 0.0
    degree = res.out_degree().to(torch.float32)
    sops = 0.0
    with torch.no_grad():
        for x, y in test.batches(256):
            logits, counts = net(flat(x))
            correct += int((logits.argmax(1) == y).sum())
            spikes += float(counts.sum())
            sops += float((counts * degree).sum())
    trained = net.to_reservoir()
    return {"accuracy": correct / len(test), "train_loss": losses, "spikes_per_sample": spikes / len(test),
            "sops_per_sample": sops / len(test), "synapses": trained.synapses, "neurons": int(trained.alive.sum()),
            "dale_violations": int((torch.sign(trained.w) != torch.sign(res.w)).sum())}
