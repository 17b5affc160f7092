"""A small Vision Transformer (Dosovitskiy et al. 2021; pre-LayerNorm blocks as DeiT, Touvron et
al. 2021) with Cannistraci-Hebb-sparse linear layers, trained as an ANN and converted to an SNN
with DCGS (003 §4.4, App. C.1.2, C.4).

Patches of ``patch_size``² pixels are embedded by a dense linear layer, a class token and learned
position embeddings are added, ``depth`` blocks apply x + proj(MHSA(LN(x))) and
x + fc2(GELU(fc1(LN(x)))), and a dense head reads the final LayerNorm of the class token. The
block layers q, k, v, proj, fc1, fc2 are :class:`SparseLinear` when ``sparsity`` is given (003
sparsifies the linear layers of the blocks; patch embedding and head stay dense).

The forward pass is written once against :class:`TensorOps` — the arithmetic of the ANN — and
the converter substitutes differential-coded spiking arithmetic
(:class:`~sparsesnn.conversion.vit.DifferentialOps`): every ``ops.encode`` is where DCGS puts a
multi-threshold neuron (before every linear layer and on both operands of the two attention
products), ``ops.analog`` a non-linearity it evaluates on decoded values (LayerNorm, softmax,
GELU). All code indexes dimensions from the end, so the same pass runs on ``[B, …]`` (ANN) and
on ``[T + 1, B, …]`` frames (SNN).
"""

from __future__ import annotations

from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn

from ..layers.sparse_linear import SparseLinear
from ..topology.weight_init import kaiming_std, swi_std
from .config import ModelConfig
from .layout import batch_input
from .structure import attention_chains, token_layers_structure


