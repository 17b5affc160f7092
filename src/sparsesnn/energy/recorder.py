"""Collects per-layer input events and spikes during evaluation, then reports SOPs and energy."""

from __future__ import annotations

import torch

from .sops import energy_45nm_mj, energy_anp1_mj, synaptic_ops


class ActivityRecorder:
    """Accumulates what the network really did over any number of batches.

    The model calls :meth:`add_events` with each synaptic layer's input and :meth:`add_spikes`
    with each spiking population's output; :meth:`report` turns the totals into per-sample
    SOPs, energy and firing rates.
    """

    def __init__(self) -> None:
        self.events: dict[int, torch.Tensor] = {}
        self.kinds: dict[int, str] = {}
        self.spikes: dict[int, torch.Tensor] = {}
        self.slots: dict[int, int] = {}  # (time steps × samples) seen by each population
        self.ops: dict[str, float] = {}  # accumulates that are not event × out-degree (attention, residuals)
        self.samples = 0

    def add_events(self, layer: int, counts: torch.Tensor, kind: str) -> None:
        """``counts``: per-input event totals of one batch; ``kind``: "ac" (spikes) or "mac" (analog)."""
        c = counts.detach().to(torch.float64).cpu()
        self.events[layer] = self.events.get(layer, 0) + c
        self.kinds[layer] = kind

    def add_spikes(self, population: int, spikes: torch.Tensor) -> None:
        """``spikes``: ``[T, B, N]`` output of a spiking population."""
        s = spikes.detach()
        self.spikes[population] = self.spikes.get(population, 0) + s.sum(dim=(0, 1)).to(torch.float64).cpu()
        self.slots[population] = self.slots.get(population, 0) + s.shape[0] * s.shape[1]

    def add_ops(self, name: str, acs: float) -> None:
        """Data-dependent accumulates of one batch that no fixed out-degree describes, e.g. the
        spike products of self-attention or residual additions (counted as ACs)."""
        self.ops[name] = self.ops.get(name, 0.0) + float(acs)

    def add_samples(self, n: int) -> None:
        self.samples += int(n)

    def report(self, out_degrees: list[torch.Tensor]) -> dict:
        """Per-sample SOPs/energy and firing statistics; ``out_degrees[i]``: links leaving each
        input element of synaptic layer i (the model's ``out_degrees()``)."""
        if self.samples == 0:
            raise ValueError("no samples recorded")
        per_layer, macs, acs = [], 0.0, 0.0
        for i, degree in enumerate(out_degrees):
            ops = synaptic_ops(self.events[i], degree.cpu()) / self.samples
            kind = self.kinds[i]
            macs += ops if kind == "mac" else 0.0
            acs += ops if kind == "ac" else 0.0
            per_layer.append({"layer": i, "kind": kind, "sops_per_sample": ops})
        other = {name: total / self.samples for name, total in sorted(self.ops.items())}
        acs += sum(other.values())
        total_spikes = sum(float(s.sum()) for s in self.spikes.values())
        slots = sum(self.slots[p] * self.spikes[p].numel() for p in self.spikes)
        firing = [
            {
                "population": p,
                "spikes_per_sample": float(s.sum()) / self.samples,
                "firing_rate": float(s.sum()) / (self.slots[p] * s.numel()),
                "silent_fraction": float((s == 0).to(torch.float64).mean()),
            }
            for p, s in sorted(self.spikes.items())
        ]
        sops = macs + acs
        return {
            "sops_per_sample": sops,
            "macs_per_sample": macs,
            "acs_per_sample": acs,
            "energy_mj_per_sample": energy_anp1_mj(sops),
            "energy_45nm_mj_per_sample": energy_45nm_mj(macs, acs),
            "spikes_per_sample": total_spikes / self.samples,
            "firing_rate": total_spikes / slots if slots else 0.0,
            "layers": per_layer,
            "other_acs_per_sample": other,
            "populations": firing,
        }
