import json
import re
import shutil
import subprocess
import time

import numpy as np
import pytest
import torch

from sparsesnn.analysis.embedding import coalescent_embedding, meta_depth
from sparsesnn.analysis.network import layered_adjacency
from sparsesnn.analysis.robustness import corrupt, rpdr
from sparsesnn.cli.main import main


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("run") / "r"
    assert main(["train", "--dataset", "digits", "--epochs", "3", "--sparsity", "0.9", "--batch-size", "32",
                 "--lr", "0.003", "--set", "model.hidden=[128]", "--out", str(out), "--no-progress"]) == 0
    assert main(["analyze", str(out), "--bootstrap", "20", "--robustness-samples", "200"]) == 0
    assert main(["report", str(out)]) == 0
    return out


def test_analysis_contract(run_dir):
    a = json.loads((run_dir / "analysis.json").read_text())
    assert a["layers"] and {"gamma", "gamma_pvalue", "xmin", "node_sparsity"} <= set(a["layers"][0])
    assert 0.0 <= a["meta_depth"] <= 1.0
    assert a["random_baseline"]["layers"][0]["links"] == a["layers"][0]["links"]
    assert {r["noise"] for r in a["robustness"]} == {"none", "bit_flip", "false_spike", "spike_dropout"}
    assert len(a["percolation"]) == 3 and 0 < a["itop"][0] <= 1


def test_report_references_only_existing_files(run_dir):
    page = (run_dir / "report" / "index.html").read_text()
    images = re.findall(r"<img src='([^']+)'", page)
    assert len(images) >= 6
    for name in images:
        assert (run_dir / "report" / name).stat().st_size > 1000


@pytest.mark.skipif(shutil.which("chromium") is None, reason="Debian's chromium is not installed")
def test_report_renders_in_headless_chromium(run_dir, tmp_path):
    page = (run_dir / "report" / "index.html").resolve()
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
             "--disable-component-update", "--disable-sync", "--no-first-run", f"--user-data-dir={tmp_path / 'profile'}",
             "--virtual-time-budget=5000"]
    dom = subprocess.run(["chromium", *flags, "--dump-dom", page.as_uri()], capture_output=True, text=True, timeout=120).stdout
    loaded = re.search(r'data-images-loaded="(\d+)/(\d+)"', dom)
    assert loaded and loaded.group(1) == loaded.group(2) and int(loaded.group(2)) >= 6
    shot = tmp_path / "shot.png"
    subprocess.run(["chromium", *flags, f"--screenshot={shot}", "--window-size=1200,2400", page.as_uri()],
                   capture_output=True, timeout=120)
    import matplotlib.image as mpimg

    pixels = mpimg.imread(shot)
    assert pixels.shape[0] > 1000 and pixels.std() > 0.05  # not a blank page


def test_embedding_of_three_layer_network_is_fast():
    g = torch.Generator().manual_seed(0)
    masks = [torch.rand(1568, 784, generator=g) < 0.025, torch.rand(1568, 1568, generator=g) < 0.025]
    adj, layer = layered_adjacency(masks)
    start = time.perf_counter()
    emb = coalescent_embedding(adj, gamma=2.5)
    assert time.perf_counter() - start < 60
    md = meta_depth(emb, layer)
    assert emb.nodes.size == 784 + 1568 + 1568 and 0 <= md["meta_depth"] <= 1


def test_embedding_separates_a_two_community_graph():
    import networkx as nx
    from scipy import sparse

    g = nx.planted_partition_graph(2, 60, 0.3, 0.005, seed=1)
    emb = coalescent_embedding(sparse.csr_matrix(nx.to_scipy_sparse_array(g)))
    truth = np.array([0] * 60 + [1] * 60)[emb.nodes]
    # communities occupy contiguous arcs: sorting by angle changes community at most a few times
    order = truth[np.argsort(emb.theta)]
    assert int((order[1:] != order[:-1]).sum()) <= 4


def test_noise_kinds():
    s = (torch.rand(4, 50, 30) < 0.3).float()
    g = torch.Generator().manual_seed(0)
    assert torch.equal(corrupt(s, "bit_flip", 1.0, g), 1 - s)
    assert bool((corrupt(s, "false_spike", 0.5, g) >= s).all())
    assert bool((corrupt(s, "spike_dropout", 0.5, g) <= s).all())
    assert torch.equal(corrupt(s, "spike_dropout", 0.0, g), s)
    assert rpdr(0.9, 0.45) == pytest.approx(0.5)
    with pytest.raises(ValueError):
        corrupt(s, "gaussian", 0.1, g)


def test_figures_are_written_atomically(tmp_path):
    """A figure that fails half-way through saving leaves the previous PNG and no temporary file."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from sparsesnn.atomic import atomic_save_figure

    path = tmp_path / "f.png"
    fig, ax = plt.subplots()
    ax.plot([0, 1], [1, 0])
    atomic_save_figure(fig, path)
    before = path.read_bytes()
    assert before[:8] == b"\x89PNG\r\n\x1a\n"

    fig, ax = plt.subplots()

    def broken(f, **kwargs):
        f.write(b"\x89PNG half")
        raise RuntimeError("renderer failed")

    fig.savefig = broken
    with pytest.raises(RuntimeError, match="renderer failed"):
        atomic_save_figure(fig, path)
    assert path.read_bytes() == before and [p.name for p in tmp_path.iterdir()] == ["f.png"]
