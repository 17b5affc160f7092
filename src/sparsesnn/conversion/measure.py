"""Accuracy–time–energy analysis of converted SNNs: saturation times (002 §2.3, 003 Alg. 1),
the accuracy–energy Pareto frontier over T, and the time lag between firing-rate and accuracy
saturation with its statistics (002 §3.3: one-sided Wilcoxon, two-sided Mann-Whitney U)."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np
from scipy import stats

from ..atomic import atomic_save_figure


def saturation_time(T: Sequence[int], values: Sequence[float], window: int = 10, eps: float = 0.01) -> int | None:
    """First T at which the relative improvement Δ_t = (A_t − A_{t−1})/A_{t−1} has stayed ≤ ε
    for ``window`` consecutive steps (003 Algorithm 1; 002 §2.3 is window 10, ε = 1 %, 003 uses
    window 5). Δ_1 is undefined, so the earliest answer is T[window]; ``None`` if never."""
    a = np.asarray(values, dtype=np.float64)
    if len(a) != len(T):
        raise ValueError(f"{len(T)} time steps but {len(a)} values")
    with np.errstate(divide="ignore", invalid="ignore"):
        delta = np.where(a[:-1] > 0, (a[1:] - a[:-1]) / a[:-1], np.where(a[1:] > a[:-1], np.inf, 0.0))
    # delta[j] is the improvement at T[j + 1]
    for i in range(window, len(a)):
        if np.max(delta[i - window : i]) <= eps:
            return int(T[i])
    return None


def pareto_front(energy: Sequence[float], accuracy: Sequence[float]) -> list[int]:
    """Indices of the points no other point beats in both lower energy and higher accuracy,
    ordered by energy."""
    order = np.argsort(np.asarray(energy), kind="stable")
    front, best = [], -np.inf
    for i in order:
        if accuracy[i] > best:
            front.append(int(i))
            best = accuracy[i]
    return front


def time_lag_statistics(accuracy_T: Sequence[float], masfr_T: Sequence[float], sparse: Sequence[bool]) -> dict:
    """Time lag = accuracy saturation T − MASFR saturation T over a grid of runs (002 eq. 5).

    Returns the lags, the one-sided Wilcoxon signed-rank p-value of "accuracy saturates later
    than MASFR" (all runs, sparse, dense) and the two-sided Mann-Whitney U p-value between the
    positive lags of sparse and dense runs (``None`` where a group is too small)."""
    acc, rate, sp = np.asarray(accuracy_T, dtype=float), np.asarray(masfr_T, dtype=float), np.asarray(sparse, dtype=bool)
    lag = acc - rate

    def wilcoxon(mask: np.ndarray) -> float | None:
        d = lag[mask]
        if np.count_nonzero(d) < 1:
            return None
        return float(stats.wilcoxon(acc[mask], rate[mask], alternative="greater", zero_method="wilcox").pvalue)

    pos_sparse, pos_dense = lag[sp & (lag > 0)], lag[~sp & (lag > 0)]
    mwu = None
    if len(pos_sparse) and len(pos_dense):
        mwu = float(stats.mannwhitneyu(pos_sparse, pos_dense, alternative="two-sided").pvalue)
    return {
        "lags": lag.tolist(),
        "mean_lag_sparse": float(pos_sparse.mean()) if len(pos_sparse) else None,
        "mean_lag_dense": float(pos_dense.mean()) if len(pos_dense) else None,
        "wilcoxon_p_all": wilcoxon(np.ones_like(sp, dtype=bool)),
        "wilcoxon_p_sparse": wilcoxon(sp.astype(bool)),
        "wilcoxon_p_dense": wilcoxon(~sp.astype(bool)),
        "mannwhitney_p_sparse_vs_dense": mwu,
    }


def plot_lag_kde(lags_sparse: Sequence[float], lags_dense: Sequence[float], path: Path) -> Path:
    """Kernel density estimates of positive time lags, sparse (red) vs dense (black), 002 Fig. 3b."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 3.5))
    for lags, colour, name in ((lags_sparse, "tab:red", "sparse"), (lags_dense, "black", "dense")):
        lags = np.asarray([v for v in lags if v > 0], dtype=float)
        if len(lags) >= 2 and np.std(lags) > 0:
            grid = np.linspace(0, lags.max() * 1.5, 200)
            ax.plot(grid, stats.gaussian_kde(lags)(grid), color=colour, label=f"{name} (n={len(lags)})")
        if len(lags):  # the mean is drawn even where too few lags for a density
            ax.axvline(lags.mean(), color=colour, ls="--", lw=1, label=f"{name} mean (n={len(lags)})")
    ax.set_xlabel("time lag (accuracy − MASFR saturation T)")
    ax.set_ylabel("density")
    if ax.get_legend_handles_labels()[0]:
        ax.legend()
    atomic_save_figure(fig, path, dpi=120)
    return path


def plot_conversion(results: Sequence[dict], path: Path) -> Path:
    """Accuracy vs T, and the accuracy–energy trajectory over T with its Pareto frontier, for
    one or more conversion results (e.g. sparse and dense twins)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (a1, a2) = plt.subplots(1, 2, figsize=(10, 4))
    for r in results:
        label = r.get("label", r["method"])
        acc = 100 * np.asarray(r["accuracy"])
        energy = np.asarray(r["energy_mj_per_sample"])
        color = a1.plot(r["T"], acc, label=label)[0].get_color()
        a1.axhline(100 * r["ann_accuracy"], color=color, ls="--", lw=1, alpha=0.6)  # this result's own ANN
        if r.get("saturation_T"):
            a1.axvline(r["saturation_T"], ls=":", lw=1, color=color)
        line = a2.plot(energy, acc, ".", ms=3, alpha=0.5)[0]
        front = pareto_front(energy, acc)
        a2.plot(energy[front], acc[front], "-", color=line.get_color(), label=f"{label} Pareto")
    a1.set_xlabel("time steps T (dashed: the ANN, dotted: saturation)")
    a1.set_ylabel("test accuracy (%)")
    a1.legend(fontsize=8)
    a2.set_xscale("log")
    # matplotlib labels every minor tick of a range under a decade or so, and they overlap:
    # label 2 and 5 × 10^k on short ranges, powers of ten only on long ones
    energies = [e for r in results for e in r["energy_mj_per_sample"] if e > 0]
    if energies and max(energies) < 30 * min(energies):
        a2.xaxis.set_minor_locator(matplotlib.ticker.LogLocator(subs=(2.0, 5.0)))
        a2.xaxis.set_minor_formatter(matplotlib.ticker.LogFormatterSciNotation(labelOnlyBase=False))
    else:
        a2.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    a2.set_xlabel("energy per sample (mJ, 45 nm: 4.6 pJ MAC, 0.9 pJ AC)")
    a2.set_ylabel("test accuracy (%)")
    a2.legend(fontsize=8)
    atomic_save_figure(fig, path, dpi=120)
    return path
