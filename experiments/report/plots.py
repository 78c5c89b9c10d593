"""The report's figures, drawn with matplotlib's object API (no pyplot state, Agg canvas) and
written atomically as PNG. Each function takes plain arrays, so it is testable without a run."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from models import atomic

DPI = 110


def _save(fig: Figure, path: Path) -> Path:
    FigureCanvasAgg(fig)
    fig.tight_layout()
    with atomic.atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=DPI)
    return path


def running_mean(values: np.ndarray, window: int) -> np.ndarray:
    """Mean of the last `window` values at each position (fewer at the start)."""
    csum = np.cumsum(np.insert(values.astype(float), 0, 0.0))
    idx = np.arange(1, len(values) + 1)
    lo = np.maximum(idx - window, 0)
    return (csum[idx] - csum[lo]) / (idx - lo)


def search_progress(x: np.ndarray, reward: np.ndarray, x_label: str, entropy_x: np.ndarray | None,
                    entropy: np.ndarray | None, entropy_label: str, path: Path) -> Path:
    """Reward of every finished child with its running best and running mean; below it the
    controller's entropy (or the estimate the caller chose), when there is one."""
    rows = 2 if entropy is not None else 1
    fig = Figure(figsize=(9, 3.2 * rows))
    ax = fig.add_subplot(rows, 1, 1)
    ax.scatter(x, reward, s=18, color="tab:blue", label="child reward")
    if len(reward):
        ax.plot(x, np.fmax.accumulate(reward), color="tab:green", label="best so far")
        ax.plot(x, running_mean(reward, 4), color="tab:orange", label="running mean (4)")
    ax.set_ylabel("reward")
    ax.set_xlabel(x_label)
    ax.set_title("Search: reward over time")
    ax.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), fontsize=8)  # outside: hides no point
    ax.grid(alpha=0.3)
    if entropy is not None and entropy_x is not None:
        ax2 = fig.add_subplot(rows, 1, 2)
        ax2.plot(entropy_x, entropy, marker="o", ms=3, color="tab:purple")
        ax2.set_ylabel(entropy_label)
        ax2.set_xlabel(x_label)
        ax2.set_title("Controller entropy over time")
        ax2.grid(alpha=0.3)
    return _save(fig, path)


def pareto(child_lat: np.ndarray, child_acc: np.ndarray, front: Sequence[int], ref_names: Sequence[str],
           ref_lat: np.ndarray, ref_acc: np.ndarray, path: Path, final: tuple[float, float] | None = None) -> Path:
    """Accuracy vs latency of every child, the front as a step line, references as labelled stars,
    and the final model (latency, accuracy) as a diamond when given."""
    fig = Figure(figsize=(9, 4.8))
    ax = fig.add_subplot(1, 1, 1)
    if len(child_lat):
        ax.scatter(child_lat, child_acc, s=18, color="tab:blue", alpha=0.7, label="searched child")
    if len(front):
        order = np.asarray(front)
        ax.step(child_lat[order], child_acc[order], where="post", color="tab:red", lw=1.5)
        ax.scatter(child_lat[order], child_acc[order], s=40, facecolors="none", edgecolors="tab:red",
                   label="Pareto front")
    if len(ref_lat):
        ax.scatter(ref_lat, ref_acc, marker="*", s=160, color="black", label="MobileNetV3 reference")
        for name, x, y in zip(ref_names, ref_lat, ref_acc):
            ax.annotate(str(name), (x, y), textcoords="offset points", xytext=(5, 5), fontsize=8)
    if final is not None:
        ax.scatter([final[0]], [final[1]], marker="D", s=70, color="tab:green", label="final model")
    ax.set_xlabel("latency (ms)")
    ax.set_ylabel("accuracy")
    ax.set_title("Accuracy vs latency")
    ax.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), fontsize=8)  # outside: hides no point
    ax.grid(alpha=0.3)
    return _save(fig, path)


