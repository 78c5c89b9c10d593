"""Claim: the controller finds good architectures against ground truth (NAS-Bench-201, measured latencies).

Every algorithm of `search.searchers` (reinforce, ppo, random, evolution, tpe) searches the 15,625
NAS-Bench-201 cells with each reward (MnasNet soft at w = -0.07 and -0.15, hard, TuNAS absolute) and
the latency target at the median of the device column, over many seeds. A child's "training" is a
look-up of its validation accuracy; searchers are driven in-process through suggest /
on_trial_complete (no Tune trials). The returned arch of a budget is the search's best by reward
among its first `budget` trained children, those within the target first (what `hwnas search` hands
to NetAdapt, `search.tune_searcher.best_within_target`; no algorithm
depends on its total budget, so one search of the largest budget gives every smaller one). For
every algorithm alike, a proposal of an arch already trained is not trained again and costs no
budget (`search.tune_searcher`; the controller proposes only new archs); `proposals` is the mean
number of proposals per search of the largest budget, repeats included.

    python benchmarks/controller_nasbench201.py --accuracy ../shared/data/nasbench201/accuracy.csv \
        --latency ../shared/data/nasbench201/latency_ms.csv --device samsung_a50 --out /tmp/nb201

Writes DIR/summary.csv (one row per device, algorithm, reward, budget), DIR/per_seed.csv (the
returned arch of every search), DIR/regret_vs_samples_<device>.png; prints the table, the
acceptance checks of issue 13 and the total time. `--device` takes several columns, comma separated.
"""

from __future__ import annotations

import time

START = time.perf_counter()  # the total time counts the imports too

import argparse  # noqa: E402
import math  # noqa: E402
import os  # noqa: E402
import sys  # noqa: E402
from collections.abc import Sequence  # noqa: E402
from concurrent.futures import ProcessPoolExecutor, as_completed  # noqa: E402
from dataclasses import asdict, dataclass, field  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import pandas as pd  # noqa: E402
from scipy import stats  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from models import atomic  # noqa: E402
from search.nasbench201 import NasBench201Table  # noqa: E402
from search.policy import PolicyConfig  # noqa: E402
from search.rewards import MNASNET_W, MNV3_SMALL_W, REWARD_KINDS, make_reward  # noqa: E402
from search.searchers import ALGORITHMS  # noqa: E402
from search.tabular_score import GroundTruth, returned, search_table  # noqa: E402

SOFT_WS = (MNASNET_W, MNV3_SMALL_W)
GOAL_REGRET_PP = 0.40
GOAL_TOP1 = 0.85
GOAL_INFEASIBLE = 0.05
GOAL_HIT = 0.90
GOAL_SECONDS = 600.0
SUMMARY_COLUMNS = ("device", "dataset", "target_ms", "algorithm", "reward", "budget", "seeds", "mean_regret_val",
                   "mean_regret_test", "p_top1", "hit_rate", "infeasible_rate", "vs_random_gain", "vs_random_lo",
                   "vs_random_hi", "vs_random_pairs", "better_than_random", "as_good_as_tpe", "search_s",
                   "search_cpu_s", "proposals")


def reward_rows(kinds: Sequence[str]) -> list[str]:
    """Reward row labels: a soft reward becomes two rows, `mnasnet_soft_w-0.07` and `mnasnet_soft_w-0.15`."""
    rows = []
    for kind in kinds:
        if kind not in REWARD_KINDS:
            raise SystemExit(f"unknown reward {kind!r}; choose from {', '.join(REWARD_KINDS)}")
        rows.extend([f"{kind}_w{w:g}" for w in SOFT_WS] if kind == "mnasnet_soft" else [kind])
    return rows


def reward_of(label: str, target_ms: float) -> Any:
    kind, _, w = label.partition("_w")
    return make_reward(kind, target_ms, w=float(w)) if w else make_reward(kind, target_ms)


@dataclass(frozen=True)
class Job:
    """One search: an algorithm with one reward on one device column, one seed, the largest budget."""

    device: str
    algorithm: str
    reward: str
    seed: int
    samples: int
    target_ms: float
    settings: dict[str, Any] = field(default_factory=dict)  # JSON-able make_searcher settings


_TABLE: dict[str, Any] = {}


def _init_worker(accuracy: str, latency: str, dataset: str) -> None:
    import optuna
    import torch

    torch.set_num_threads(1)  # a tiny LSTM: threads only add overhead
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    _TABLE.update(table=NasBench201Table.from_csv(accuracy, latency), dataset=dataset)


