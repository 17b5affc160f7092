"""Link scores: Cannistraci-Hebb link prediction for regrowth and the link-removal score.

Layer layout is ``nn.Linear``'s: a mask ``M`` of shape ``(n_out, n_in)``; output u and input v
form a bipartite graph. Notation: k_out = M·1, k_in = Mᵀ·1, DD = M Mᵀ (common inputs of two
outputs), TT = Mᵀ M (common outputs of two inputs).
"""

from __future__ import annotations

import torch

from .. import native
from ..layers import kernels
from ..layers.pattern import Pattern

# Paths enumerated per chunk in ch3_l3; bounds peak memory (~20 bytes per path).
_PATH_CHUNK = 1 << 22


def _check_mask(mask: torch.Tensor) -> torch.Tensor:
    if not isinstance(mask, torch.Tensor) or mask.dim() != 2:
        raise ValueError(f"mask must be a 2-D tensor (n_out, n_in); got {getattr(mask, 'shape', type(mask))}")
    return mask.to(torch.bool)


def _links(m: torch.Tensor) -> tuple[Pattern, torch.Tensor, torch.Tensor]:
    """Pattern of the mask with the degrees k_out (links per output) and k_in, float64."""
    rows, cols = native.nonzero(m)
    p = Pattern.build(rows, cols, tuple(m.shape))
    return p, p.crow.diff().to(torch.float64), p.t_crow.diff().to(torch.float64)


def ch3_l3(mask: torch.Tensor) -> torch.Tensor:
    """Path-based CH3-L3 score (001 eq. 5/19) of every absent link; 0 on existing links.

    CH3-L3(u, v) = Σ over paths u–a–b–v of 1/√((1 + de_a)(1 + de_b)), de the external degree
    of an intermediate node with respect to the local community of (u, v). In a bipartite
    layer this is exactly (see notes §2.1)

        Σ_{a ∈ N(u)} Σ_{b ∈ N(v) ∩ N(a)} [(k_a − TT[a, v]) · (k_b − DD[b, u])]^(−½).

    On CPU the compiled kernel enumerates the paths of each output u (cost ∝ nnz·d², DD[·, u] and
    TT[a, ·] counted in O(n) scratch rows, no N×N or (m+n)² intermediate);
    elsewhere a vectorised torch version scatter-adds chunks of paths. Result in float64.
    """
    m = _check_mask(mask)
    n_out, n_in = m.shape
    index = native.mask_csr(m)
    if index is not None:
        out = native.empty(n_out, n_in, dtype=torch.float64)
        native.call("ch3_l3", *index, n_out, n_in, out)
        return out
    p, k_out, k_in = _links(m)
    if p.nnz == 0:
        return torch.zeros(n_out, n_in, dtype=torch.float64, device=m.device)
    return _ch3_l3_torch(m, p, k_out, k_in)


