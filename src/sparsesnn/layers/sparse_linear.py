"""Linear layer with a persistent, truly sparse topology.

Only the ``nnz`` present links are stored (``weight_values``, row-major with index buffers
``rows``/``cols``), so weights, gradients and optimizer state of absent links do not exist and are
zero by construction. Topology changes go through :meth:`SparseLinear.replace_links`, which the
topology engine calls; nobody manipulates a dense mask.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from . import kernels
from .pattern import Pattern, sort_links


def check_sparsity(sparsity: float) -> float:
    """Validate a sparsity level: a float in [0, 1)."""
    if isinstance(sparsity, bool) or not isinstance(sparsity, (int, float)) or math.isnan(sparsity):
        raise ValueError(f"sparsity must be a number in [0, 1); got {sparsity!r}")
    if not 0.0 <= sparsity < 1.0:
        raise ValueError(f"sparsity must be in [0, 1); got {sparsity}")
    return float(sparsity)


def target_nnz(sparsity: float, n_in: int, n_out: int) -> int:
    """Exact link count of a layer at ``sparsity``: round((1 − S)·n_in·n_out), at least 1."""
    return max(1, round((1.0 - check_sparsity(sparsity)) * n_in * n_out))


class _SparseMatmul(torch.autograd.Function):
    """``y = x Wᵀ``: sparse × dense products in both directions plus a sampled product."""

    @staticmethod
    def forward(ctx, x, values, layer):  # type: ignore[override]
        p = layer.pattern
        ctx.save_for_backward(x, values)
        ctx.pattern, ctx.layer = p, layer
        return kernels.x_wt(p, values, x)

    @staticmethod
    def backward(ctx, g):  # type: ignore[override]
        x, values = ctx.saved_tensors
        p, layer = ctx.pattern, ctx.layer
        gx = kernels.g_w(p, values, g) if ctx.needs_input_grad[0] else None
        gv = kernels.value_grad(p, g, x) if ctx.needs_input_grad[1] else None
        if layer.track_dense_grad:
            # RigL needs ∂L/∂W at absent positions too: one dense product, only when asked
            dense = g.t() @ x
            layer.dense_grad = dense if layer.dense_grad is None else layer.dense_grad + dense
        return gx, gv, None


class SparseLinks(nn.Module):
    """A persistent sparse set of links of a ``(out_features, in_features)`` weight matrix:
    ``nnz`` values at explicit (output, input) positions, the storage the topology engine evolves.

    :class:`SparseLinear` multiplies by it; :class:`~sparsesnn.layers.sparse_conv.SparseConv2d`
    reads it as the unfolded (im2col) kernel matrix of a convolution.

    Args:
        in_features, out_features: dense shape of W is ``(out_features, in_features)``.
        sparsity: fraction S in [0, 1) of absent links; ``nnz = round((1 − S)·in·out)``.
        bias: learn a bias. The bias of outputs marked dead (``alive_out`` False) is masked out.
        generator: RNG for the initial uniform-fan-in topology and weights.
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        sparsity: float = 0.9,
        bias: bool = True,
        *,
        generator: torch.Generator | None = None,
    ) -> None:
        super().__init__()
        if in_features < 1 or out_features < 1:
            raise ValueError(f"{type(self).__name__} needs positive sizes; got ({in_features}, {out_features})")
        self.in_features, self.out_features = int(in_features), int(out_features)
        self.sparsity = check_sparsity(sparsity)
        nnz = target_nnz(self.sparsity, self.in_features, self.out_features)
        from ..topology.init import uniform_fan_in  # late import: topology depends on layers

        rows, cols = uniform_fan_in(self.out_features, self.in_features, nnz, generator)
        self.weight_values = nn.Parameter(torch.empty(nnz))
        self.register_buffer("rows", rows)
        self.register_buffer("cols", cols)
        self.bias = nn.Parameter(torch.zeros(self.out_features)) if bias else None
        self.register_buffer("alive_out", torch.ones(self.out_features, dtype=torch.bool))
        self.track_dense_grad = False
        self.dense_grad: torch.Tensor | None = None
        self._pattern: Pattern | None = None
        std = math.sqrt(2.0 / max(1.0, nnz / self.out_features))  # Kaiming on the real fan-in
        with torch.no_grad():
            self.weight_values.normal_(0.0, std, generator=generator)

    # ----- structure -------------------------------------------------------------------------
    @property
    def shape(self) -> tuple[int, int]:
        return (self.out_features, self.in_features)

    @property
    def nnz(self) -> int:
        return int(self.rows.numel())

    @property
    def density(self) -> float:
        return self.nnz / (self.in_features * self.out_features)

    @property
    def pattern(self) -> Pattern:
        p = self._pattern
        if p is None or p.rows is not self.rows or p.rows.device != self.rows.device:
            p = self._pattern = Pattern.build(self.rows, self.cols, self.shape)
        return p

    def in_degree(self) -> torch.Tensor:
        """Number of links into each output neuron."""
        return torch.bincount(self.rows, minlength=self.out_features)

    def out_degree(self) -> torch.Tensor:
        """Number of links out of each input neuron (its fan-out, what a spike costs)."""
        return torch.bincount(self.cols, minlength=self.in_features)

    def mask(self) -> torch.Tensor:
        """Dense boolean adjacency ``(out, in)`` — for analysis and link prediction only."""
        m = torch.zeros(self.shape, dtype=torch.bool, device=self.rows.device)
        m[self.rows, self.cols] = True
        return m

    def dense_weight(self) -> torch.Tensor:
        """Dense copy of W (zeros at absent links) — for analysis, export and tests."""
        w = torch.zeros(self.shape, dtype=self.weight_values.dtype, device=self.rows.device)
        w[self.rows, self.cols] = self.weight_values.detach()
        return w

    @torch.no_grad()
    def replace_links(self, rows: torch.Tensor, cols: torch.Tensor, values: torch.Tensor) -> torch.Tensor:
        """Install a new topology; returns the row-major permutation applied to the inputs.

        Callers that keep per-link state (the optimizer) must apply the same permutation.
        """
        if rows.shape != cols.shape or rows.shape != values.shape or rows.dim() != 1:
            raise ValueError("rows, cols and values must be 1-D tensors of equal length")
        if rows.numel() and (
            int(rows.min()) < 0 or int(rows.max()) >= self.out_features
            or int(cols.min()) < 0 or int(cols.max()) >= self.in_features
        ):
            raise ValueError(f"link index outside the layer shape {self.shape}")
        order = sort_links(rows, cols, self.in_features)
        self.rows = rows[order].contiguous()
        self.cols = cols[order].contiguous()
        self.weight_values.data = values[order].to(self.weight_values.dtype).contiguous()
        self.weight_values.grad = None
        self._pattern = None
        return order

    def effective_bias(self) -> torch.Tensor | None:
        if self.bias is None:
            return None
        return self.bias * self.alive_out.to(self.bias.dtype)

    # ----- persistence: nnz may differ between a checkpoint and a fresh module ----------------
    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):  # type: ignore[override]
        rows = state_dict.get(prefix + "rows")
        if rows is not None and rows.numel() != self.nnz:
            n = rows.numel()
            self.rows = torch.empty(n, dtype=torch.int64, device=self.rows.device)
            self.cols = torch.empty(n, dtype=torch.int64, device=self.rows.device)
            self.weight_values.data = torch.empty(n, dtype=self.weight_values.dtype, device=self.rows.device)
        self._pattern = None
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    def extra_repr(self) -> str:
        return (
            f"in_features={self.in_features}, out_features={self.out_features}, "
            f"nnz={self.nnz}, sparsity={1 - self.density:.4f}, bias={self.bias is not None}"
        )


