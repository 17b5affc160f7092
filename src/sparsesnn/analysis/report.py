"""``sparsesnn report``: a self-contained HTML page with PNG figures beside it."""

from __future__ import annotations

import html
import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from ..atomic import atomic_save_figure, atomic_write_bytes  # noqa: E402
from ..training.rundir import read_jsonl  # noqa: E402
from ..training.trainer import load_run  # noqa: E402
from .network import random_like  # noqa: E402
from .run import EMBEDDING_FILE, analyze_run  # noqa: E402


def _save(fig, path: Path) -> str:
    return atomic_save_figure(fig, path).name


def _curves(metrics: list[dict], out: Path) -> list[str]:
    epochs = [r["epoch"] for r in metrics]
    names = []
    fig, ax = plt.subplots(1, 2, figsize=(10, 3.6))
    ax[0].plot(epochs, [r["train_loss"] for r in metrics], marker="o")
    ax[0].set(xlabel="epoch", ylabel="train loss", title="Training loss")
    ax[1].plot(epochs, [r["train_accuracy"] for r in metrics], marker="o", label="train")
    ax[1].plot(epochs, [r["test_accuracy"] for r in metrics], marker="o", label="test")
    if "val_accuracy" in metrics[0]:
        ax[1].plot(epochs, [r["val_accuracy"] for r in metrics], marker="o", label="validation")
    ax[1].set(xlabel="epoch", ylabel="accuracy", title="Accuracy")
    ax[1].legend()
    names.append(_save(fig, out / "training.png"))
    fig, ax = plt.subplots(figsize=(6, 3.6))
    ax.plot(epochs, [r["link_sparsity"] for r in metrics], marker="o", label="link sparsity")
    ax.plot(epochs, [r["node_sparsity"] for r in metrics], marker="s", label="node sparsity (inactive hidden)")
    if metrics[0].get("itop"):
        ax.plot(epochs, [float(np.mean(r["itop"])) for r in metrics], marker="^", label="ITOP (ever-active positions)")
    ax.set(xlabel="epoch", ylabel="fraction", title="Sparsity and node percolation")
    ax.legend()
    names.append(_save(fig, out / "sparsity.png"))
    return names


def _energy(summary: dict, out: Path) -> str:
    layers = summary["layers"]
    fig, ax = plt.subplots(figsize=(6, 3.6))
    ax.bar([f"layer {l['layer']} ({l['kind'].upper()})" for l in layers], [l["sops_per_sample"] for l in layers])
    ax.set(ylabel="synaptic ops / sample", title=f"Energy per layer — total {summary['energy_mj_per_sample']:.3g} mJ/sample at 1.5 pJ/SOP")
    return _save(fig, out / "energy.png")


def _degrees(masks, analysis: dict, out: Path) -> str:
    fig, axes = plt.subplots(1, len(masks), figsize=(5 * len(masks), 3.8), squeeze=False)
    for i, (ax, m) in enumerate(zip(axes[0], masks)):
        trained, rnd = analysis["layers"][i], analysis["random_baseline"]["layers"][i]
        for mask, stats, label in ((m, trained, "trained"), (random_like(m, i), rnd, "random, equal density")):
            deg = np.concatenate([mask.sum(0).numpy(), mask.sum(1).numpy()])
            deg = np.sort(deg[deg > 0])
            ccdf = 1.0 - np.arange(deg.size) / deg.size
            (line,) = ax.loglog(deg, ccdf, ".", label=label)
            if stats.get("gamma"):
                x = np.array([stats["xmin"], deg.max()], dtype=float)
                tail = (deg >= stats["xmin"]).mean()
                p = stats["gamma_pvalue"]
                ax.loglog(x, tail * (x / stats["xmin"]) ** (1 - stats["gamma"]), "-", color=line.get_color(),
                          label=f"γ = {stats['gamma']:.2f}, p = {_fmt(p)}, x_min = {stats['xmin']}")
        ax.set(xlabel="degree k", ylabel="P(K ≥ k)", title=f"Layer {trained['layer']} degree distribution")
        ax.legend(fontsize=7)
    return _save(fig, out / "degrees.png")


def _embedding(run_dir: Path, analysis: dict, out: Path) -> str:
    data = np.load(run_dir / EMBEDDING_FILE)
    fig, axes = plt.subplots(1, 2, figsize=(10, 5), subplot_kw={"projection": "polar"})
    for ax, name in zip(axes, ("trained", "random")):
        layer = data[f"{name}_layer"]
        for l in np.unique(layer):
            sel = layer == l
            ax.scatter(data[f"{name}_theta"][sel], data[f"{name}_radius"][sel], s=3, label=f"neuron layer {l}")
        md = analysis["meta_depth"] if name == "trained" else analysis["random_baseline"]["meta_depth"]
        ax.set_title(f"{name}: meta-depth η² = {md:.3f}", fontsize=10)
        ax.set_yticklabels([])
        ax.legend(fontsize=7, loc="lower left")
    return _save(fig, out / "embedding.png")