def _ch3_l3_torch(m: torch.Tensor, p: Pattern, k_out: torch.Tensor, k_in: torch.Tensor) -> torch.Tensor:
    n_out, n_in = m.shape
    dev = m.device
    out = torch.zeros(n_out * n_in, dtype=torch.float64, device=dev)
    mf = m.to(torch.float64)
    dd, tt = mf @ mf.t(), mf.t() @ mf
    rows, cols = p.rows, p.cols
    # every link (b, a) is a middle link; u ranges over N(a), v over N(b)
    kv = k_out[rows].long()
    n_paths = k_in[cols].long() * kv
    ends = torch.cumsum(n_paths, 0)
    start = 0
    while start < rows.numel():
        base = int(ends[start - 1]) if start else 0
        stop = max(int(torch.searchsorted(ends, base + _PATH_CHUNK, right=True)), start + 1)
        b, a = rows[start:stop], cols[start:stop]
        cnt = n_paths[start:stop]
        e = torch.repeat_interleave(torch.arange(stop - start, device=dev), cnt)
        local = torch.arange(int(cnt.sum()), device=dev) - (torch.cumsum(cnt, 0) - cnt)[e]
        kv_e = kv[start:stop][e]
        u = p.t_col[p.t_crow[a][e] + local // kv_e]
        v = cols[p.crow[b][e] + local % kv_e]
        be, ae = b[e], a[e]
        ok = (u != be) & (v != ae) & ~m[u, v]
        u, v, be, ae = u[ok], v[ok], be[ok], ae[ok]
        w = torch.rsqrt((k_in[ae] - tt[ae, v]) * (k_out[be] - dd[be, u]))
        out.index_add_(0, u * n_in + v, w)
        start = stop
    return out.view(n_out, n_in)


def _l3n(mask: torch.Tensor, ch2: bool) -> torch.Tensor:
    """S = A·M + M·Bᵀ with A[u,b] = f(DD[u,b], k_b), B[v,a] = f(TT[v,a], k_a), f the node weight
    (see :func:`ch2_l3n`). A and B are dense (two-hop neighbourhoods cover a large part of the
    layer); both products are sparse(M) × dense, ≈ 2·nnz·n operations instead of dense GEMMs."""
    m = _check_mask(mask)
    n_out, n_in = m.shape
    index = native.mask_csr(m)
    if index is not None:
        crow, col, t_crow, t_col = index
        k_out, k_in = crow.diff().float(), t_crow.diff().float()
        score = native.empty(n_out, n_in)
        # A·M, tile by tile of outputs u: count DD[u, ·], weight, gather over b ∈ N(v)
        native.call("l3n_term", crow, col, t_crow, t_col, k_out, n_out, int(ch2), t_crow, t_col, n_in, score, n_in, 0, 0)
        # += M·Bᵀ, tile by tile of inputs v: count TT[v, ·], weight, gather over a ∈ N(u)
        native.call("l3n_term", t_crow, t_col, crow, col, k_in, n_in, int(ch2), crow, col, n_out, score, n_in, 1, 1)
        native.call("zero_links", crow, col, n_out, score, n_in)
        return score
    p, k_out, k_in = _links(m)
    mf = m.to(torch.float32)  # 0/1 sums are exact in fp32 up to 2**24 common neighbours
    dd = kernels.csr_times_dense(p, mf.t())  # M Mᵀ
    tt = kernels.csr_times_dense(p, mf, transpose=True)  # Mᵀ M

    def weight_t(common: torch.Tensor, k: torch.Tensor) -> torch.Tensor:
        # transposed weights W[z, x] = f(common[z, x], k_z): z is an L3 intermediate iff
        # common > 0; di* = 1 + common (CH2) or 1 (CH3); de* = max(1, k_z − common); common is symmetric
        num = (1.0 + common) if ch2 else torch.ones_like(common)
        return torch.where(common > 0, num / torch.clamp(k.to(common.dtype).unsqueeze(1) - common, min=1.0), 0.0)

    score = kernels.csr_times_dense(p, weight_t(dd, k_out), transpose=True).t() + kernels.csr_times_dense(p, weight_t(tt, k_in))
    return score.masked_fill_(m, 0.0)


def ch2_l3n(mask: torch.Tensor) -> torch.Tensor:
    """Node-based CH2-L3n (003 eq. A3): Σ over intermediate nodes z of di*_z / de*_z.

    CH2-L3n(u, v) = Σ_{b ~ v, DD[u,b] > 0} (1 + DD[u,b]) / max(1, k_b − DD[u,b])
                  + Σ_{a ~ u, TT[v,a] > 0} (1 + TT[v,a]) / max(1, k_a − TT[v,a]);  0 on existing links.
    """
    return _l3n(mask, ch2=True)


def ch3_l3n(mask: torch.Tensor) -> torch.Tensor:
    """Node-based CH3-L3n (003 eq. A4): as :func:`ch2_l3n` with numerator 1."""
    return _l3n(mask, ch2=False)


def link_removal_score(
    values: torch.Tensor, rows: torch.Tensor, cols: torch.Tensor, shape: tuple[int, int]
) -> torch.Tensor:
    """Hybrid link-removal score LRS (001 eq. 4) of every present link.

    LRS = |W| / (1 + Σ|W| into the output) + |W| / (1 + Σ|W| out of the input).
    """
    a = values.detach().abs()
    s_out = torch.zeros(shape[0], dtype=a.dtype, device=a.device).index_add_(0, rows, a)
    s_in = torch.zeros(shape[1], dtype=a.dtype, device=a.device).index_add_(0, cols, a)
    return a / (1.0 + s_out[rows]) + a / (1.0 + s_in[cols])


CH_SCORES = {"ch3_l3": ch3_l3, "ch2_l3n": ch2_l3n, "ch3_l3n": ch3_l3n}