class SparseLinear(SparseLinks):
    """``y = x Wᵀ + b`` with W stored as ``nnz`` values at explicit (output, input) positions
    (see :class:`SparseLinks` for the arguments).

    Input: ``[N, in_features]`` or ``[T, B, in_features]`` (any leading dims).
    """

    def forward(self, x: torch.Tensor, binary: bool | None = None) -> torch.Tensor:
        """``binary``: the caller knows ``x`` is 0/1 (spikes); ``None`` checks when no gradient
        is needed. Binary input without gradient takes the event-driven path."""
        if x.shape[-1] != self.in_features:
            raise ValueError(
                f"SparseLinear expects last dimension {self.in_features}; got input of shape {tuple(x.shape)}"
            )
        lead = x.shape[:-1]
        x2 = x.reshape(-1, self.in_features)
        needs_grad = torch.is_grad_enabled() and (x.requires_grad or self.weight_values.requires_grad)
        if needs_grad:
            y = _SparseMatmul.apply(x2, self.weight_values, self)
        else:  # no autograd node: its bookkeeping was ~3 % of a 99.9 % sparse product
            values = self.weight_values.detach()
            y = None if binary is False else kernels.event_forward(self.pattern, values, x2, check=binary is None)
            if y is None:
                y = kernels.x_wt(self.pattern, values, x2)
        b = self.effective_bias()
        if b is not None:
            y = y + b
        return y.reshape(*lead, self.out_features)
