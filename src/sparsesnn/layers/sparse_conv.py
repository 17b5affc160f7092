"""Convolution whose kernel tensor has a persistent sparse topology (CHT-Conv, 003 App. B).

The topology lives on the *unfolded* kernel matrix ``(C_out, C_in·k·k)``: the im2col view in
which a convolution is a linear layer applied at every position. A link (o, (c, dy, dx)) is one
shared kernel weight, so weight sharing is kept, and the Cannistraci-Hebb scores of the topology
engine (CH3-L3n for convolutions in 003) run on that bipartite graph unchanged.

The product itself scatters the ``nnz`` values into a dense kernel and calls the convolution
routine: kernel tensors are small, and the convolution's cost is dominated by its im2col/GEMM,
which a structured routine does best on CPU. What a spike *costs* is still counted on the
sparse topology (:func:`sparsesnn.energy.sops.conv_out_degree`).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from .sparse_linear import SparseLinks


class SparseConv2d(SparseLinks):
    """``Conv2d(in_channels, out_channels, kernel_size, padding)`` with ``sparsity`` of its kernel
    entries absent. Input ``[N, C_in, H, W]``."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int,
        sparsity: float = 0.5,
        padding: int = 0,
        bias: bool = True,
        *,
        generator: torch.Generator | None = None,
    ) -> None:
        self.in_channels, self.kernel_size = int(in_channels), int(kernel_size)
        super().__init__(in_channels * kernel_size * kernel_size, out_channels, sparsity, bias, generator=generator)
        self.out_channels = int(out_channels)
        self.padding = int(padding)

    def kernel(self) -> torch.Tensor:
        """Dense kernel ``[C_out, C_in, k, k]`` (zeros at absent links), differentiable in the values."""
        w = self.weight_values.new_zeros(self.shape).index_put((self.rows, self.cols), self.weight_values)
        if self.track_dense_grad and w.requires_grad:
            w.register_hook(self._accumulate_dense_grad)
        k = self.kernel_size
        return w.view(self.out_channels, self.in_channels, k, k)

    def _accumulate_dense_grad(self, grad: torch.Tensor) -> None:
        # RigL: ∂L/∂W at absent kernel entries too (the dense kernel gradient costs nothing extra here)
        self.dense_grad = grad.detach().clone() if self.dense_grad is None else self.dense_grad + grad.detach()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 4 or x.shape[1] != self.in_channels:
            raise ValueError(f"SparseConv2d expects [N, {self.in_channels}, H, W]; got input of shape {tuple(x.shape)}")
        return F.conv2d(x, self.kernel(), self.effective_bias(), padding=self.padding)

    def extra_repr(self) -> str:
        return (
            f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, padding={self.padding}, "
            f"nnz={self.nnz}, sparsity={1 - self.density:.4f}, bias={self.bias is not None}"
        )
