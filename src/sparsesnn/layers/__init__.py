"""Layers with truly sparse storage."""

from .sparse_conv import SparseConv2d
from .sparse_linear import SparseLinear, SparseLinks, check_sparsity, target_nnz

__all__ = ["SparseConv2d", "SparseLinear", "SparseLinks", "check_sparsity", "target_nnz"]
