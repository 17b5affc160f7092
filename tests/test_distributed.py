import json
import subprocess
import sys

import torch

COMMON = ["--dataset", "digits", "--sparsity", "0.8", "--seed", "5", "--batch-size", "32",
          "--set", "model.hidden=[64]", "--no-progress"]


def _torchrun(*args):
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
           "-m", "sparsesnn", "train", *args]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]


def test_two_ranks_hold_identical_topology_and_weights(tmp_path):
    out = tmp_path / "ddp"
    _torchrun(*COMMON, "--epochs", "4", "--out", str(out))
    records = [json.loads(l) for l in (out / "metrics.jsonl").read_text().splitlines()]
    assert len(records) == 4
    for r in records:
        a, b = r["rank_fingerprints"]
        assert a == b
    assert sum(t["regrown"] for r in records[:3] for t in r["topology"]) > 0  # topology really evolved
    summary = json.loads((out / "summary.json").read_text())
    assert summary["world_size"] == 2 and summary["test_accuracy"] > 0.3


def test_two_ranks_equal_one_process_with_same_global_batch(tmp_path):
    from sparsesnn.cli.main import main

    static = ["--set", "topology.evolve=false", "--epochs", "2"]
    _torchrun(*COMMON, *static, "--out", str(tmp_path / "ddp"))
    assert main(["train", *COMMON, *static, "--out", str(tmp_path / "one")]) == 0
    a = torch.load(tmp_path / "ddp" / "checkpoint.pt", weights_only=False)["model"]
    b = torch.load(tmp_path / "one" / "checkpoint.pt", weights_only=False)["model"]
    for k in a:
        if a[k].is_floating_point():
            torch.testing.assert_close(a[k], b[k], rtol=1e-4, atol=1e-5)  # summation order differs
        else:
            assert torch.equal(a[k], b[k])
