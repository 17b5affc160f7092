"""Spikformer (Zhou et al. 2022, ICLR 2023) with CH-SNN-sparse linear layers (001 §4, Table 1).

Spiking patch splitting (conv–BN–LIF stages with max pooling) turns an image into N spike tokens
of width D; each encoder block applies spiking self-attention — Q, K, V = LIF(BN(Linear(x))),
attention = LIF(Q Kᵀ V · s) without softmax (all operands are spikes) — and a two-layer spiking
MLP, both with residual connections. The head averages the tokens. Every linear layer but the
head is a :class:`SparseLinear` when ``sparsity`` is given; convolutions stay dense.

Energy accounting (with an :class:`ActivityRecorder`): each synaptic layer's input events cost
their out-degree on the live topology (the static image's non-zero pixels as MACs × T, token
averages into the head as MACs); the spike products of self-attention, the residual additions
and the token pooling are counted as ACs from the spikes that really occur
(:func:`~sparsesnn.energy.sops.spiking_attention_acs`). BatchNorm folds into the weights at
inference and costs nothing.

Layout ``[T, B, N, D]``. The paper's configuration is depth 8, D = 512, 8 heads, T = 4;
``configs/spikformer_mnist.yaml`` holds a small one that trains on a CPU.
"""

from __future__ import annotations

import torch
from torch import nn

from ..energy.recorder import ActivityRecorder
from ..energy.sops import conv_out_degree, out_degree, spiking_attention_acs
from ..layers.sparse_linear import SparseLinear
from ..neurons.lif import LIF
from ..topology.weight_init import kaiming_std, sswi_std, swi_std
from .config import ModelConfig
from .layout import batch_input
from .structure import attention_chains, token_layers_structure


def _lif(cfg: ModelConfig) -> LIF:
    return LIF(cfg.alpha, cfg.threshold, cfg.surrogate, cfg.surrogate_alpha, cfg.detach_reset)


def _linear(d_in: int, d_out: int, sparsity: float | None) -> nn.Module:
    return SparseLinear(d_in, d_out, sparsity, bias=False) if sparsity is not None else nn.Linear(d_in, d_out, bias=False)


class _Tally:
    """Feeds one forward pass into an :class:`ActivityRecorder` (or nowhere): synaptic layers and
    spiking populations are numbered in the order the pass meets them."""

    def __init__(self, recorder: ActivityRecorder | None) -> None:
        self.recorder, self.layer, self.population = recorder, 0, 0

    def events(self, counts, kind: str = "ac") -> None:
        """``counts``: a callable giving the per-input event totals (only evaluated when recording)."""
        if self.recorder is not None:
            self.recorder.add_events(self.layer, counts(), kind)
        self.layer += 1

    def spikes(self, s: torch.Tensor) -> None:
        if self.recorder is not None:
            self.recorder.add_spikes(self.population, s.reshape(*s.shape[:2], -1))
        self.population += 1

    def ops(self, name: str, acs) -> None:
        if self.recorder is not None:
            self.recorder.add_ops(name, acs())


def _feature_events(x: torch.Tensor) -> torch.Tensor:
    """Events per input feature of a token-wise linear layer: summed over ``[T, B, N]``."""
    return x.sum((0, 1, 2))


class _TokenBN(nn.Module):
    """BatchNorm over the feature dimension of ``[T, B, N, D]`` tokens."""

    def __init__(self, d: int) -> None:
        super().__init__()
        self.bn = nn.BatchNorm1d(d)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.bn(x.flatten(0, -2)).view_as(x)


