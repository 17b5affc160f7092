"""HRSNN on Lorenz63 (issue #5 acceptance runs): HoNHoS vs HeNHeS over seeds (with the other two
STDP ablations; HoNB / HeNB, the recurrent layer trained by BPTT instead; and both neuron kinds
untrained, the control for either training), an equal-size echo
state network on the same protocol (its ridge chosen on the validation stretch of the training
series, seeds 100–102), then LNP on HeNHeS networks with AP and Erdős–Rényi baselines at
equal size. Every network is scored on window 0 (``nrmse``: the 100 steps right after training,
the issue's protocol) and on ``--windows`` back-to-back closed-loop windows (``nrmse_windows``,
their mean: one window's NRMSE swings with where on the attractor it starts).

LNP runs on the HeNHeS networks of ``--lnp-seeds`` (the ablation's five and ten more, built the
same way): five networks cannot tell a paired difference from chance (a one-sided signed-rank
test's smallest p is 1/32). The claims are judged, as fixed before the run, by one-sided paired
Wilcoxon signed-rank tests on the mean NRMSE over windows at α = 0.05: LNP below AP, LNP below
the random network, and LNP below 1.1 × the unpruned network (``paired_tests``). A control added
afterwards, the unpruned networks without their recurrent synapses (``recurrence_control``), tells
whether the task uses the recurrence at all; another, an Erdős–Rényi network carrying LNP's own
weights and τ (``matched_random_test``), compares topologies alone.

The LNP comparison is drawn network by network in ``<out>_lnp.png``; ``--replot`` redraws it from
an existing ``--out`` file without running anything.

    python benchmarks/hrsnn_lorenz.py --neurons 500 --seeds 0 1 2 3 4 --windows 10 --out results/hrsnn_lorenz.json
"""

from __future__ import annotations

import dataclasses
import json
from multiprocessing import Pool
from pathlib import Path

import numpy as np
from common import hrsnn_parser, one_thread, write_results
from scipy import stats

from sparsesnn.recurrent.esn import ESNConfig, esn_forecast
from sparsesnn.recurrent.lnp_run import run_lnp
from sparsesnn.recurrent.plots import plot_lnp_networks
from sparsesnn.recurrent.run import TaskConfig, reservoir_config, run_reservoir, task_series, validation_stretch

ESN_KEYS = ("nrmse", "nrmse_lyapunov_time", "one_step_nrmse", "vpt", "vpt_lyapunov_times", "nrmse_windows", "vpt_windows")
ESN_RIDGES = (1e-6, 1e-4, 1e-2, 1.0)


def aggregate(rows: list[dict], keys: tuple[str, ...]) -> dict:
    """Mean and std per key over runs (None values, e.g. the spike efficiency of a reservoir
    silent during the memory test, left out and counted)."""
    return {k: {"mean": float(np.mean(v)) if v else None, "std": float(np.std(v)) if v else None, "defined_runs": len(v)}
            for k in keys for v in [[r[k] for r in rows if r[k] is not None]]}


def esn_baseline(neurons: int, task: TaskConfig, seeds: list[int]) -> dict:
    """Equal-size ESN on ``task``: ridge α by mean validation NRMSE over seeds 100–102, then the
    test seeds."""
    validation = {}
    for ridge in ESN_RIDGES:
        val, u = validation_stretch(dataclasses.replace(task, ridge=ridge))
        validation[ridge] = float(np.mean([esn_forecast(ESNConfig(neurons=neurons, seed=s), val, u)["nrmse"] for s in (100, 101, 102)]))
    ridge = min(validation, key=validation.get)
    task = dataclasses.replace(task, ridge=ridge)
    u, _, _ = task_series(task)
    rows = [{k: r[k] for k in ESN_KEYS} for s in seeds for r in [esn_forecast(ESNConfig(neurons=neurons, seed=s), task, u)]]
    return {"config": {**ESNConfig(neurons=neurons).__dict__, "ridge": ridge}, "validation_nrmse_by_ridge": validation,
            "runs": rows, **aggregate(rows, ESN_KEYS)}


PRE_REGISTERED = ("unpruned", "lnp", "activity_pruning", "random")  # what paired_tests compares
VARIANTS = (*PRE_REGISTERED, "random_matched")
LNP_KEYS = ("neurons", "synapses", "nrmse", "nrmse_lyapunov_time", "vpt", "nrmse_windows", "vpt_windows", "sops_per_step", "sop_ratio")


def per_network(runs: list[dict], variant: str, keys: tuple[str, ...]) -> dict:
    """Per key, ``variant``'s value on every network with their median, mean and std."""
    return {k: {"values": vals, "median": float(np.median(vals)), "mean": float(np.mean(vals)), "std": float(np.std(vals))}
            for k in keys for vals in [[r[variant][k] for r in runs]]}


