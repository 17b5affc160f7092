"""Figures of Lyapunov noise pruning (after 004 Fig. 10): one run's iterations (``lnp.png`` beside
``lnp.jsonl``), and the paired errors of many networks under each pruning method."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from ..atomic import atomic_save_figure  # noqa: E402

METHODS = ("unpruned", "lnp", "activity_pruning", "random", "random_matched", "no_recurrence")
LABELS = {"unpruned": "unpruned", "lnp": "LNP", "activity_pruning": "AP", "random": "random",
          "random_matched": "random,\nLNP's weights", "no_recurrence": "unpruned,\nno recurrence"}
# closed loops that leave the attractor reach NRMSE 1e14; drawn at this cap so the rest stays legible
CAP = 10.0


def _capped(values) -> tuple[np.ndarray, np.ndarray]:
    """(values with NaN and those above CAP drawn at CAP, mask of the capped ones)."""
    v = np.asarray(values, dtype=float)
    over = ~np.isfinite(v) | (v > CAP)
    return np.where(over, CAP, v), over


def plot_lnp_run(rows: list[dict], summary: dict, path: Path, key: str = "nrmse_windows") -> Path:
    """Live neurons, synapses and closed-loop error per LNP iteration; the baselines at the final
    size (AP, the two random networks) as markers on the last iteration, the unpruned network
    without recurrence as a dotted line."""
    it = [r["iteration"] for r in rows]
    fig, ax = plt.subplots(1, 3, figsize=(12, 3.6))
    for a, field, name in ((ax[0], "neurons", "live neurons"), (ax[1], "synapses", "synapses")):
        a.plot(it, [r[field] for r in rows], "o-", color="tab:blue")
        a.set_ylabel(name)
    for a in ax:
        a.set_xlabel("LNP iteration")
        a.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
    err, over = _capped([r[key] for r in rows])
    ax[2].plot(it, err, "o-", color="tab:blue", label="LNP")
    ax[2].plot(np.asarray(it)[over], err[over], "^", color="tab:blue", ms=9)
    for m, marker in (("activity_pruning", "s"), ("random", "D"), ("random_matched", "v")):
        v, o = _capped([summary[m][key]])
        ax[2].plot([it[-1]], v, marker, ms=8, fillstyle="none" if not o[0] else "full", label=LABELS[m].replace("\n", " "))
    ax[2].axhline(_capped([summary["no_recurrence"][key]])[0][0], ls=":", color="grey", label="unpruned, no recurrence")
    ax[2].set_yscale("log")
    ax[2].set_ylabel(key)
    ax[2].set_title(f"closed-loop error (▲ ≥ {CAP:g}: diverged)", fontsize=9)
    ax[2].legend(fontsize=7)
    return atomic_save_figure(fig, path)


def _p_labels(lnp: dict) -> dict[str, str]:
    """Under each method the p-value of its paired comparison with LNP, where the results hold one."""
    out = {}
    tests = lnp.get("paired_tests", {})
    for m, t in (("activity_pruning", tests.get("vs_activity_pruning")), ("random", tests.get("vs_random")),
                 ("unpruned", tests.get("within_10pct_of_unpruned")), ("random_matched", lnp.get("matched_random_test"))):
        if t:
            out[m] = f"LNP lower: p = {t['p']:.2g}" if m != "unpruned" else f"LNP ≤ 1.1×: p = {t['p']:.2g}"
    control = lnp.get("recurrence_control", {}).get("test")
    if control:
        out["no_recurrence"] = f"≠ unpruned: p = {control['p']:.2g}"
    return out


def plot_lnp_networks(lnp: dict, path: Path, key: str = "nrmse_windows") -> Path:
    """Each network's ``key`` under every method, joined by a line (the comparisons are paired);
    black bars: medians; under each method the p-value of its paired test from ``lnp`` (the
    ``lnp`` section of ``hrsnn_lorenz.py``'s results: ``runs`` and its tests)."""
    runs = lnp["runs"]
    values = np.array([[r[m][key] for m in METHODS] for r in runs], dtype=float)
    shown, over = _capped(values)
    x = np.arange(len(METHODS))
    fig, ax = plt.subplots(figsize=(10, 4.4))
    for row, o in zip(shown, over):
        ax.plot(x, row, "-", color="grey", alpha=0.35, lw=0.8)
        ax.plot(x[~o], row[~o], "o", color="tab:blue", ms=3.5, alpha=0.7)
        ax.plot(x[o], row[o], "^", color="tab:red", ms=6)
    ax.plot(x, np.median(values, 0), "_", color="black", ms=28, mew=2.5, label="median")
    p = _p_labels(lnp)
    ax.set_xticks(x, [LABELS[m] + (f"\n{p[m]}" if m in p else "") for m in METHODS], fontsize=8)
    ax.set_yscale("log")
    ax.set_ylabel(f"closed-loop {key}")
    ax.set_title(f"{len(runs)} networks, paired (red ▲: diverged, NRMSE ≥ {CAP:g}); one-sided signed-rank tests", fontsize=9)
    ax.legend(fontsize=8)
    return atomic_save_figure(fig, path)


def plot_forecast(summary: dict, path: Path, h: float, lyapunov: float, observed: list[int] | None = None,
                  most: int = 3) -> Path:
    """Window 0 of a closed-loop forecast (``prediction`` and ``truth`` of a reservoir summary),
    variable by variable (the first ``most``) against Lyapunov times after training, with the
    valid prediction time (first crossing of ε = 0.4) marked."""
    P, T = np.asarray(summary["prediction"]), np.asarray(summary["truth"])
    d = min(P.shape[1], most)
    t = np.arange(1, len(P) + 1) * h * lyapunov
    names = observed if observed is not None else list(range(P.shape[1]))
    fig, ax = plt.subplots(d, 1, sharex=True, figsize=(8, 1.7 * d + 0.8), squeeze=False)
    for i, a in enumerate(ax[:, 0]):
        a.plot(t, T[:, i], color="black", lw=1.2, label="truth")
        a.plot(t, P[:, i], color="tab:red", ls="--", lw=1.2, label="closed loop")
        a.axvline(summary["vpt_lyapunov_times"], color="grey", ls=":", lw=1, label="VPT (ε = 0.4)")
        a.set_ylabel(f"variable {names[i]}\n(train std)", fontsize=8)
    ax[0, 0].legend(fontsize=7, loc="upper right")
    ax[0, 0].set_title(f"NRMSE {summary['nrmse']:.2f} over {len(P)} steps, {summary['nrmse_lyapunov_time']:.2f} over the first "
                       f"Lyapunov time; one-step {summary['one_step_nrmse']:.3f}", fontsize=9)
    ax[-1, 0].set_xlabel("Lyapunov times after training")
    return atomic_save_figure(fig, path)