class _Block(nn.Module):
    def __init__(self, d: int, heads: int, mlp_ratio: int, cfg: ModelConfig, sparsity: float | None) -> None:
        super().__init__()
        self.heads, self.scale = heads, 0.125
        self.q, self.k, self.v = (_linear(d, d, sparsity) for _ in range(3))
        self.q_bn, self.k_bn, self.v_bn = _TokenBN(d), _TokenBN(d), _TokenBN(d)
        self.q_lif, self.k_lif, self.v_lif, self.attn_lif = _lif(cfg), _lif(cfg), _lif(cfg), _lif(cfg)
        self.proj, self.proj_bn, self.proj_lif = _linear(d, d, sparsity), _TokenBN(d), _lif(cfg)
        self.fc1, self.fc1_bn, self.fc1_lif = _linear(d, mlp_ratio * d, sparsity), _TokenBN(mlp_ratio * d), _lif(cfg)
        self.fc2, self.fc2_bn, self.fc2_lif = _linear(mlp_ratio * d, d, sparsity), _TokenBN(d), _lif(cfg)

    def linears(self) -> list[nn.Module]:
        """Synaptic layers in the order the forward pass meets them."""
        return [self.q, self.k, self.v, self.proj, self.fc1, self.fc2]

    def _seq(self, layer, bn, lif, x, tally: _Tally):
        tally.events(lambda: _feature_events(x))
        y = bn(layer(x))
        T, B = y.shape[:2]
        s = lif(y.reshape(T, B, -1)).view_as(y)
        tally.spikes(s)
        return s

    def forward(self, x: torch.Tensor, tally: _Tally) -> torch.Tensor:
        T, B, N, D = x.shape
        h = self.heads

        def split(t):  # [T, B, N, D] → [T, B, h, N, D/h]
            return t.view(T, B, N, h, D // h).transpose(2, 3)

        q = split(self._seq(self.q, self.q_bn, self.q_lif, x, tally))
        k = split(self._seq(self.k, self.k_bn, self.k_lif, x, tally))
        v = split(self._seq(self.v, self.v_bn, self.v_lif, x, tally))
        attn = (q @ k.transpose(-2, -1)) @ v * self.scale  # spikes only: no softmax
        if tally.recorder is not None:
            qk, av = spiking_attention_acs(q, k, v)
            tally.ops("attention_qk", lambda: qk)
            tally.ops("attention_av", lambda: av)
        attn = attn.transpose(2, 3).reshape(T, B, N, D)
        attn = self.attn_lif(attn.reshape(T, B, -1)).view(T, B, N, D)
        tally.spikes(attn)
        out = self._seq(self.proj, self.proj_bn, self.proj_lif, attn, tally)
        tally.ops("residual", lambda: float((out != 0).sum()))
        x = x + out
        hidden = self._seq(self.fc1, self.fc1_bn, self.fc1_lif, x, tally)
        out = self._seq(self.fc2, self.fc2_bn, self.fc2_lif, hidden, tally)
        tally.ops("residual", lambda: float((out != 0).sum()))
        return x + out


class Spikformer(nn.Module):
    """Image ``[B, C, H, W]`` (direct encoding: the first conv is computed once) or spike frames
    ``[T, B, C, H, W]`` → logits ``[B, n_classes]``."""

    def __init__(self, input_shape: tuple[int, ...], n_classes: int, config: ModelConfig, sparsity: float | None = None) -> None:
        super().__init__()
        self.config = config.validate()
        self.input_shape = tuple(int(s) for s in input_shape)
        if len(self.input_shape) != 3:
            raise ValueError(f"Spikformer needs image input [C, H, W]; got {self.input_shape}")
        d, c = config.embed_dim, self.input_shape[0]
        self.sps_conv = nn.ModuleList([nn.Conv2d(c, d // 2, 3, padding=1, bias=False), nn.Conv2d(d // 2, d, 3, padding=1, bias=False)])
        self.sps_bn = nn.ModuleList([nn.BatchNorm2d(d // 2), nn.BatchNorm2d(d)])
        self.sps_lif = nn.ModuleList([_lif(config), _lif(config)])
        self.blocks = nn.ModuleList(_Block(d, config.heads, config.mlp_ratio, config, sparsity) for _ in range(config.depth))
        self.head = nn.Linear(d, n_classes)

    def sparse_layers(self) -> list[SparseLinear]:
        return [m for m in self.modules() if isinstance(m, SparseLinear)]

    def chains(self) -> list[list[int]]:
        return attention_chains(list(self.blocks), self.sparse_layers())

    def structure(self) -> dict:
        """Link sparsity of the sparse layers and the share of their outputs left without inputs."""
        return token_layers_structure([m for b in self.blocks for m in b.linears()])

    def out_degrees(self) -> list[torch.Tensor]:
        """Links leaving each input element of every synaptic layer, in forward order: the two
        patch-splitting convolutions, q, k, v, proj, fc1, fc2 of each block, the head."""
        c, hgt, wid = self.input_shape
        shapes = [(c, hgt, wid), (self.config.embed_dim // 2, hgt // 2, wid // 2)]
        degrees = [conv_out_degree(conv.weight != 0, shape, conv.padding) for conv, shape in zip(self.sps_conv, shapes)]
        linears = [m for b in self.blocks for m in b.linears()] + [self.head]
        return degrees + [out_degree(m).cpu() for m in linears]

    def batch_input(self, x: torch.Tensor, events: bool) -> torch.Tensor:
        return batch_input(x, events, self.input_shape, self.config.T)

    @torch.no_grad()
    def init_weights(self, temporal_sparsity: float = 0.5) -> None:
        rule = self.config.weight_init
        for m in self.modules():
            if isinstance(m, SparseLinear):
                s, fan_in, values = 1.0 - m.density, m.in_features, m.weight_values
            elif isinstance(m, (nn.Linear, nn.Conv2d)):
                s, fan_in, values = 0.0, m.weight[0].numel(), m.weight
            else:
                continue
            if rule == "sswi":
                std = sswi_std(fan_in, s, "last" if m is self.head else "hidden", self.config.threshold, temporal_sparsity)
            elif rule == "swi":
                std = swi_std(fan_in, s)
            else:
                std = kaiming_std(fan_in)
            values.normal_(0.0, std)

    def _sps(self, i: int, x: torch.Tensor, T: int | None, tally: _Tally) -> torch.Tensor:
        if T is None:  # static image: analog pixels, the same current at every step
            tally.events(lambda: (x != 0).sum(0).flatten() * self.config.T, "mac")
        else:
            tally.events(lambda: (x != 0).sum(0).flatten())
        y = self.sps_bn[i](self.sps_conv[i](x))
        y = y.unsqueeze(0) if T is None else y.unflatten(0, (T, -1))  # a static image's current is held
        s = self.sps_lif[i](y.reshape(*y.shape[:2], -1), steps=self.config.T).view(self.config.T, *y.shape[1:])
        tally.spikes(s)
        return torch.nn.functional.max_pool2d(s.flatten(0, 1), 2)

    def forward(self, x: torch.Tensor, recorder: ActivityRecorder | None = None, spike_noise=None) -> torch.Tensor:
        T = self.config.T
        tally = _Tally(recorder)
        static = x.dim() == 4
        if not static and spike_noise is not None:
            x = spike_noise(x)
        h = self._sps(0, x if static else x.flatten(0, 1), None if static else x.shape[0], tally)
        h = self._sps(1, h, T, tally)  # [T·B, D, H', W']
        tokens = h.flatten(2).transpose(1, 2).unflatten(0, (T, -1))  # [T, B, N, D]
        for block in self.blocks:
            tokens = block(tokens, tally)
        pooled = tokens.mean(2)  # [T, B, D]: analog token averages
        tally.ops("token_pooling", lambda: float((tokens != 0).sum()))
        tally.events(lambda: (pooled != 0).sum((0, 1)), "mac")
        if recorder is not None:
            recorder.add_samples(x.shape[0] if static else x.shape[1])
        return self.head(pooled).mean(0)