def lnp_over_seeds(runs: list[dict]) -> dict:
    """LNP on every HeNHeS network: per variant the per-seed values with median, mean and std
    (closed-loop NRMSE blows up now and then, so the median is the robust figure), and on how
    many networks LNP beats AP and random, and stays within 10 % of the unpruned network, by
    NRMSE (window 0: ``lnp_wins``; mean over windows: ``lnp_wins_windows``), by NRMSE over the
    first Lyapunov time and by the mean VPT over windows (higher is better; the notes' §7 figures)."""
    out: dict = {"runs": runs, **{v: per_network(runs, v, LNP_KEYS) for v in VARIANTS}}
    for key, name, sign in (("nrmse", "lnp_wins", 1), ("nrmse_windows", "lnp_wins_windows", 1),
                            ("nrmse_lyapunov_time", "lnp_wins_lyapunov_time", 1), ("vpt_windows", "lnp_wins_vpt_windows", -1)):
        e = {v: sign * np.array(out[v][key]["values"]) for v in VARIANTS}  # sign: lower is better after it
        out[name] = {"networks": len(runs), "vs_activity_pruning": int((e["lnp"] < e["activity_pruning"]).sum()),
                     "vs_random": int((e["lnp"] < e["random"]).sum()),
                     "vs_random_matched": int((e["lnp"] < e["random_matched"]).sum()),
                     "within_10pct_of_unpruned": int((e["lnp"] <= e["unpruned"] + 0.1 * np.abs(e["unpruned"])).sum())}
    return out


ALPHA = 0.05


def paired_tests(lnp: dict, key: str = "nrmse_windows") -> dict:
    """One-sided paired Wilcoxon signed-rank tests over networks that LNP's ``key`` is below AP's,
    the random network's and 1.1 × the unpruned network's (lower is better), each with its p,
    the median paired difference and whether p < :data:`ALPHA`."""
    e = {v: np.array(lnp[v][key]["values"]) for v in PRE_REGISTERED}
    out = {"key": key, "networks": len(e["lnp"]), "alpha": ALPHA}
    for name, other in (("vs_activity_pruning", e["activity_pruning"]), ("vs_random", e["random"]),
                        ("within_10pct_of_unpruned", 1.1 * e["unpruned"])):
        out[name] = signed_rank(e["lnp"] - other, "less", "lnp_lower")
    return out


def signed_rank(d: np.ndarray, alternative: str, lower: str) -> dict:
    """Paired Wilcoxon signed-rank test of the differences ``d``: p, statistic, median difference,
    how many are below zero (under the name ``lower``) and whether p < :data:`ALPHA`."""
    test = stats.wilcoxon(d, alternative=alternative)
    return {"p": float(test.pvalue), "statistic": float(test.statistic), "median_difference": float(np.median(d)),
            lower: int((d < 0).sum()), "significant": bool(test.pvalue < ALPHA)}


def matched_random_test(lnp: dict, key: str = "nrmse_windows") -> dict:
    """LNP against the Erdős–Rényi network that carries LNP's own weights and τ (``random_matched``),
    one-sided paired signed-rank test of ``key`` as in :func:`paired_tests`. Added after those tests
    (session 15): the pre-registered random network keeps the unpruned weights, so it differs from
    LNP in weight scale (LNP rescales kept synapses by 1/p) as well as in topology; this one
    differs in topology alone."""
    d = np.array(lnp["lnp"][key]["values"]) - np.array(lnp["random_matched"][key]["values"])
    return {"key": key, "networks": len(d), "alpha": ALPHA, **signed_rank(d, "less", "lnp_lower")}


CONTROL_KEYS = ("nrmse", "nrmse_windows", "one_step_nrmse", "sops_per_step")


def recurrence_control(runs: list[dict], key: str = "nrmse_windows") -> dict:
    """Each unpruned network against itself without recurrent synapses (``no_recurrence`` of
    ``run_lnp``), with a two-sided paired signed-rank test of ``key``. Added after the claim against
    the random network failed (session 12), as a diagnostic: where the recurrence does not lower
    the error, which synapses a pruning method keeps has little to act on."""
    out = {v: per_network(runs, v, CONTROL_KEYS) for v in ("unpruned", "no_recurrence")}
    d = np.array(out["unpruned"][key]["values"]) - np.array(out["no_recurrence"][key]["values"])
    out["test"] = {"key": key, "networks": len(runs), "alpha": ALPHA, **signed_rank(d, "two-sided", "unpruned_lower")}
    return out


def lnp_job(job: tuple) -> dict:
    """LNP on HeNHeS network ``seed`` (built first unless the ablation made it), in a pool worker."""
    seed, build, neurons, task, iterations, runs = job
    run = runs / f"HeNHeS_{seed}"
    if build:
        one_thread(run_reservoir, reservoir_config(task.task, neurons=neurons, neuron_het="hetero", stdp_het="hetero", seed=seed), task, run)
    return one_thread(run_lnp, run, iterations)