def netadapt(traj_iter: np.ndarray, traj_lat: np.ndarray, traj_acc: np.ndarray, prop_lat: np.ndarray,
             prop_acc: np.ndarray, prop_chosen: np.ndarray, target_ms: float | None, path: Path) -> Path:
    """Left: every proposal (latency, accuracy after its short fine-tune), chosen ones highlighted,
    the kept model's path from the seed; right: kept latency per iteration against the target."""
    fig = Figure(figsize=(10, 5.0))
    ax = fig.add_subplot(1, 2, 1)
    if len(prop_lat):
        rest = ~prop_chosen
        ax.scatter(prop_lat[rest], prop_acc[rest], s=14, color="0.6", label="proposal (not chosen)")
        ax.scatter(prop_lat[prop_chosen], prop_acc[prop_chosen], s=40, color="tab:red", label="chosen proposal")
    ax.plot(traj_lat, traj_acc, color="tab:blue", marker="o", ms=3, lw=1, label="kept model")
    if len(traj_lat):
        ax.scatter(traj_lat[:1], traj_acc[:1], marker="s", s=50, color="tab:blue", label="seed")
    if target_ms is not None:
        ax.axvline(target_ms, color="black", ls="--", lw=1, label=f"target {target_ms:.3f} ms")
    ax.set_xlabel("latency (ms)")
    ax.set_ylabel("accuracy (validation)")
    ax.set_title("NetAdapt: proposals per iteration")
    ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=3)  # below: hides no point
    ax.grid(alpha=0.3)
    ax2 = fig.add_subplot(1, 2, 2)
    ax2.plot(traj_iter, traj_lat, marker="o", color="tab:blue")
    if target_ms is not None:
        ax2.axhline(target_ms, color="black", ls="--", lw=1, label="target")
        ax2.legend(fontsize=8)
    ax2.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax2.set_xlabel("iteration (-1: seed)")
    ax2.set_ylabel("latency (ms)")
    ax2.set_title("NetAdapt: latency of the kept model")
    ax2.grid(alpha=0.3)
    return _save(fig, path)


def predicted_vs_measured(labels: Sequence[str], predicted: np.ndarray, measured: np.ndarray, path: Path) -> Path:
    """Predicted against measured latency with the y = x line and a +/-5% band."""
    fig = Figure(figsize=(6, 5))
    ax = fig.add_subplot(1, 1, 1)
    hi = float(max(np.max(predicted), np.max(measured))) * 1.1
    line = np.linspace(0, hi, 50)
    ax.plot(line, line, color="black", lw=1, label="y = x")
    ax.fill_between(line, line * 0.95, line * 1.05, color="0.85", label="+/-5%")
    groups = sorted(set(labels))
    for group in groups:
        mask = np.array([lab == group for lab in labels])
        ax.scatter(measured[mask], predicted[mask], s=30, label=group)
    ax.set_xlim(0, hi)
    ax.set_ylim(0, hi)
    ax.set_xlabel("measured latency (ms, live)")
    ax.set_ylabel("predicted latency (ms, table)")
    ax.set_title("Predicted vs measured latency")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    return _save(fig, path)


def proxy_fidelity(proxy: np.ndarray, long: np.ndarray, proxy_label: str, long_label: str, tau: float,
                   path: Path) -> Path:
    """Each arch's proxy score against its accuracy after the longer training, titled with Kendall's tau."""
    fig = Figure(figsize=(6, 5))
    ax = fig.add_subplot(1, 1, 1)
    ax.scatter(proxy, long, s=30, color="tab:blue")
    ax.set_xlabel(f"proxy accuracy ({proxy_label})")
    ax.set_ylabel(f"accuracy after longer training ({long_label})")
    ax.set_title(f"Proxy fidelity: Kendall tau {tau:.2f}")
    ax.grid(alpha=0.3)
    return _save(fig, path)


def one_shot_learning(reward: np.ndarray, entropy: np.ndarray, window: int, path: Path) -> Path:
    """A one-shot search's samples in order: each path's shared-weight reward with its moving average,
    and below the controller's entropy when the path was sampled, with its moving average."""
    fig = Figure(figsize=(9, 6.4))
    x = np.arange(len(reward))
    for row, (values, name, color) in enumerate(((reward, "reward (shared weights)", "tab:blue"),
                                                 (entropy, "controller entropy (nats)", "tab:purple"))):
        ax = fig.add_subplot(2, 1, row + 1)
        ax.scatter(x, values, s=3, color=color, alpha=0.25, label="sampled path")
        if len(values):
            ax.plot(x, running_mean(values, window), color="tab:orange", label=f"moving average ({window})")
        ax.set_ylabel(name)
        ax.set_xlabel("sampled path (order of sampling)")
        ax.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), fontsize=8)
        ax.grid(alpha=0.3)
    fig.axes[0].set_title("One-shot search: does the controller learn?")
    return _save(fig, path)