def searcher_settings(settings: dict[str, Any], algorithm: str) -> dict[str, Any]:
    """make_searcher keyword arguments from JSON-able settings (`policy` as a dict of PolicyConfig fields)."""
    out = dict(settings)
    if "policy" in out:
        out["policy"] = PolicyConfig.from_dict({**out["policy"], "algorithm": algorithm})
    return out


def run_job(job: Job, budgets: Sequence[int]) -> dict[str, Any]:
    """Run one search in this (worker) process; the code of the arch returned at each budget."""
    start, cpu = time.perf_counter(), time.process_time()
    table, dataset = _TABLE["table"], _TABLE["dataset"]
    settings = searcher_settings(job.settings, job.algorithm) if job.algorithm in ("reinforce", "ppo") else {}
    searcher = search_table(job.algorithm, table, dataset, job.device, reward_of(job.reward, job.target_ms),
                            job.seed, job.samples, **settings)
    return {"codes": returned(searcher.trials, budgets), "seconds": time.perf_counter() - start,
            "cpu_seconds": time.process_time() - cpu, "proposals": len(searcher.trials)}


def run_jobs(jobs: list[Job], budgets: Sequence[int], args: argparse.Namespace) -> list[dict[str, Any]]:
    """Every job on `args.workers` processes (each loads the tables once); results in job order."""
    init = (args.accuracy, args.latency, args.dataset)
    if args.workers <= 1:
        _init_worker(*init)
        return [run_job(job, budgets) for job in jobs]
    with ProcessPoolExecutor(args.workers, initializer=_init_worker, initargs=init) as pool:
        futures = [pool.submit(run_job, job, budgets) for job in jobs]
        step = max(1, len(jobs) // 10)
        for done, _ in enumerate(as_completed(futures), start=1):
            if done % step == 0:
                print(f"  {done}/{len(jobs)} searches done, {time.perf_counter() - START:.0f} s", flush=True)
        return [f.result() for f in futures]


def outcomes(jobs: list[Job], results: list[dict[str, Any]], truths: dict[str, GroundTruth],
             budgets: Sequence[int]) -> pd.DataFrame:
    """One row per (job, budget): the returned arch and how good it is."""
    rows = []
    for job, result in zip(jobs, results):
        for budget, code in zip(budgets, result["codes"]):
            score = asdict(truths[job.device].score(code)) if code is not None else {"code": None, "feasible": False}
            rows.append({"device": job.device, "algorithm": job.algorithm, "reward": job.reward, "seed": job.seed,
                         "budget": budget, "search_s": result["seconds"],
                         "search_cpu_s": result["cpu_seconds"], "proposals": result["proposals"], **score})
    return pd.DataFrame(rows)


def paired_gain(random: pd.DataFrame, other: pd.DataFrame) -> tuple[float, float, float, int]:
    """Mean over seeds of random's val regret minus `other`'s (positive: `other` better) and its 95% t
    interval, over the seeds where both returned a feasible arch."""
    columns = ["seed", "regret_val", "feasible"]
    both = random[columns].merge(other[columns], on="seed", suffixes=("", "_other"))
    both = both[both["feasible"] & both["feasible_other"]]
    gain = (both["regret_val"] - both["regret_val_other"]).to_numpy(dtype=float)
    if len(gain) < 2:
        return math.nan, math.nan, math.nan, len(gain)
    half = stats.t.ppf(0.975, len(gain) - 1) * gain.std(ddof=1) / math.sqrt(len(gain))
    return float(gain.mean()), float(gain.mean() - half), float(gain.mean() + half), len(gain)


def summarise(per_seed: pd.DataFrame, truths: dict[str, GroundTruth], dataset: str) -> pd.DataFrame:
    rows = []
    for (device, algorithm, reward, budget), group in per_seed.groupby(["device", "algorithm", "reward", "budget"],
                                                                        sort=False):
        feasible = group[group["feasible"]]
        random = per_seed[(per_seed["device"] == device) & (per_seed["algorithm"] == "random")
                          & (per_seed["reward"] == reward) & (per_seed["budget"] == budget)]
        gain, lo, hi, pairs = (paired_gain(random, group) if algorithm != "random" and len(random)
                               else (math.nan, math.nan, math.nan, 0))
        rows.append({"device": device, "dataset": dataset, "target_ms": truths[device].target_ms,
                     "algorithm": algorithm, "reward": reward, "budget": budget, "seeds": len(group),
                     "mean_regret_val": feasible["regret_val"].mean(), "mean_regret_test": feasible["regret_test"].mean(),
                     "p_top1": group["top1"].mean(), "hit_rate": group["hit"].mean(),
                     "infeasible_rate": 1 - group["feasible"].mean(), "vs_random_gain": gain, "vs_random_lo": lo,
                     "vs_random_hi": hi, "vs_random_pairs": pairs, "better_than_random": bool(lo > 0),
                     "search_s": group["search_s"].mean(), "search_cpu_s": group["search_cpu_s"].mean(),
                     "proposals": group["proposals"].mean()})
    summary = pd.DataFrame(rows)
    tpe = summary[summary["algorithm"] == "tpe"].set_index(["device", "reward", "budget"])["mean_regret_val"]
    summary["as_good_as_tpe"] = [
        (bool(r.mean_regret_val <= tpe[(r.device, r.reward, r.budget)])
         if r.algorithm in ("reinforce", "ppo") and (r.device, r.reward, r.budget) in tpe.index else None)
        for r in summary.itertuples()]
    return summary[list(SUMMARY_COLUMNS)]


def plot(summary: pd.DataFrame, out: Path) -> list[Path]:
    """Regret (val) vs samples, one panel per reward, one figure per device."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    paths = []
    for device, frame in summary.groupby("device", sort=False):
        rewards = list(dict.fromkeys(frame["reward"]))
        fig, axes = plt.subplots(1, len(rewards), figsize=(4.2 * len(rewards), 3.6), squeeze=False)
        for ax, reward in zip(axes[0], rewards):
            for algorithm, curve in frame[frame["reward"] == reward].groupby("algorithm", sort=False):
                ax.plot(curve["budget"], curve["mean_regret_val"], marker="o", label=f"{algorithm} ({curve['seeds'].iloc[0]} seeds)")
            ax.axhline(GOAL_REGRET_PP, color="grey", linestyle=":", linewidth=1)
            ax.set(xscale="log", xlabel="samples (children)", title=reward)
            ax.minorticks_off()
            ax.set_xticks(sorted(frame["budget"].unique()), [str(b) for b in sorted(frame["budget"].unique())])
        axes[0][0].set_ylabel("mean regret, val accuracy (pp)")
        axes[0][0].legend(fontsize=7)
        fig.suptitle(f"NAS-Bench-201, {device}, target {frame['target_ms'].iloc[0]:.3g} ms (median)")
        fig.tight_layout()
        path = out / f"regret_vs_samples_{device}.png"
        with atomic.atomic_path(path) as tmp:
            fig.savefig(tmp, format="png", dpi=110)
        plt.close(fig)
        paths.append(path)
    return paths


def acceptance(summary: pd.DataFrame, seconds: float) -> list[str]:
    """Issue 13's acceptance lines, each with its figure, goal and verdict."""
    lines = []

    def check(name: str, ok: bool, detail: str) -> None:
        lines.append(f"[{'MET ' if ok else 'MISS'}] {name}: {detail}")

    s = summary
    for device in s["device"].unique():
        hard = s[(s["device"] == device) & (s["algorithm"] == "reinforce") & (s["reward"] == "mnasnet_hard")]
        at200 = hard[hard["budget"] == 200]
        if len(at200):
            r = at200.iloc[0]
            check(f"{device} reinforce hard @200 regret", r.mean_regret_val <= GOAL_REGRET_PP,
                  f"{r.mean_regret_val:.3f} pp (goal <= {GOAL_REGRET_PP}, stretch 0.30)")
            check(f"{device} reinforce hard @200 P(top-1%)", r.p_top1 >= GOAL_TOP1, f"{r.p_top1:.2f} (goal >= {GOAL_TOP1})")
            check(f"{device} reinforce hard @200 infeasible", round(r.infeasible_rate, 9) <= GOAL_INFEASIBLE,
                  f"{r.infeasible_rate:.1%} (goal <= {GOAL_INFEASIBLE:.0%})")
        late = hard[(hard["budget"] >= 100) & hard["vs_random_pairs"].gt(0)]
        if len(late):
            check(f"{device} reinforce hard beats random at every budget >= 100", bool(late["better_than_random"].all()),
                  ", ".join(f"{b}: +{g:.2f} [{lo:.2f}, {hi:.2f}]" for b, g, lo, hi in
                            zip(late["budget"], late["vs_random_gain"], late["vs_random_lo"], late["vs_random_hi"])))
        for reward in s[s["device"] == device]["reward"].unique():
            vs = s[(s["device"] == device) & (s["reward"] == reward) & s["budget"].isin([200, 500])
                   & s["as_good_as_tpe"].notna()]
            for budget, group in vs.groupby("budget"):
                ok = bool(group["as_good_as_tpe"].any())
                tpe = s[(s["device"] == device) & (s["reward"] == reward) & (s["budget"] == budget)
                        & (s["algorithm"] == "tpe")]["mean_regret_val"].iloc[0]
                check(f"{device} {reward} @{budget} reinforce or ppo >= tpe", ok,
                      ", ".join(f"{a} {v:.3f}" for a, v in zip(group["algorithm"], group["mean_regret_val"]))
                      + f" vs tpe {tpe:.3f} pp")
        absolute = s[(s["device"] == device) & (s["reward"] == "tunas_abs") & s["algorithm"].isin(["reinforce", "ppo"])]
        for r in absolute[absolute["budget"] >= 200].itertuples():
            check(f"{device} tunas_abs {r.algorithm} @{r.budget} hit rate", r.hit_rate >= GOAL_HIT,
                  f"{r.hit_rate:.0%} within -5%..0% of target (goal >= {GOAL_HIT:.0%}, stretch 95%)")
    check("total time", seconds <= GOAL_SECONDS, f"{seconds:.0f} s (goal <= {GOAL_SECONDS:.0f} s)")
    return lines


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--accuracy", required=True, help="accuracy CSV (index, cell, <dataset>_val, <dataset>_test)")
    parser.add_argument("--latency", required=True, help="latency CSV (index, one column per device, ms)")
    parser.add_argument("--device", required=True, help="latency column(s), comma separated")
    parser.add_argument("--dataset", default="cifar10")
    parser.add_argument("--algorithms", default=",".join(ALGORITHMS))
    parser.add_argument("--rewards", default=",".join(REWARD_KINDS), help="reward kinds; mnasnet_soft runs at w=-0.07 "
                        "and w=-0.15")
    parser.add_argument("--budgets", default="50,100,200,500")
    parser.add_argument("--seeds", type=int, default=100, help="seeds per algorithm, reward and device")
    parser.add_argument("--tpe-seeds", type=int, default=10, help="seeds for tpe (Optuna's TPE costs ~10 ms a child)")
    parser.add_argument("--workers", type=int, default=min(2, os.cpu_count() or 1), help="processes")
    parser.add_argument("--out", required=True, type=Path)
    args = parser.parse_args(argv)
    args.algorithms = [a for a in args.algorithms.split(",") if a]
    unknown = sorted(set(args.algorithms) - set(ALGORITHMS))
    if unknown:
        parser.error(f"unknown algorithm(s) {unknown}; choose from {', '.join(ALGORITHMS)}")
    args.rewards = reward_rows([r for r in args.rewards.split(",") if r])
    args.budgets = sorted(int(b) for b in args.budgets.split(","))
    args.devices = [d for d in args.device.split(",") if d]
    return args


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    table = NasBench201Table.from_csv(args.accuracy, args.latency)
    truths = {device: GroundTruth(table, args.dataset, device) for device in args.devices}
    order = {"tpe": 0, "ppo": 1, "reinforce": 2}  # slow searches first, for the process pool's balance
    jobs = [Job(device, algorithm, reward, seed, args.budgets[-1], truths[device].target_ms)
            for algorithm in sorted(args.algorithms, key=lambda a: order.get(a, 3))
            for device in args.devices for reward in args.rewards
            for seed in range(args.tpe_seeds if algorithm == "tpe" else args.seeds)]
    print(f"{len(jobs)} searches of {args.budgets[-1]} children on {args.workers} process(es); "
          f"targets: " + ", ".join(f"{d} {t.target_ms:.4g} ms" for d, t in truths.items()), flush=True)
    results = run_jobs(jobs, args.budgets, args)
    per_seed = outcomes(jobs, results, truths, args.budgets)
    summary = summarise(per_seed, truths, args.dataset)
    args.out.mkdir(parents=True, exist_ok=True)
    atomic.write_text(args.out / "summary.csv", summary.to_csv(index=False))
    atomic.write_text(args.out / "per_seed.csv", per_seed.to_csv(index=False))
    figures = plot(summary, args.out)
    seconds = time.perf_counter() - START
    shown = summary.drop(columns=["dataset", "target_ms"])
    with pd.option_context("display.width", 250, "display.max_rows", 1000, "display.max_columns", 30):
        print(shown.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    print("\nregret in accuracy points (pp) on *_val / *_test; vs_random_gain = random's regret minus this one's, "
          "paired by seed over seeds where both are feasible, with its 95% t interval [lo, hi]")
    print("\n".join(acceptance(summary, seconds)))
    print(f"wrote {args.out / 'summary.csv'}, {args.out / 'per_seed.csv'}, {', '.join(map(str, figures))}")
    cpu = sum(r["cpu_seconds"] for r in results)
    print(f"total time {seconds:.1f} s; the searches used {cpu:.0f} CPU seconds ({cpu / max(1, args.workers):.0f} per "
          f"worker, {args.workers} workers); load average (1, 5, 15 min) now {os.getloadavg()}")


if __name__ == "__main__":
    main()
