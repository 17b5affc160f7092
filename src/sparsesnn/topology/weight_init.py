"""Weight-initialisation scales for sparse layers.

- SSWI (001 eq. 3 / A.1 eq. 18): σ² = S_t/(n(1−S_s)) for the first layer,
  θ²√π/(√2·e^{−1/2}·n(1−S_s)) for hidden layers and θ²√π/(√2·e^{−1/2}·n) for the last one,
  n the layer's dense fan-in (``in_features``), so n(1−S_s) is the expected real fan-in.
- SWI (CHT): σ² = 2/((1−S)·fan_in) — with the *input* fan-in (the reference code uses n_out).
- Kaiming: σ² = 2/fan_in.

S_t, "temporal activation sparsity", is ambiguous in the paper. The derivation of eq. 11 keeps
Var[y] = Var[x] for Bernoulli(p) inputs, which gives Var[W] = (1 − p)/(n(1 − S_s)); so
S_t = 1 − p, the fraction of silent input slots. For analog (direct-encoded) inputs the same
derivation gives S_t = Var[x]/E[x²], which :func:`temporal_sparsity` computes (it equals 1 − p for
binary data).
"""

from __future__ import annotations

import math

import torch

_SSWI_HIDDEN = math.sqrt(math.pi) / (math.sqrt(2.0) * math.exp(-0.5))


def temporal_sparsity(samples: torch.Tensor) -> float:
    """S_t = Var[x]/E[x²] pooled over features (= 1 − firing probability for spike data)."""
    x = samples.reshape(-1, samples.shape[-1]).to(torch.float64)
    second = float((x * x).mean())
    if second == 0.0:
        raise ValueError("cannot compute temporal sparsity of an all-zero input sample")
    return float(x.var(0, unbiased=False).mean()) / second


def sswi_std(fan_in: int, sparsity: float, position: str, threshold: float = 1.0, s_t: float = 0.5) -> float:
    """Standard deviation of SSWI for a layer at ``position`` in {"first", "hidden", "last"}."""
    density = 1.0 - sparsity
    if position == "first":
        # eq. 3 has no θ here; it assumes θ = 1. LIF dynamics are invariant under scaling W and θ
        # together, so for θ ≠ 1 the first layer is scaled by θ² like the others (S-TP uses θ = 4)
        var = threshold**2 * s_t / (fan_in * density)
    elif position == "hidden":
        var = threshold**2 * _SSWI_HIDDEN / (fan_in * density)
    elif position == "last":
        var = threshold**2 * _SSWI_HIDDEN / fan_in
    else:
        raise ValueError(f"SSWI position must be first, hidden or last; got {position!r}")
    return math.sqrt(var)


def swi_std(fan_in: int, sparsity: float) -> float:
    return math.sqrt(2.0 / ((1.0 - sparsity) * fan_in))


def kaiming_std(fan_in: int) -> float:
    return math.sqrt(2.0 / fan_in)


WEIGHT_INITS = ("sswi", "swi", "kaiming")
