"""Spikformer (Zhou et al. 2022, ICLR 2023) with CH-SNN-sparse linear layers (001 §4, Table 1).

Spiking patch splitting (conv–BN–LIF stages with max pooling) turns an image into N spike tokens
of width D; each encoder block applies spiking self-attention — Q, K, V = LIF(BN(Linear(x))),
attention = LIF(Q Kᵀ V · s) without softmax (all operands are spikes) — and a two-layer spiking
MLP, both with residual connections. The head averages the tokens. Every linear layer but the
head is a :class:`SparseLinear` when ``sparsity`` is given; convolutions stay dense.

Layout ``[T, B, N, D]``. The paper's configuration is depth 8, D = 512, 8 heads, T = 4;
``configs/spikformer_mnist.yaml`` holds a small one that trains on a CPU.
"""

from __future__ import annotations

import torch
from torch import nn

from ..layers.sparse_linear import SparseLinear
from ..neurons.lif import LIF
from ..topology.weight_init import kaiming_std, sswi_std, swi_std
from .config import ModelConfig
from .layout import batch_input


def _lif(cfg: ModelConfig) -> LIF:
    return LIF(cfg.alpha, cfg.threshold, cfg.surrogate, cfg.surrogate_alpha, cfg.detach_reset)


def _linear(d_in: int, d_out: int, sparsity: float | None) -> nn.Module:
    return SparseLinear(d_in, d_out, sparsity, bias=False) if sparsity is not None else nn.Linear(d_in, d_out, bias=False)


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

    def _seq(self, layer, bn, lif, x):
        y = bn(layer(x))
        T, B = y.shape[:2]
        return lif(y.reshape(T, B, -1)).view_as(y)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        T, B, N, D = x.shape
        h = self.heads

        def split(t):  # [T, B, N, D] → [T, B, h, N, D/h]
            return t.view(T, B, N, h, D // h).transpose(2, 3)

        q = split(self._seq(self.q, self.q_bn, self.q_lif, x))
        k = split(self._seq(self.k, self.k_bn, self.k_lif, x))
        v = split(self._seq(self.v, self.v_bn, self.v_lif, x))
        attn = (q @ k.transpose(-2, -1)) @ v * self.scale  # spikes only: no softmax
        attn = attn.transpose(2, 3).reshape(T, B, N, D)
        attn = self.attn_lif(attn.reshape(T, B, -1)).view(T, B, N, D)
        x = x + self._seq(self.proj, self.proj_bn, self.proj_lif, attn)
        hidden = self._seq(self.fc1, self.fc1_bn, self.fc1_lif, x)
        return x + self._seq(self.fc2, self.fc2_bn, self.fc2_lif, hidden)


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
        """Sparse layers whose outputs feed each other channel by channel: (v, proj) and (fc1, fc2)."""
        index = {id(m): i for i, m in enumerate(self.sparse_layers())}
        if not index:
            return []
        chains = []
        for b in self.blocks:
            chains += [[index[id(b.v)], index[id(b.proj)]], [index[id(b.fc1)], index[id(b.fc2)]], [index[id(b.q)]], [index[id(b.k)]]]
        return chains

    def structure(self) -> dict:
        """Link sparsity of the sparse layers and the share of their outputs left without inputs."""
        layers = [m for m in self.modules() if isinstance(m, (SparseLinear, nn.Linear)) and m is not self.head]
        links = sum(int(m.in_degree().sum()) if isinstance(m, SparseLinear) else m.weight.numel() for m in layers)
        slots = sum(m.in_features * m.out_features for m in layers)
        dead = sum(int((m.in_degree() == 0).sum()) for m in layers if isinstance(m, SparseLinear))
        return {"link_sparsity": 1.0 - links / slots, "node_sparsity": dead / sum(m.out_features for m in layers), "links": links}

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

    def _sps(self, i: int, x: torch.Tensor, T: int | None) -> torch.Tensor:
        y = self.sps_bn[i](self.sps_conv[i](x))
        if T is None:  # static image: same current at every step
            y = y.unsqueeze(0).expand(self.config.T, *y.shape)
        else:
            y = y.unflatten(0, (T, -1))
        s = self.sps_lif[i](y.reshape(*y.shape[:2], -1)).view_as(y)
        return torch.nn.functional.max_pool2d(s.flatten(0, 1), 2)

    def forward(self, x: torch.Tensor, recorder=None, spike_noise=None) -> torch.Tensor:
        if recorder is not None:
            raise NotImplementedError("SOP accounting of spiking self-attention is not implemented")
        T = self.config.T
        static = x.dim() == 4
        if not static and spike_noise is not None:
            x = spike_noise(x)
        h = self._sps(0, x if static else x.flatten(0, 1), None if static else x.shape[0])
        h = self._sps(1, h, T)  # [T·B, D, H', W']
        tokens = h.flatten(2).transpose(1, 2).unflatten(0, (T, -1))  # [T, B, N, D]
        for block in self.blocks:
            tokens = block(tokens)
        return self.head(tokens.mean(2)).mean(0)