KEYS = ("nrmse", "nrmse_lyapunov_time", "one_step_nrmse", "vpt", "vpt_lyapunov_times", "nrmse_windows", "vpt_windows", "memory_capacity", "spike_efficiency", "separation_rank",
        "firing_rate", "sops_per_step", "synapses", "neurons", "seconds")


def main() -> None:
    ap = hrsnn_parser(__doc__, "hrsnn_lorenz", [0, 1, 2, 3, 4])
    ap.add_argument("--task", default="lorenz63")
    ap.add_argument("--lnp-seeds", type=int, nargs="+", default=list(range(15)),
                    help="HeNHeS networks that LNP runs on (those not in --seeds are built first)")
    ap.add_argument("--workers", type=int, default=2, help="processes for the LNP runs")
    ap.add_argument("--windows", type=int, default=10, help="closed-loop windows per network (window 0: the issue's)")
    ap.add_argument("--replot", action="store_true", help="only redraw <out>_lnp.png from the existing --out file")
    args = ap.parse_args()
    figure = Path(args.out).with_name(Path(args.out).stem + "_lnp.png")
    if args.replot:
        plot_lnp_networks(json.loads(Path(args.out).read_text())["lnp"], figure)
        return
    runs = Path(args.runs_dir)
    task = TaskConfig(task=args.task, windows=args.windows, observed=args.observed)
    out: dict = {"ablation": {}}
    # HoN / HeN untrained: the same networks with neither STDP nor BPTT, the control for both
    for name, nh, sh, training, stdp in (("HoNHoS", "homo", "homo", "stdp", 1), ("HeNHoS", "hetero", "homo", "stdp", 1),
                                         ("HoNHeS", "homo", "hetero", "stdp", 1), ("HeNHeS", "hetero", "hetero", "stdp", 1),
                                         ("HoNB", "homo", "homo", "backprop", 1), ("HeNB", "hetero", "homo", "backprop", 1),
                                         ("HoN_untrained", "homo", "homo", "stdp", 0), ("HeN_untrained", "hetero", "homo", "stdp", 0)):
        rows = []
        for seed in args.seeds:
            s = run_reservoir(reservoir_config(args.task, neurons=args.neurons, neuron_het=nh, stdp_het=sh, seed=seed),
                              dataclasses.replace(task, training=training, stdp_epochs=stdp), runs / f"{name}_{seed}")
            rows.append({k: s[k] for k in KEYS})
        agg = aggregate(rows, KEYS)
        out["ablation"][name] = {"runs": rows, **agg}
        print(name, f"NRMSE {agg['nrmse']['mean']:.3f} ± {agg['nrmse']['std']:.3f}",
              f"over windows {agg['nrmse_windows']['mean']:.3f} ± {agg['nrmse_windows']['std']:.3f}", f"VPT {agg['vpt']['mean']:.1f}",
              f"MC {agg['memory_capacity']['mean']:.2f}")
    for key in ("nrmse", "nrmse_windows"):
        out[f"HeNHeS_minus_HoNHoS_{key}"] = out["ablation"]["HeNHeS"][key]["mean"] - out["ablation"]["HoNHoS"][key]["mean"]
    out["esn"] = esn_baseline(args.neurons, task, args.seeds)
    print("ESN", f"NRMSE {out['esn']['nrmse']['mean']:.3f} ± {out['esn']['nrmse']['std']:.3f}",
          f"1 T_L {out['esn']['nrmse_lyapunov_time']['mean']:.3f}", "ridge", out["esn"]["config"]["ridge"])
    with Pool(args.workers) as pool:
        lnp_runs = pool.map(lnp_job, [(s, s not in args.seeds, args.neurons, task, args.lnp_iterations, runs) for s in args.lnp_seeds])
    out["lnp"] = lnp_over_seeds(lnp_runs)
    out["lnp"]["paired_tests"] = paired_tests(out["lnp"])
    out["lnp"]["matched_random_test"] = matched_random_test(out["lnp"])
    out["lnp"]["recurrence_control"] = control = recurrence_control(lnp_runs)
    print("LNP", {k: out["lnp"][k]["nrmse_windows"]["median"] for k in VARIANTS}, "wins", out["lnp"]["lnp_wins"],
          "over windows", out["lnp"]["lnp_wins_windows"], "tests", out["lnp"]["paired_tests"])
    print("matched random (post hoc)", out["lnp"]["matched_random_test"])
    print("no recurrence", {v: control[v]["nrmse_windows"]["median"] for v in ("unpruned", "no_recurrence")}, control["test"])
    write_results(args.out, out)
    plot_lnp_networks(out["lnp"], figure)


if __name__ == "__main__":
    main()
