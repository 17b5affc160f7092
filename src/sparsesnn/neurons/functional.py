"""Pure multi-step LIF dynamics (001 eq. 1) with an explicit ``[T, B, ...]`` layout.

    h(t) = (1 − z(t−1)) · α · h(t−1) + I(t),     z(t) = H(h(t) − θ)

``h`` is the membrane potential after integration; a spike resets it to zero at the next step
(hard reset). :func:`lif_multistep` runs the whole window in one autograd node with a
hand-written BPTT backward (compiled with numba on CPU, a torch loop elsewhere), which
avoids T small autograd nodes per layer;
:func:`lif_multistep_reference` is the plain autograd loop it is tested against.
"""

from __future__ import annotations

import torch

from . import surrogate as sg

try:
    from . import _numba_lif as _nl
except Exception:  # pragma: no cover - numba missing: the torch loop runs
    _nl = None


class _SpikeFn(torch.autograd.Function):
    """Heaviside forward, surrogate backward (used by the reference loop)."""

    @staticmethod
    def forward(ctx, x, fn):  # type: ignore[override]
        ctx.save_for_backward(x)
        ctx.fn = fn
        return (x >= 0).to(x.dtype)

    @staticmethod
    def backward(ctx, grad):  # type: ignore[override]
        (x,) = ctx.saved_tensors
        return grad * ctx.fn(x), None


def spike(x: torch.Tensor, fn: sg.Surrogate) -> torch.Tensor:
    """H(x) with surrogate gradient ``fn``."""
    return _SpikeFn.apply(x, fn)


def lif_multistep_reference(
    current: torch.Tensor,
    alpha: float,
    threshold: float,
    surrogate: sg.Surrogate,
    detach_reset: bool = False,
) -> torch.Tensor:
    """Straightforward time loop of 001 eq. 1; autograd does BPTT."""
    h = torch.zeros_like(current[0])
    z = torch.zeros_like(current[0])
    out = []
    for t in range(current.shape[0]):
        keep = 1.0 - (z.detach() if detach_reset else z)
        h = keep * alpha * h + current[t]
        z = spike(h - threshold, surrogate)
        out.append(z)
    return torch.stack(out)


class _LIFMultiStep(torch.autograd.Function):
    @staticmethod
    def forward(ctx, current, alpha, threshold, fn, detach_reset, grad_start, steps):  # type: ignore[override]
        ctx.alpha, ctx.threshold, ctx.fn, ctx.detach_reset = alpha, threshold, fn, detach_reset
        ctx.grad_start = grad_start
        ctx.compiled = _compiled(current)
        held = current.shape[0] == 1  # one current for every step (direct encoding)
        ctx.held_shape = current.shape if held else None
        out_shape = (steps, *current.shape[1:])
        if ctx.compiled:
            flat = current.detach().reshape(current.shape[0], -1).contiguous().numpy()
            spikes, hs = _nl.lif_forward(flat, steps, alpha, threshold)
            spikes, hs = torch.from_numpy(spikes).view(out_shape), torch.from_numpy(hs).view(out_shape)
            ctx.save_for_backward(hs, spikes)
            return spikes
        hs = current.new_empty(out_shape)
        spikes = current.new_empty(out_shape)
        h = torch.zeros_like(current[0])
        z = torch.zeros_like(current[0])
        for t in range(steps):
            # h ← (1 − z)·α·h + I(t), written as α·h − α·h·z to reuse buffers
            h = torch.addcmul(current[0 if held else t], h, 1.0 - z, value=alpha)
            z = (h >= threshold).to(current.dtype)
            hs[t] = h
            spikes[t] = z
        ctx.save_for_backward(hs, spikes)
        return spikes

    @staticmethod
    def backward(ctx, grad_spikes):  # type: ignore[override]
        hs, spikes = ctx.saved_tensors
        alpha, threshold, fn = ctx.alpha, ctx.threshold, ctx.fn
        held = ctx.held_shape is not None
        none = (None,) * 6
        if ctx.compiled:
            # a gradient broadcast over time (stride 0, e.g. from a time average) is read as one row
            steady = grad_spikes.stride(0) == 0
            g = (grad_spikes[:1] if steady else grad_spikes).reshape(1 if steady else hs.shape[0], -1).contiguous().numpy()
            h = hs.reshape(hs.shape[0], -1).numpy()
            out = _nl.lif_backward(g, h, alpha, threshold, fn.code, fn.alpha, ctx.detach_reset, ctx.grad_start, held)
            return (torch.from_numpy(out).view(ctx.held_shape if held else hs.shape), *none)
        grad_current = grad_spikes.new_zeros(ctx.held_shape) if held else torch.zeros_like(grad_spikes)
        gh_next = torch.zeros_like(grad_spikes[0])  # ∂L/∂h(t+1)
        for t in range(hs.shape[0] - 1, ctx.grad_start - 1, -1):
            h, z = hs[t], spikes[t]
            gz = grad_spikes[t]
            if not ctx.detach_reset:
                # h(t+1) depends on z(t) through the reset: ∂h(t+1)/∂z(t) = −α·h(t)
                gz = gz - alpha * gh_next * h
            gh = gz * fn(h - threshold) + gh_next * alpha * (1.0 - z)
            grad_current[0 if held else t] += gh
            gh_next = gh
        return (grad_current, *none)


def _compiled(current: torch.Tensor) -> bool:
    return _nl is not None and current.device.type == "cpu" and current.dtype in (torch.float32, torch.float64)


def lif_multistep(
    current: torch.Tensor,
    alpha: float,
    threshold: float,
    surrogate: sg.Surrogate,
    detach_reset: bool = False,
    grad_start: int = 0,
    steps: int | None = None,
) -> torch.Tensor:
    """Spikes ``[T, B, ...]`` of LIF neurons driven by ``current`` ``[T, B, ...]`` (001 eq. 1), or
    by ``current`` ``[1, B, ...]`` held for ``steps`` = T steps (direct encoding: the first layer's
    current is computed once; its gradient, the sum over steps, comes out of the same pass).

    ``grad_start`` > 0 truncates BPTT: steps before it receive no gradient (S-TP windows).
    """
    if current.dim() < 2:
        raise ValueError(f"LIF input must be [T, B, ...]; got shape {tuple(current.shape)}")
    steps = current.shape[0] if steps is None else int(steps)
    if steps < 1 or current.shape[0] not in (1, steps):
        raise ValueError(f"LIF input must have 1 or steps={steps} time steps; got shape {tuple(current.shape)}")
    return _LIFMultiStep.apply(current, float(alpha), float(threshold), surrogate, bool(detach_reset), int(grad_start), steps)
