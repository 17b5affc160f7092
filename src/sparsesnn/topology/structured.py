"""Post-training pruning baselines for the sparse-ANN → SNN pipeline: structured (003 §4.1:
DepGraph, Fang et al. 2023, via ``torch-pruning``, which needs no torchvision) and one-shot
unstructured magnitude pruning (static magnitude pruning).

A trained *dense* ANN loses whole neurons (linear) or channels (conv) — groups found by
DepGraph's dependency graph, ranked by their L2 magnitude — in every layer but the output
layer, at the same ratio per layer; the result is rebuilt as a smaller dense
:class:`~sparsesnn.models.ann.SparseANN` (so training, conversion and SOP counting work
unchanged) and fine-tuned. Its link sparsity relative to the original layer is
1 − (kept outputs × kept inputs)/(outputs × inputs): keeping 10 % of the neurons of two
adjacent hidden layers leaves 1 % of the links between them.
"""

from __future__ import annotations

import copy
import dataclasses
import warnings

import torch

from ..layers.sparse_linear import SparseLinks
from ..models.ann import SparseANN


def _require_dense(model: SparseANN) -> None:
    if any(isinstance(s, SparseLinks) for s in model.synapses):
        raise ValueError("post-training pruning starts from a dense ANN (train it with --dense)")


@torch.no_grad()
def magnitude_prune(model: SparseANN, sparsity: float, conv_sparsity: float | None = None) -> SparseANN:
    """The sparse twin of a trained dense ANN keeping, in every layer CHT would sparsify, the
    entries of largest |w| (one-shot, per layer; kernels unfolded as ``(C_out, C_in·k·k)``, the
    view CHT-Conv evolves); the output layer, biases and activation thresholds are copied."""
    _require_dense(model)
    sparse = SparseANN(model.input_shape, model.synapses[-1].weight.shape[0], model.config, sparsity, conv_sparsity)
    sparse.activations.load_state_dict(model.activations.state_dict())
    for new, old in zip(sparse.synapses, model.synapses):
        w = old.weight.reshape(old.weight.shape[0], -1)
        if isinstance(new, SparseLinks):
            keep = torch.topk(w.abs().flatten(), new.nnz).indices
            new.replace_links(keep // w.shape[1], keep % w.shape[1], w.flatten()[keep])
        else:
            new.weight.copy_(old.weight)
        if old.bias is not None:
            new.bias.copy_(old.bias)
    return sparse.eval()


def structured_prune(model: SparseANN, ratio: float, example: torch.Tensor) -> tuple[SparseANN, list[float]]:
    """(the pruned, rebuilt model; each synaptic layer's link sparsity relative to ``model``)."""
    try:
        import torch_pruning as tp
    except ImportError as exc:
        raise ImportError("structured pruning needs torch-pruning: pip install torch-pruning") from exc
    if not 0.0 < ratio < 1.0:
        raise ValueError(f"pruning ratio must be in (0, 1); got {ratio}")
    _require_dense(model)
    if model.config.activation == "csqcfs":
        raise ValueError("structured pruning supports qcfs and relu activations (per-channel CS-QCFS thresholds are not tracked)")
    pruned = copy.deepcopy(model).eval()
    with warnings.catch_warnings():  # QCFS's scalar λ is reported as an unwrapped parameter; it has nothing to prune
        warnings.filterwarnings("ignore", message="Unwrapped parameters detected")
        pruner = tp.pruner.MetaPruner(pruned, example, importance=tp.importance.GroupMagnitudeImportance(p=2),
                                      pruning_ratio=ratio, ignored_layers=[pruned.synapses[-1]])
        pruner.step()
    widths = iter(s.weight.shape[0] for s in pruned.synapses)
    tokens = [tok if tok[:2] in ("AP", "MP") else
              (f"{next(widths)}C{tok.split('C')[1]}" if "C" in tok else str(next(widths))) for tok in model.config.spec()]
    cfg = model.config
    cfg = dataclasses.replace(cfg, hidden=[int(t) for t in tokens]) if cfg.arch == "mlp" else dataclasses.replace(cfg, arch="-".join(tokens))
    rebuilt = SparseANN(model.input_shape, pruned.synapses[-1].weight.shape[0], cfg, sparsity=None)
    rebuilt.load_state_dict(pruned.state_dict())
    sparsity = [1.0 - a.weight.numel() / b.weight.numel() for a, b in zip(rebuilt.synapses, model.synapses)]
    return rebuilt.eval(), sparsity
