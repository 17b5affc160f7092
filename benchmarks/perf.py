"""Performance figures of issue #3, printed (and written) as JSON with machine, versions, command.

    python benchmarks/perf.py --out results/perf.json          # full sizes (minutes)
    python benchmarks/perf.py --smoke                           # tiny sizes, CI smoke run

The LIF figure compares with SpikingJelly where it imports (``pip install --no-deps spikingjelly
loguru``); the epoch figure needs ``--data-dir`` with the MNIST files.

Every ratio is measured in this one process; each time is the median of ``--repeats`` warm
runs, and the timings a ratio compares alternate round by round (a slow spell of this shared host
then hits both sides, not the one that happened to run during it). Each issue figure carries a
95 % bootstrap interval over those rounds, and ``targets`` says, per target of the issue, whether
the figure meets it and whether the whole interval lies on the same side of the threshold.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch

from common import provenance, write_results

from sparsesnn import native
from sparsesnn.layers import SparseLinear, kernels
from sparsesnn.neurons import lif_multistep, lif_multistep_reference
from sparsesnn.neurons import surrogate as sg
from sparsesnn.topology import ch2_l3n, ch3_l3, ch3_l3n, sample_top_k


# Issue #3's targets: (section, figure, direction, threshold)
TARGETS = {
    "forward_99_vs_dense_fp32": ("forward_99", "speedup_vs_fp32", ">=", 25),
    "forward_99_vs_dense_bf16": ("forward_99", "speedup_vs_bf16", ">=", 3),
    "forward_99.9_vs_dense_fp32": ("forward_99.9", "speedup_vs_fp32", ">=", 100),
    "forward_backward_99": ("forward_backward_99", "speedup", ">=", 20),
    "memory_99": ("memory_99", "ratio", "<=", 0.05),
    "event_driven_99_spikes_10": ("event_driven_99_spikes_10", "speedup", ">=", 30),
    "lif_vs_spikingjelly": ("lif_forward_backward", "speedup_vs_spikingjelly", ">=", 1.5),
    "ch2_l3n_ms": ("link_prediction_1pct", "ch2_l3n_ms", "<=", 100),
    "ch3_l3n_ms": ("link_prediction_1pct", "ch3_l3n_ms", "<=", 100),
    "ch3_l3_ms": ("link_prediction_1pct", "ch3_l3_ms", "<=", 1000),
    "mnist_epoch_98_ratio": ("mnist_epoch_98", "ratio_sparse_over_dense", "<=", 0.5),
}
BOOTSTRAP = 10_000


def round_times_ms(fns: dict, repeats: int) -> dict[str, list[float]]:
    """Milliseconds of every function in each of ``repeats`` rounds; each round times every
    function once, right after an untimed call of it (the other functions evict its operands from
    the caches: timed right after the dense product, the 99.9 % forward measured ~30 % slower)."""
    times: dict = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            fn()
            t = time.perf_counter()
            fn()
            times[name].append(1000 * (time.perf_counter() - t))
    return times


def medians_ms(fns: dict, repeats: int) -> dict:
    return {name: statistics.median(v) for name, v in round_times_ms(fns, repeats).items()}


def interval95(statistic, *rounds: list[float]) -> list[float]:
    """95 % percentile-bootstrap interval of ``statistic`` (vectorised over the last axis) of the
    rounds, resampled together: the timings of one round ran back to back, so they stay paired."""
    idx = np.random.default_rng(0).integers(0, len(rounds[0]), (BOOTSTRAP, len(rounds[0])))
    values = statistic(*(np.asarray(r)[idx] for r in rounds))
    return np.percentile(values, [2.5, 97.5]).tolist()


def speedup(rounds: dict, slow: str, fast: str) -> tuple[float, list[float]]:
    """median(slow) / median(fast) over the rounds, with its interval."""
    value = statistics.median(rounds[slow]) / statistics.median(rounds[fast])
    return value, interval95(lambda a, b: np.median(a, -1) / np.median(b, -1), rounds[slow], rounds[fast])


def ratios(rounds: dict, fast: str, figures: dict[str, str]) -> dict:
    """Medians of every timing; per ``figure: slow`` the speedup of ``fast`` over ``slow`` and
    its interval (``<figure>_ci95``); and the rounds themselves."""
    out = {name: statistics.median(v) for name, v in rounds.items()}
    for figure, slow in figures.items():
        out[figure], out[f"{figure}_ci95"] = speedup(rounds, slow, fast)
    return {**out, "rounds_ms": rounds}


def verdicts(results: dict, targets: dict = TARGETS) -> dict:
    """Per target: the figure, its interval, whether it meets the target, and whether the whole
    interval does the same (False: on this noisy host the run could have come out either way)."""
    out = {}
    for name, (section, key, direction, threshold) in targets.items():
        value = (results.get(section) or {}).get(key)
        if value is None:
            out[name] = None
            continue
        ci = results[section].get(f"{key}_ci95")
        meets = (lambda x: x >= threshold) if direction == ">=" else (lambda x: x <= threshold)
        out[name] = {"target": f"{direction} {threshold}", "value": value, "ci95": ci, "met": meets(value),
                     "clear_of_noise": None if ci is None else meets(ci[0]) == meets(ci[1])}
    return out


def dense_masked(layer: SparseLinear):
    w = layer.dense_weight()
    return w, layer.mask().to(w.dtype)


def bench_forward(n: int, rows: int, sparsity: float, repeats: int) -> dict:
    layer = SparseLinear(n, n, sparsity, bias=False)
    x = torch.randn(rows, n)
    w, mask = dense_masked(layer)
    wm = w * mask
    w16, x16 = wm.bfloat16(), x.bfloat16()
    with torch.no_grad():
        torch.testing.assert_close(layer(x, binary=False), x @ wm.t(), rtol=1e-4, atol=1e-3)
        r = round_times_ms({"sparse_ms": lambda: layer(x, binary=False), "dense_fp32_ms": lambda: x @ wm.t(),
                            "dense_bf16_ms": lambda: x16 @ w16.t()}, repeats)
    figures = {"speedup_vs_fp32": "dense_fp32_ms", "speedup_vs_bf16": "dense_bf16_ms"}
    return {"sparsity": sparsity, "backend": kernels.backend(layer.pattern, x), **ratios(r, "sparse_ms", figures)}


def bench_forward_backward(n: int, rows: int, sparsity: float, repeats: int) -> dict:
    layer = SparseLinear(n, n, sparsity, bias=False)
    w, mask = dense_masked(layer)
    w = w.requires_grad_()
    x = torch.randn(rows, n, requires_grad=True)
    g = torch.randn(rows, n)

    def sparse():
        x.grad = layer.weight_values.grad = None
        layer(x).backward(g)

    def dense():  # the reference implementations' way: masked dense weight, masked gradient
        x.grad = w.grad = None
        (x @ (w * mask).t()).backward(g)
        w.grad.mul_(mask)

    r = round_times_ms({"sparse_ms": sparse, "dense_masked_fp32_ms": dense}, repeats)
    return {"sparsity": sparsity, **ratios(r, "sparse_ms", {"speedup": "dense_masked_fp32_ms"})}


def bench_memory(n: int, sparsity: float) -> dict:
    """Bytes of parameters, gradients, Adam state and index structures after a real step."""
    def measure(module: torch.nn.Module) -> int:
        opt = torch.optim.Adam(module.parameters())
        module(torch.randn(4, n)).sum().backward()
        opt.step()
        params = sum(p.numel() * p.element_size() * 2 for p in module.parameters())  # value + grad
        state = sum(v.numel() * v.element_size() for s in opt.state.values() for v in s.values() if torch.is_tensor(v))
        buffers = sum(b.numel() * b.element_size() for b in module.buffers())
        if isinstance(module, SparseLinear):
            p = module.pattern
            buffers += sum(t.numel() * t.element_size() for t in (p.crow, p.t_perm, p.t_crow, p.t_col))
        return params + state + buffers

    sparse = measure(SparseLinear(n, n, sparsity, bias=False))
    dense = measure(torch.nn.Linear(n, n, bias=False))
    return {"sparsity": sparsity, "sparse_bytes": sparse, "dense_bytes": dense, "ratio": sparse / dense}


def bench_event(n: int, rows: int, sparsity: float, spike_density: float, repeats: int) -> dict:
    layer = SparseLinear(n, n, sparsity, bias=False)
    x = (torch.rand(rows, n) < spike_density).float()
    w, mask = dense_masked(layer)
    wm = w * mask
    with torch.no_grad():
        torch.testing.assert_close(layer(x, binary=True), x @ wm.t(), rtol=1e-4, atol=1e-3)
        r = round_times_ms({"event_ms": lambda: layer(x, binary=True), "dense_fp32_ms": lambda: x @ wm.t()}, repeats)
    return {"sparsity": sparsity, "spike_density": spike_density, **ratios(r, "event_ms", {"speedup": "dense_fp32_ms"})}


def bench_event_crossover(n: int, rows: int, sparsity: float, repeats: int) -> dict:
    """The event kernel's two methods forced, over spike densities: where the scatter stops being
    the cheaper one sets ``kernels.SCATTER_PER_LINK`` (= ``EVENT_TILE`` × that density: a tile of
    E samples at density ρ makes E·ρ·nnz scatter updates)."""
    layer = SparseLinear(n, n, sparsity, bias=False)
    p, v = layer.pattern, layer.weight_values.detach()
    points = []
    with torch.no_grad():
        for density in (0.01, 0.02, 0.03, 0.05, 0.1, 0.2):
            x = (torch.rand(rows, n) < density).float()
            t = medians_ms({name: lambda r=r: kernels.event_forward(p, v, x, scatter_per_link=r)
                            for name, r in (("scatter_ms", float("inf")), ("tiles_ms", 0.0), ("auto_ms", kernels.SCATTER_PER_LINK))}, repeats)
            points.append({"spike_density": density, **t})
    crossover = None
    for a, b in zip(points, points[1:]):  # first sign change of scatter - tiles, linearly interpolated
        da, db = a["scatter_ms"] - a["tiles_ms"], b["scatter_ms"] - b["tiles_ms"]
        if da <= 0 < db:
            crossover = a["spike_density"] + (b["spike_density"] - a["spike_density"]) * -da / (db - da)
            break
    return {"sparsity": sparsity, "points": points, "crossover_density": crossover,
            "scatter_per_link_measured": None if crossover is None else kernels.EVENT_TILE * crossover,
            "scatter_per_link_in_use": kernels.SCATTER_PER_LINK}


def bench_lif(T: int, B: int, N: int, repeats: int) -> dict:
    cur = torch.randn(T, B, N) * 1.2
    fn = sg.get("arctan")
    out = {"shape": [T, B, N]}

    def ours():
        c = cur.clone().requires_grad_()
        lif_multistep(c, 0.5, 1.0, fn).sum().backward()

    def reference():
        c = cur.clone().requires_grad_()
        lif_multistep_reference(c, 0.5, 1.0, fn).sum().backward()

    fns = {"ours_ms": ours, "plain_loop_ms": reference}
    out["equal_to_plain_loop"] = bool(torch.equal(lif_multistep(cur, 0.5, 1.0, fn), lif_multistep_reference(cur, 0.5, 1.0, fn)))
    try:
        from spikingjelly.activation_based import neuron, surrogate

        def sj():
            node = neuron.LIFNode(tau=2.0, decay_input=False, v_threshold=1.0, v_reset=0.0,
                                  surrogate_function=surrogate.ATan(), step_mode="m")
            c = cur.clone().requires_grad_()
            node(c).sum().backward()

        node = neuron.LIFNode(tau=2.0, decay_input=False, v_threshold=1.0, v_reset=0.0,
                              surrogate_function=surrogate.ATan(), step_mode="m")
        out["equal_to_spikingjelly"] = bool(torch.equal(node(cur), lif_multistep(cur, 0.5, 1.0, fn)))
        fns["spikingjelly_ms"] = sj
    except ImportError as exc:  # SpikingJelly 2.0 also imports loguru at import time
        out["spikingjelly_ms"], out["spikingjelly_unavailable"] = None, f"{type(exc).__name__}: {exc}"
    r = round_times_ms(fns, repeats)
    return {**out, **ratios(r, "ours_ms", {"speedup_vs_spikingjelly": "spikingjelly_ms"} if "spikingjelly_ms" in r else {})}


def bench_link_prediction(n: int, density: float, repeats: int) -> dict:
    mask = torch.rand(n, n, generator=torch.Generator().manual_seed(0)) < density
    res = {"n": n, "density": density}
    scores = ch3_l3n(mask)[~mask]
    k = int(mask.sum())
    res["candidates"] = int(scores.numel())
    for name, fn in (("ch2_l3n", lambda: ch2_l3n(mask)), ("ch3_l3n", lambda: ch3_l3n(mask)), ("ch3_l3", lambda: ch3_l3(mask)),
                     ("gumbel_top_k", lambda: sample_top_k(scores, k, 0.5))):
        rounds = round_times_ms({"fn": fn}, repeats)["fn"]
        res[f"{name}_ms"] = statistics.median(rounds)
        res[f"{name}_ms_ci95"] = interval95(lambda a: np.median(a, -1), rounds)
        res[f"{name}_ms_rounds"] = rounds
    return res


def bench_epoch(data_dir: str | None, rounds: int = 3) -> dict | None:
    """One CH-SNN MNIST epoch (weight training + topology update; evaluation reported apart) at
    98 % sparsity vs the dense FC epoch, same run: ``rounds`` fresh one-epoch runs of each,
    alternating sparse and dense (a slow spell of the host hits both), medians compared."""
    if data_dir is None or not (Path(data_dir) / "train-images-idx3-ubyte.gz").exists():
        return None
    import tempfile

    from sparsesnn.training import RunConfig, train

    here = Path(__file__).resolve().parent
    times: dict[str, dict[str, list[float]]] = {"sparse": {}, "dense": {}}
    for _ in range(rounds):
        for name, dense in (("sparse", False), ("dense", True)):
            cfg = RunConfig.from_file(here.parent / "configs" / "chsnn_mnist.yaml")
            cfg.set("data.data_dir", data_dir)
            cfg.set("train.epochs", 1)
            cfg.set("topology.sparsity", 0.98)
            cfg.set("train.dense", dense)
            cfg.set("train.checkpoint", False)
            with tempfile.TemporaryDirectory() as d:
                train(cfg, d, progress=False)
                rec = json.loads((Path(d) / "metrics.jsonl").read_text().splitlines()[-1])
            # the epoch: weight training + topology update (evaluation excluded)
            epoch = rec["train_seconds"] + rec["topology_seconds"]
            for key, value in (("epoch_s", epoch), ("topology_s", rec["topology_seconds"]),
                               ("evaluation_s", rec["epoch_seconds"] - epoch)):
                times[name].setdefault(key, []).append(value)
    out = {"rounds": rounds}
    for name, by_key in times.items():
        for key, values in by_key.items():
            out[f"{name}_{key}"] = statistics.median(values)
        out[f"{name}_epoch_s_rounds"] = by_key["epoch_s"]
    out["ratio_sparse_over_dense"] = out["sparse_epoch_s"] / out["dense_epoch_s"]
    return out


def cpu() -> dict:
    """The CPU the figures come from: model, family and the vector extensions the kernels and
    torch's dense products can use (the dense bf16 figure moves 40x between hosts with and
    without bf16 units)."""
    try:
        lines = Path("/proc/cpuinfo").read_text().splitlines()
    except OSError:
        return {"model": platform.processor() or "unknown"}
    field = lambda key: next((ln.split(":", 1)[1].strip() for ln in lines if ln.startswith(key)), "")  # noqa: E731
    flags = set(field("flags").split())
    return {"model": field("model name"), "family": field("cpu family"), "model_number": field("model\t"),
            "simd": sorted(flags & {"avx2", "fma", "avx512f", "avx512_bf16", "amx_bf16", "amx_tile"})}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--smoke", action="store_true", help="tiny sizes (CI)")
    ap.add_argument("--repeats", type=int, default=15, help="timings per median (this 2-core host moves ±25 %% between runs)")
    ap.add_argument("--data-dir", default=None, help="MNIST folder for the end-to-end epoch figure")
    ap.add_argument("--epoch-rounds", type=int, default=3, help="fresh one-epoch runs of each side for the epoch figure")
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    n, rows, lp_n, reps = (256, 64, 128, 2) if args.smoke else (4096, 800, 4096, args.repeats)
    lif = (2, 4, 32) if args.smoke else (8, 100, 1568)
    results = {
        "forward_99": bench_forward(n, rows, 0.99, reps),
        "forward_99.9": bench_forward(n, rows, 0.999, reps),
        "forward_backward_99": bench_forward_backward(n, rows, 0.99, reps),
        "memory_99": bench_memory(n, 0.99),
        "event_driven_99_spikes_10": bench_event(n, rows, 0.99, 0.10, reps),
        "event_methods_99": bench_event_crossover(n, rows, 0.99, reps),
        "lif_forward_backward": bench_lif(*lif, reps),
        "link_prediction_1pct": bench_link_prediction(lp_n, 0.01 if not args.smoke else 0.05, max(1, reps // 2)),
        "mnist_epoch_98": None if args.smoke else bench_epoch(args.data_dir, args.epoch_rounds),
        "torch_threads": torch.get_num_threads(),
        "cpu": cpu(),
        "native_kernels": native.available(),
        "native_unavailable_reason": native.reason(),
    }
    results["targets"] = verdicts(results)
    print(json.dumps({**provenance(), **results}, indent=2))
    if args.out:
        write_results(args.out, results)


if __name__ == "__main__":
    sys.exit(main())
