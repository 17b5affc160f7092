"""``sparsesnn analyze``: the numbers of a run directory, written to ``analysis.json``."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..atomic import atomic_write_json
from ..layers.sparse_linear import SparseLinear
from ..training.rundir import read_jsonl
from ..training.trainer import load_run
from .network import analyze_masks
from .robustness import robustness_table

EMBEDDING_FILE = "analysis-embedding.npz"


def analyze_run(run_dir: str | Path, bootstrap: int = 100, robustness_samples: int = 2000, seed: int = 0) -> dict:
    """Topology statistics (per sparse layer and whole network, next to a random network of equal
    density), training-time percolation and ITOP, and the robustness table."""
    run_dir = Path(run_dir)
    exp = load_run(run_dir)
    metrics = read_jsonl(run_dir / "metrics.jsonl")
    result: dict = {
        "percolation": [
            {"epoch": r["epoch"], "node_sparsity": r.get("node_sparsity"), "link_sparsity": r.get("link_sparsity"), "itop": r.get("itop")}
            for r in metrics
        ],
    }
    sparse_layers = [i for i, l in enumerate(exp.model.synapses) if isinstance(l, SparseLinear)]
    if sparse_layers:
        masks = [exp.model.synapses[i].mask().cpu() for i in sparse_layers]
        net = analyze_masks(masks, bootstrap=bootstrap, seed=seed)
        embeddings = net.pop("_embeddings")
        for entry, index in zip(net["layers"], sparse_layers):
            entry["layer"] = index
        for entry, index in zip(net["random_baseline"]["layers"], sparse_layers):
            entry["layer"] = index
        result.update(net)
        arrays = {}
        for name, (emb, layer_of) in embeddings.items():
            arrays.update({f"{name}_theta": emb.theta, f"{name}_radius": emb.radius, f"{name}_layer": layer_of[emb.nodes]})
        np.savez_compressed(run_dir / EMBEDDING_FILE, **arrays)
    else:
        result.update({"layers": [], "meta_depth": None, "note": "dense run: no sparse layers to analyse"})
    if exp.engine is not None:
        result["itop"] = exp.engine.itop()
    n = min(robustness_samples, len(exp.test))
    result["robustness"] = robustness_table(exp.model, exp.test.subset(np.arange(n)), seed=seed)
    result["robustness_samples"] = n
    atomic_write_json(run_dir / "analysis.json", result)
    return result

