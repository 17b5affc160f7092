"""Link scores: Cannistraci-Hebb link prediction for regrowth and the link-removal score.

Layer layout is ``nn.Linear``'s: a mask ``M`` of shape ``(n_out, n_in)``; output u and input v
form a bipartite graph. Notation: k_out = M·1, k_in = Mᵀ·1, DD = M Mᵀ (common inputs of two
outputs), TT = Mᵀ M (common outputs of two inputs).
"""

from __future__ import annotations

import torch

from ..layers.pattern import compressed

# Paths enumerated per chunk in ch3_l3; bounds peak memory (~20 bytes per path).
_PATH_CHUNK = 1 << 22


def _check_mask(mask: torch.Tensor) -> torch.Tensor:
    if not isinstance(mask, torch.Tensor) or mask.dim() != 2:
        raise ValueError(f"mask must be a 2-D tensor (n_out, n_in); got {getattr(mask, 'shape', type(mask))}")
    return mask.to(torch.bool)


def ch3_l3(mask: torch.Tensor) -> torch.Tensor:
    """Path-based CH3-L3 score (001 eq. 5/19) of every absent link; 0 on existing links.

    CH3-L3(u, v) = Σ over paths u–a–b–v of 1/√((1 + de_a)(1 + de_b)), de the external degree
    of an intermediate node with respect to the local community of (u, v). In a bipartite
    layer this is exactly (see notes §2.1)

        Σ_{a ∈ N(u)} Σ_{b ∈ N(v) ∩ N(a)} [(k_a − TT[a, v]) · (k_b − DD[b, u])]^(−½),

    evaluated here by enumerating the ≈ nnz·d² paths around each middle link (b, a) and
    scatter-adding their weights (float64).
    """
    m = _check_mask(mask)
    n_out, n_in = m.shape
    dev = m.device
    out = torch.zeros(n_out * n_in, dtype=torch.float64, device=dev)
    rows, cols = m.nonzero(as_tuple=True)
    if rows.numel() == 0:
        return out.view(n_out, n_in)
    mf = m.to(torch.float64)
    k_out, k_in = mf.sum(1), mf.sum(0)
    dd, tt = mf @ mf.t(), mf.t() @ mf
    crow = compressed(rows, n_out)  # inputs of each output: cols[crow[b]:crow[b+1]]
    t_order = torch.argsort(cols * n_out + rows)
    ccol = compressed(cols[t_order], n_in)  # outputs of each input: t_rows[ccol[a]:ccol[a+1]]
    t_rows = rows[t_order]

    # every link (b, a) is a middle link; u ranges over N(a), v over N(b)
    ku = k_in[cols].long()
    kv = k_out[rows].long()
    n_paths = ku * kv
    ends = torch.cumsum(n_paths, 0)
    start = 0
    while start < rows.numel():
        base = int(ends[start - 1]) if start else 0
        stop = int(torch.searchsorted(ends, base + _PATH_CHUNK, right=True))
        stop = max(stop, start + 1)
        b, a = rows[start:stop], cols[start:stop]
        cnt = n_paths[start:stop]
        e = torch.repeat_interleave(torch.arange(stop - start, device=dev), cnt)
        local = torch.arange(int(cnt.sum()), device=dev) - (torch.cumsum(cnt, 0) - cnt)[e]
        kv_e = kv[start:stop][e]
        u = t_rows[ccol[a][e] + local // kv_e]
        v = cols[crow[b][e] + local % kv_e]
        be, ae = b[e], a[e]
        ok = (u != be) & (v != ae) & ~m[u, v]
        u, v, be, ae = u[ok], v[ok], be[ok], ae[ok]
        w = torch.rsqrt((k_in[ae] - tt[ae, v]) * (k_out[be] - dd[be, u]))
        out.index_add_(0, u * n_in + v, w)
        start = stop
    return out.view(n_out, n_in)


def _l3n(mask: torch.Tensor, ch2: bool) -> torch.Tensor:
    m = _check_mask(mask)
    mf = m.to(torch.float32)  # 0/1 products are exact in fp32 up to 2**24 common neighbours
    k_out, k_in = mf.sum(1), mf.sum(0)
    dd, tt = mf @ mf.t(), mf.t() @ mf

    def weight(common: torch.Tensor, k: torch.Tensor) -> torch.Tensor:
        # z an intermediate of an L3 path iff common > 0; di* = 1 + common (CH2), de* = max(1, k_z − common)
        num = (1.0 + common) if ch2 else torch.ones_like(common)
        return torch.where(common > 0, num / torch.clamp(k.unsqueeze(0) - common, min=1.0), 0.0)

    score = weight(dd, k_out) @ mf + (weight(tt, k_in) @ mf.t()).t()
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
