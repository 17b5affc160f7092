"""Layers with truly sparse storage."""

from .sparse_linear import SparseLinear, check_sparsity, target_nnz

__all__ = ["SparseLinear", "check_sparsity", "target_nnz"]
