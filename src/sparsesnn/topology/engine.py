"""The topology engine: one explicit object that initialises and evolves every sparse layer.

Call :meth:`TopologyEngine.update` after each epoch of weight training (001 §3.2, A.5):
removal (LRS / magnitude, δ-sampled) → chain removal of inactive neurons → regrowth (CH scores,
random or gradient, δ-sampled, never onto an existing link, exact count) → optimizer state
remapped. No hooks on the optimizer: the trainer passes it in.

Neurons with in-degree 0 (outputs) or out-degree 0 (inputs) after removal are dead for good:
regrowth only connects live neurons (CH scores give them no paths anyway), falling back to any
absent position only if live candidates run out.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import torch

from ..layers.sparse_conv import SparseConv2d
from ..layers.sparse_linear import SparseLinks, target_nnz
from . import init as topo_init
from .chain import chain_removal
from .config import TopologyConfig
from .optim_state import remap_param_state
from .sampling import sample_top_k
from .schedules import ZETA_SCHEDULES, sigmoid_sparsity
from .scores import CH_SCORES, link_removal_score


@dataclass
class LayerUpdate:
    """What one update did to one layer."""

    layer: int
    nnz: int
    removed: int
    chain_removed: int
    regrown: int
    overlap: float
    revived: int
    evolving: bool


def _keys(rows: torch.Tensor, cols: torch.Tensor, n_in: int) -> torch.Tensor:
    return rows * n_in + cols


class TopologyEngine:
    """Owns the topology of ``layers`` (:class:`SparseLinks`: sparse linear and conv layers).

    Args:
        layers: the sparse layers, in network order.
        config: :class:`TopologyConfig`.
        total_updates: number of update calls in training (one per epoch); evolution stops after
            ``update_fraction`` of them.
        chains: groups of indices into ``layers`` whose layers feed each other directly
            (default: maximal runs of consecutive layers whose shapes chain).
        seed: seed of the engine's own random stream (topology decisions are deterministic).

    Convolutions (:class:`SparseConv2d`) evolve on their unfolded kernel matrix at
    ``config.conv_sparsity`` with ``config.conv_regrowth`` when those are set (003 App. C:
    78 % conv / 99 % linear, CH3-L3n / CH2-L3n).
    """

    def __init__(
        self,
        layers: Sequence[SparseLinks],
        config: TopologyConfig,
        total_updates: int,
        chains: Sequence[Sequence[int]] | None = None,
        seed: int = 0,
    ) -> None:
        self.layers = list(layers)
        self.config = config.validate()
        self.final_sparsity = [self._layer_setting(l, "sparsity") for l in self.layers]
        self.total_updates = max(0, int(total_updates))
        self.evolving_updates = int(round(self.config.update_fraction * self.total_updates))
        self.chains = [list(c) for c in chains] if chains is not None else self._default_chains()
        self.generator = torch.Generator().manual_seed(seed)
        self.step = 0
        self.stopped = [False] * len(self.layers)
        # positions that have ever held a link (in-time over-parameterisation, ITOP)
        self.explored = [layer.mask().cpu() for layer in self.layers]
        for layer in self.layers:
            self._sync_alive(layer)

    def _default_chains(self) -> list[list[int]]:
        chains: list[list[int]] = []
        for i, layer in enumerate(self.layers):
            if chains and self.layers[chains[-1][-1]].out_features == layer.in_features and chains[-1][-1] == i - 1:
                chains[-1].append(i)
            else:
                chains.append([i])
        return chains

    def _layer_setting(self, layer: SparseLinks, name: str):
        """``sparsity`` / ``regrowth`` of a layer: the conv override for convolutions if set."""
        conv = getattr(self.config, "conv_" + name)
        return conv if isinstance(layer, SparseConv2d) and conv is not None else getattr(self.config, name)

    # ----- initialisation ----------------------------------------------------------------------
    def sparsity_at(self, step: int, layer: int = 0) -> float:
        c, final = self.config, self.final_sparsity[layer]
        if c.initial_sparsity is None:
            return final
        initial = min(c.initial_sparsity, final)
        return sigmoid_sparsity(step, initial, final, 0, max(1, self.evolving_updates))

    @torch.no_grad()
    def initialize(self, first_inputs: torch.Tensor | None = None, sscti_layer: int | None = 0) -> None:
        """Set every layer's initial topology (weights are left to the model's initialiser).

        ``first_inputs``: observations of the input of layer ``sscti_layer`` (``[n_obs, M]`` or
        ``[T, B, M]``), required when ``init`` is SSCTI. SSCTI initialises only that layer; the
        others start uniform random (001 §3.2.1: sparse layers behind convolutions or attention
        have no meaningful input correlations); ``sscti_layer=None`` makes all of them uniform.
        """
        c = self.config
        for i, layer in enumerate(self.layers):
            n_out, n_in = layer.shape
            nnz = target_nnz(self.sparsity_at(0, i), n_in, n_out)
            if c.init == "sscti" and i == sscti_layer:
                if first_inputs is None:
                    raise ValueError("SSCTI initialisation needs samples of the first layer's input")
                rows, cols = topo_init.sscti(first_inputs, n_out, nnz)
            elif c.init == "brf":
                rows, cols = topo_init.brf(n_out, n_in, nnz, c.brf_randomness, self.generator)
            else:  # uniform, and SSCTI's rule for layers behind the first (001 §3.2.1)
                rows, cols = topo_init.uniform_fan_in(n_out, n_in, nnz, self.generator)
            layer.replace_links(rows, cols, torch.zeros(rows.numel()))
            self._sync_alive(layer)
            self.explored[i] = layer.mask().cpu()

    @staticmethod
    def _sync_alive(layer: SparseLinks) -> None:
        layer.alive_out.copy_(layer.in_degree() > 0)

    # ----- evolution ---------------------------------------------------------------------------
    def is_evolving(self) -> bool:
        return self.config.evolve and self.step < self.evolving_updates and not all(self.stopped)

    @property
    def needs_dense_grad(self) -> bool:
        return self.config.regrowth == "gradient" and self.is_evolving()

    def _removal_keep(self, layer: SparseLinks, n_keep: int) -> torch.Tensor:
        if self.config.removal == "lrs":
            score = link_removal_score(layer.weight_values, layer.rows, layer.cols, layer.shape)
        else:
            score = layer.weight_values.detach().abs()
        keep = torch.zeros(layer.nnz, dtype=torch.bool)
        keep[sample_top_k(score.cpu(), n_keep, self.config.delta_removal, self.generator)] = True
        return keep.to(layer.rows.device)

    def _regrowth_scores(self, layer: SparseLinks, mask: torch.Tensor) -> torch.Tensor:
        rule = self._layer_setting(layer, "regrowth")
        if rule in CH_SCORES:
            return CH_SCORES[rule](mask).to(torch.float64)
        if rule == "gradient":
            if layer.dense_grad is None:
                raise RuntimeError("gradient regrowth needs a dense gradient: train a batch with track_dense_grad")
            return layer.dense_grad.abs().to(torch.float64).masked_fill(mask, 0.0)
        return torch.zeros(mask.shape, dtype=torch.float64, device=mask.device)  # random: uniform fallback

    @torch.no_grad()
    def update(self, optimizer: torch.optim.Optimizer | None = None) -> list[LayerUpdate]:
        """One prune-and-regrow cycle over every sparse layer; returns per-layer statistics."""
        if not self.is_evolving():
            self.step += 1
            return [
                LayerUpdate(i, l.nnz, 0, 0, 0, 0.0, 0, False) for i, l in enumerate(self.layers)
            ]
        c = self.config
        zeta = ZETA_SCHEDULES[c.zeta_schedule](c.zeta, self.step, self.evolving_updates)

        # 1. removal (stopped layers keep all their links)
        keeps, targets, n_removed = [], [], []
        for i, layer in enumerate(self.layers):
            target = target_nnz(self.sparsity_at(self.step + 1, i), layer.in_features, layer.out_features)
            n = layer.nnz
            n_remove = min(n, max(0, n - target) + (0 if self.stopped[i] else int(zeta * n)))
            keeps.append(self._removal_keep(layer, n - n_remove) if n_remove else torch.ones(n, dtype=torch.bool, device=layer.rows.device))
            targets.append(target)
            n_removed.append(n_remove)

        # 2. chain removal
        chain_removed = [0] * len(self.layers)
        if c.chain_removal:
            for chain in self.chains:
                if len(chain) < 2:
                    continue
                links = [(self.layers[i].rows[keeps[i]], self.layers[i].cols[keeps[i]]) for i in chain]
                masks = chain_removal(links, [self.layers[i].shape for i in chain])
                for i, m in zip(chain, masks):
                    kept_idx = keeps[i].nonzero().squeeze(1)
                    chain_removed[i] = int((~m).sum())
                    keeps[i][kept_idx[~m]] = False

        # 3. regrowth and installation
        stats = []
        for i, layer in enumerate(self.layers):
            keep = keeps[i]
            n_in = layer.in_features
            old_keys = _keys(layer.rows, layer.cols, n_in)
            kept_idx = keep.nonzero().squeeze(1)
            rows, cols = layer.rows[kept_idx], layer.cols[kept_idx]
            mask = torch.zeros(layer.shape, dtype=torch.bool, device=rows.device)
            mask[rows, cols] = True
            n_regrow = targets[i] - kept_idx.numel()
            revived = 0
            if n_regrow > 0:
                live = (mask.sum(1) > 0).unsqueeze(1) & (mask.sum(0) > 0).unsqueeze(0)
                candidates = ~mask & live
                if int(candidates.sum()) < n_regrow:  # live neurons saturated: allow revival
                    candidates = ~mask
                    revived = 1
                cand_idx = candidates.reshape(-1).nonzero().squeeze(1)
                scores = self._regrowth_scores(layer, mask).reshape(-1)[cand_idx]
                pick = cand_idx[sample_top_k(scores.cpu(), n_regrow, c.delta_regrowth, self.generator).to(cand_idx.device)]
                new_rows, new_cols = pick // n_in, pick % n_in
            else:
                new_rows = new_cols = rows.new_zeros(0)
            removed_keys = old_keys[~keep]
            regrown_keys = _keys(new_rows, new_cols, n_in)
            overlap = float(torch.isin(regrown_keys, removed_keys).sum()) / max(1, regrown_keys.numel())

            values = torch.cat([layer.weight_values.detach()[kept_idx], layer.weight_values.new_zeros(new_rows.numel())])
            src = torch.cat([kept_idx, kept_idx.new_full((new_rows.numel(),), -1)])
            old_numel = layer.nnz
            order = layer.replace_links(torch.cat([rows, new_rows]), torch.cat([cols, new_cols]), values)
            remap_param_state(optimizer, layer.weight_values, src[order], old_numel)
            self._sync_alive(layer)
            self.explored[i][new_rows.cpu(), new_cols.cpu()] = True
            layer.dense_grad = None
            if c.early_stop_overlap is not None and n_regrow > 0 and overlap > c.early_stop_overlap:
                self.stopped[i] = True
            stats.append(
                LayerUpdate(i, layer.nnz, n_removed[i], chain_removed[i], int(new_rows.numel()), overlap, revived, True)
            )
        self.step += 1
        return stats

    # ----- persistence -------------------------------------------------------------------------
    def itop(self) -> list[float]:
        """Fraction of each layer's positions that ever held a link."""
        return [float(e.float().mean()) for e in self.explored]

    def state_dict(self) -> dict:
        return {
            "step": self.step,
            "stopped": list(self.stopped),
            "generator": self.generator.get_state(),
            "explored": [e.clone() for e in self.explored],
        }

    def load_state_dict(self, state: dict) -> None:
        self.step = int(state["step"])
        self.stopped = list(state["stopped"])
        self.generator.set_state(state["generator"])
        if "explored" in state:  # absent in checkpoints written before ITOP tracking
            self.explored = [e.clone() for e in state["explored"]]
        for layer in self.layers:
            self._sync_alive(layer)