class TensorOps:
    """The ANN's arithmetic (identity encoders). ``taps``, if given, receives every encoder's
    input in forward order (threshold calibration)."""

    def __init__(self, taps: list | None = None) -> None:
        self.taps = taps

    def linear(self, layer: nn.Module, x: torch.Tensor, analog_input: bool = False) -> torch.Tensor:
        return layer(x)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        if self.taps is not None:
            self.taps.append(x.detach())
        return x

    def analog(self, f: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor) -> torch.Tensor:
        return f(x)

    def matmul(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return a @ b

    def residual(self, x: torch.Tensor, branch: torch.Tensor) -> torch.Tensor:
        return x + branch


def _linear(d_in: int, d_out: int, sparsity: float | None) -> nn.Module:
    return SparseLinear(d_in, d_out, sparsity) if sparsity is not None else nn.Linear(d_in, d_out)


class _Block(nn.Module):
    def __init__(self, d: int, heads: int, mlp_ratio: int, sparsity: float | None) -> None:
        super().__init__()
        self.heads, self.scale = heads, (d // heads) ** -0.5
        self.ln1, self.ln2 = nn.LayerNorm(d), nn.LayerNorm(d)
        self.q, self.k, self.v, self.proj = (_linear(d, d, sparsity) for _ in range(4))
        self.fc1, self.fc2 = _linear(d, mlp_ratio * d, sparsity), _linear(mlp_ratio * d, d, sparsity)

    def linears(self) -> list[nn.Module]:
        """Synaptic layers in the order the forward pass meets them."""
        return [self.q, self.k, self.v, self.proj, self.fc1, self.fc2]

    def forward(self, x: torch.Tensor, ops: TensorOps) -> torch.Tensor:
        h = ops.encode(ops.analog(self.ln1, x))  # [..., N, D]

        def heads(t: torch.Tensor) -> torch.Tensor:  # [..., N, D] → [..., H, N, D/H]
            return t.unflatten(-1, (self.heads, -1)).transpose(-3, -2)

        q = ops.encode(heads(ops.linear(self.q, h)) * self.scale)
        k = ops.encode(heads(ops.linear(self.k, h)))
        v = ops.encode(heads(ops.linear(self.v, h)))
        attn = ops.encode(ops.analog(lambda s: s.softmax(-1), ops.matmul(q, k.transpose(-2, -1))))
        out = ops.encode(ops.matmul(attn, v).transpose(-3, -2).flatten(-2))
        x = ops.residual(x, ops.linear(self.proj, out))
        hidden = ops.encode(ops.analog(F.gelu, ops.linear(self.fc1, ops.encode(ops.analog(self.ln2, x)))))
        return ops.residual(x, ops.linear(self.fc2, hidden))


class SparseViT(nn.Module):
    """Image ``[B, C, H, W]`` → logits ``[B, n_classes]`` (``model.arch: vit``, ``model.kind:
    ann``; ``embed_dim``, ``heads``, ``depth``, ``mlp_ratio``, ``patch_size`` from the config)."""

    spiking = False

    def __init__(self, input_shape: tuple[int, ...], n_classes: int, config: ModelConfig, sparsity: float | None = None) -> None:
        super().__init__()
        self.config = config.validate()
        self.input_shape = tuple(int(s) for s in input_shape)
        p, d = config.patch_size, config.embed_dim
        if len(self.input_shape) != 3 or self.input_shape[1] % p or self.input_shape[2] % p:
            raise ValueError(f"ViT needs image input [C, H, W] with H and W multiples of model.patch_size ({p}); got {self.input_shape}")
        c, hgt, wid = self.input_shape
        self.tokens = (hgt // p) * (wid // p) + 1
        self.embed = nn.Linear(c * p * p, d)
        self.cls = nn.Parameter(torch.zeros(d))
        self.pos = nn.Parameter(torch.zeros(self.tokens, d))
        self.blocks = nn.ModuleList(_Block(d, config.heads, config.mlp_ratio, sparsity) for _ in range(config.depth))
        self.norm = nn.LayerNorm(d)
        self.head = nn.Linear(d, n_classes)

    @property
    def synapses(self) -> list[nn.Module]:
        """Every synaptic layer in forward order: embedding, q, k, v, proj, fc1, fc2 per block, head."""
        return [self.embed, *(m for b in self.blocks for m in b.linears()), self.head]

    def patches(self, x: torch.Tensor) -> torch.Tensor:
        """``[..., C, H, W]`` → ``[..., N, C·p·p]`` non-overlapping patches, row-major."""
        p = self.config.patch_size
        u = x.unfold(-2, p, p).unfold(-2, p, p)  # [..., C, H/p, W/p, p, p]
        return u.movedim(-5, -3).flatten(-5, -4).flatten(-3)

    def forward(self, x: torch.Tensor, recorder=None, ops: TensorOps | None = None) -> torch.Tensor:
        """Logits of ``x`` ``[B, C, H, W]``; with ``ops`` (a converter's), ``x`` may carry leading
        frame dimensions. ``recorder`` is accepted for the trainer's interface: an ANN's energy
        belongs to its converted SNN."""
        if tuple(x.shape[-3:]) != self.input_shape:
            raise ValueError(f"expected input [B, {self.input_shape}]; got {tuple(x.shape)}")
        ops = TensorOps() if ops is None else ops
        t = ops.linear(self.embed, self.patches(x), analog_input=True)
        t = torch.cat([self.cls.expand(*t.shape[:-2], 1, -1), t], -2) + self.pos  # constants: the same in every frame
        for block in self.blocks:
            t = block(t, ops)
        return ops.linear(self.head, ops.encode(ops.analog(self.norm, t.select(-2, 0))))

    # ----- what the trainer and the topology engine use ---------------------------------------
    def sparse_layers(self) -> list[SparseLinear]:
        return [m for m in self.synapses if isinstance(m, SparseLinear)]

    def chains(self) -> list[list[int]]:
        return attention_chains(list(self.blocks), self.sparse_layers())

    def structure(self) -> dict:
        return token_layers_structure([m for b in self.blocks for m in b.linears()])

    def batch_input(self, x: torch.Tensor, events: bool) -> torch.Tensor:
        if events:
            raise ValueError("the ViT takes static images; event data needs a spiking model")
        return batch_input(x, False, self.input_shape, self.config.T)

    @torch.no_grad()
    def init_weights(self, temporal_sparsity: float = 0.5) -> None:
        """Linear weights by the configured rule (``swi``: the sparse fan-in, ``kaiming``), biases
        zero, class token and position embeddings N(0, 0.02²) as in ViT."""
        for m in self.synapses:
            sparse = isinstance(m, SparseLinear)
            s = 1.0 - m.density if sparse else 0.0
            std = swi_std(m.in_features, s) if self.config.weight_init == "swi" else kaiming_std(m.in_features)
            (m.weight_values if sparse else m.weight).normal_(0.0, std)
            m.bias.zero_()
        self.cls.normal_(0.0, 0.02)
        self.pos.normal_(0.0, 0.02)