def _robustness(rows: list[dict], out: Path) -> str:
    fig, ax = plt.subplots(figsize=(6, 3.6))
    for kind in sorted({r["noise"] for r in rows} - {"none"}):
        sel = [r for r in rows if r["noise"] == kind]
        ax.plot([r["ratio"] for r in sel], [r["accuracy"] for r in sel], marker="o", label=kind)
    ax.axhline(rows[0]["accuracy"], color="grey", ls="--", label="clean")
    ax.set(xlabel="noise ratio", ylabel="accuracy", title="Robustness to corrupted spike trains")
    ax.legend()
    return _save(fig, out / "robustness.png")


def _table(rows: list[dict], columns: list[str]) -> str:
    head = "".join(f"<th>{html.escape(c)}</th>" for c in columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(_fmt(r.get(c)))}</td>" for c in columns) + "</tr>" for r in rows
    )
    return f"<table><tr>{head}</tr>{body}</table>"


def _fmt(v) -> str:
    return f"{v:.4g}" if isinstance(v, float) else ("—" if v is None else str(v))


def write_report(run_dir: str | Path, bootstrap: int = 100) -> Path:
    """Write ``RUN_DIR/report/index.html`` and its figures; analyses the run first if needed."""
    run_dir = Path(run_dir)
    out = run_dir / "report"
    out.mkdir(exist_ok=True)
    analysis_path = run_dir / "analysis.json"
    analysis = json.loads(analysis_path.read_text()) if analysis_path.exists() else analyze_run(run_dir, bootstrap)
    summary = json.loads((run_dir / "summary.json").read_text())
    metrics = read_jsonl(run_dir / "metrics.jsonl")
    figures = [("Training", _curves(metrics, out)), ("Energy", [_energy(summary, out)])]
    if analysis.get("layers"):
        exp = load_run(run_dir)
        masks = [l.mask().cpu() for l in exp.model.sparse_layers()]
        figures.append(("Degree distributions", [_degrees(masks, analysis, out)]))
        figures.append(("Hyperbolic embedding (coalescent, RA1 + Laplacian eigenmaps)", [_embedding(run_dir, analysis, out)]))
    figures.append(("Robustness", [_robustness(analysis["robustness"], out)]))

    headline = {k: summary.get(k) for k in ("test_accuracy", "link_sparsity", "node_sparsity", "sops_per_sample",
                                             "energy_mj_per_sample", "energy_45nm_mj_per_sample", "firing_rate", "epochs", "seconds")}
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'><title>sparsesnn report</title>",
        "<style>body{font-family:sans-serif;max-width:1100px;margin:2em auto}table{border-collapse:collapse;margin:1em 0}"
        "td,th{border:1px solid #ccc;padding:3px 8px;font-size:13px}img{max-width:100%}</style></head><body>",
        f"<h1>sparsesnn run report</h1><p>{html.escape(str(run_dir.resolve()))}</p>",
        "<h2>Summary</h2>", _table([headline], list(headline)),
    ]
    if analysis.get("layers"):
        cols = ["layer", "shape", "links", "density", "node_sparsity", "gamma", "gamma_pvalue", "xmin", "degree_max",
                "clustering", "path_length", "sigma", "omega"]
        parts += ["<h2>Topology (trained vs random sparse network of equal density)</h2>",
                  "<h3>trained</h3>", _table(analysis["layers"], cols),
                  "<h3>random</h3>", _table(analysis["random_baseline"]["layers"], cols),
                  _table([{"network": "trained", "meta_depth": analysis["meta_depth"], "modularity": analysis["modularity"]},
                          {"network": "random", "meta_depth": analysis["random_baseline"]["meta_depth"],
                           "modularity": analysis["random_baseline"]["modularity"]}], ["network", "meta_depth", "modularity"])]
    parts += ["<h2>Robustness (RPDR, 001 eq. 27)</h2>", _table(analysis["robustness"], ["noise", "ratio", "accuracy", "rpdr"])]
    for title, names in figures:
        parts.append(f"<h2>{html.escape(title)}</h2>")
        parts += [f"<img src='{n}' alt='{html.escape(title)}'>" for n in names]
    # lets a headless browser (and the tests) confirm that every figure decoded
    parts.append("<script>window.addEventListener('load',()=>{const i=[...document.images];"
                 "document.body.dataset.imagesLoaded=i.filter(x=>x.complete&&x.naturalWidth>0).length+'/'+i.length;});</script>")
    parts.append("</body></html>")
    atomic_write_bytes(out / "index.html", "\n".join(parts).encode())
    return out / "index.html"
