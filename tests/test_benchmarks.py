"""The performance benchmark's smoke run (issue #3's contract: CI runs a tiny version of it).
Figures only have to be present and well-formed here; no timing is asserted."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[1] / "benchmarks" / "perf.py"


def test_perf_smoke_run_writes_every_figure(tmp_path):
    out = tmp_path / "perf.json"
    done = subprocess.run([sys.executable, str(BENCH), "--smoke", "--out", str(out)], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    r = json.loads(out.read_text())
    assert "perf.py --smoke" in r["command"] and r["versions"]["torch"]
    for key, ratios in (("forward_99", ("speedup_vs_fp32", "speedup_vs_bf16")), ("forward_99.9", ("speedup_vs_fp32",)),
                        ("forward_backward_99", ("speedup",)), ("event_driven_99_spikes_10", ("speedup",)), ("memory_99", ("ratio",))):
        for name in ratios:
            assert math.isfinite(r[key][name]) and r[key][name] > 0, (key, name)
    lif = r["lif_forward_backward"]
    assert lif["equal_to_plain_loop"] and lif["ours_ms"] > 0
    lp = r["link_prediction_1pct"]
    assert all(lp[f"{k}_ms"] > 0 for k in ("ch2_l3n", "ch3_l3n", "ch3_l3", "gumbel_top_k"))
    assert {p["spike_density"] for p in r["event_methods_99"]["points"]} >= {0.01, 0.2}
    assert r["native_kernels"] == (r["native_unavailable_reason"] is None)
