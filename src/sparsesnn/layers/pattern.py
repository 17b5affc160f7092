"""Index structure of a sparse ``(n_out, n_in)`` weight matrix: CSR by output, plus its transpose.

Links are kept sorted row-major (by output, then input) so the value vector *is* the CSR value
array; the transpose is a permutation of it.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch


def sort_links(rows: torch.Tensor, cols: torch.Tensor, n_in: int) -> torch.Tensor:
    """Permutation that sorts links row-major; raises if a link appears twice."""
    key = rows * n_in + cols
    order = torch.argsort(key)
    sorted_key = key[order]
    if sorted_key.numel() > 1 and bool((sorted_key[1:] == sorted_key[:-1]).any()):
        raise ValueError("duplicate links in sparse topology")
    return order


def compressed(index: torch.Tensor, n: int) -> torch.Tensor:
    """CSR pointer array (length n + 1) of a sorted index vector."""
    ptr = torch.zeros(n + 1, dtype=torch.int64, device=index.device)
    ptr[1:] = torch.cumsum(torch.bincount(index, minlength=n), 0)
    return ptr


@dataclass(frozen=True)
class Pattern:
    """CSR of W (rows = outputs) and of Wᵀ (rows = inputs) for links sorted row-major."""

    shape: tuple[int, int]
    rows: torch.Tensor
    cols: torch.Tensor
    crow: torch.Tensor
    t_perm: torch.Tensor  # values[t_perm] are the values of Wᵀ in CSR order
    t_crow: torch.Tensor
    t_col: torch.Tensor
    # int32 copies for the kernels: MKL's sparse routines take 32-bit indices natively and run
    # ~1.6x faster with them than with int64 ones, which torch would convert on every call
    index: tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]

    @classmethod
    def build(cls, rows: torch.Tensor, cols: torch.Tensor, shape: tuple[int, int]) -> "Pattern":
        n_out, n_in = shape
        t_perm = torch.argsort(cols * n_out + rows)
        crow, t_crow, t_col = compressed(rows, n_out), compressed(cols[t_perm], n_in), rows[t_perm]
        small = rows.numel() < 2**31 and max(shape) < 2**31
        idx = torch.int32 if small else torch.int64
        return cls(
            shape=shape,
            rows=rows,
            cols=cols,
            crow=crow,
            t_perm=t_perm,
            t_crow=t_crow,
            t_col=t_col,
            index=(crow.to(idx), cols.to(idx), t_crow.to(idx), t_col.to(idx)),
        )

    @property
    def nnz(self) -> int:
        return int(self.rows.numel())
