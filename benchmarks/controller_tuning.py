"""How the controller defaults were chosen: REINFORCE settings scored on NAS-Bench-201 tuning columns.

Each candidate (learning rate, baseline decay, entropy weight, children per update, tanh clip,
temperature) runs REINFORCE with the hard reward, the target at each tuning column's median latency,
over `--seeds` seeds and `--budget` children; random search runs beside it on the same seeds. Only
the tuning columns (at most three) are used here: the other device columns stay held out for
benchmarks/controller_nasbench201.py. The printed table (also `DIR/tuning.csv`, with every search's
outcome in `DIR/per_seed.csv`) is what docs/controller_tuning.md reports. Each candidate after the
first is also compared with the first, paired by seed (`gain_vs_first`: the first's regret minus
this one's, with its 95% t interval `[lo, hi]`, over seeds and columns where both are feasible).

    python benchmarks/controller_tuning.py --accuracy ../shared/data/nasbench201/accuracy.csv \
        --latency ../shared/data/nasbench201/latency_ms.csv --devices raspi4,eyeriss,titan_rtx_1 \
        --candidates '[{"lr": 0.01}, {"lr": 0.05}]' --out /tmp/tuning
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from controller_nasbench201 import Job, outcomes, paired_gain, run_jobs  # noqa: E402

from models import atomic  # noqa: E402
from search.nasbench201 import NasBench201Table  # noqa: E402
from search.tabular_score import GroundTruth  # noqa: E402

# the candidate keys (ControllerConfig names, which the code uses too) and where they go in make_searcher's settings
POLICY_KEYS = {"lr", "baseline_decay", "entropy_weight", "top_k", "top_k_weight"}
CONTROLLER_KEYS = {"tanh_clip", "temperature", "hidden_size"}
SEARCHER_KEYS = {"batch_size", "skip_over_target"}
MAX_TUNING_COLUMNS = 3


def settings_of(candidate: dict) -> dict:
    """make_searcher settings (JSON-able) for a candidate written with ControllerConfig names (and the
    searcher's own `batch_size` and `skip_over_target`)."""
    unknown = set(candidate) - POLICY_KEYS - CONTROLLER_KEYS - SEARCHER_KEYS
    if unknown:
        raise SystemExit(f"unknown candidate keys {sorted(unknown)}; use {sorted({*POLICY_KEYS, *CONTROLLER_KEYS})} "
                         f"or {', '.join(sorted(SEARCHER_KEYS))}")
    settings: dict = {"policy": {k: v for k, v in candidate.items() if k in POLICY_KEYS},
                      "controller": {k: v for k, v in candidate.items() if k in CONTROLLER_KEYS}}
    settings.update({k: v for k, v in candidate.items() if k in SEARCHER_KEYS})
    return settings


def main() -> None:
    start = time.perf_counter()
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--accuracy", required=True)
    parser.add_argument("--latency", required=True)
    parser.add_argument("--devices", required=True, help=f"tuning columns, at most {MAX_TUNING_COLUMNS}")
    parser.add_argument("--dataset", default="cifar10")
    parser.add_argument("--candidates", required=True, help="JSON list of settings dicts ({} = the shipped defaults)")
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--budget", type=int, default=200)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--out", required=True, type=Path)
    args = parser.parse_args()
    devices = args.devices.split(",")
    if len(devices) > MAX_TUNING_COLUMNS:
        raise SystemExit(f"tune on at most {MAX_TUNING_COLUMNS} device columns; keep the others held out")
    candidates = json.loads(args.candidates)
    table = NasBench201Table.from_csv(args.accuracy, args.latency)
    truths = {d: GroundTruth(table, args.dataset, d) for d in devices}
    jobs, labels = [], []
    for name, algorithm, settings in [("random", "random", {}),
                                      *((json.dumps(c, sort_keys=True), "reinforce", settings_of(c)) for c in candidates)]:
        for d in devices:
            for seed in range(args.seeds):
                jobs.append(Job(d, algorithm, "mnasnet_hard", seed, args.budget, truths[d].target_ms, settings))
                labels.append(name)
    rows = outcomes(jobs, run_jobs(jobs, [args.budget], args), truths, [args.budget])
    rows["candidate"] = labels  # one budget: one row per job
    rows["pair"] = rows["device"] + ":" + rows["seed"].astype(str)  # paired by column and seed
    first = rows[rows["candidate"] == json.dumps(candidates[0], sort_keys=True)].assign(seed=lambda f: f["pair"])
    table_rows = []
    for name, group in rows.groupby("candidate", sort=False):
        gain, lo, hi, _ = paired_gain(first, group.assign(seed=group["pair"]))
        row = {"candidate": name, "gain_vs_first": gain, "lo": lo, "hi": hi}
        for device, per in group.groupby("device", sort=False):
            row[f"regret_{device}"] = per.loc[per["feasible"], "regret_val"].mean()
        row["mean_regret"] = group.loc[group["feasible"], "regret_val"].mean()
        row["p_top1"] = group["top1"].mean()
        row["infeasible"] = 1 - group["feasible"].mean()
        row["search_s"] = group["search_s"].mean()
        row["proposals"] = group["proposals"].mean()
        table_rows.append(row)
    result = pd.DataFrame(table_rows)
    args.out.mkdir(parents=True, exist_ok=True)
    atomic.write_text(args.out / "tuning.csv", result.to_csv(index=False))
    atomic.write_text(args.out / "per_seed.csv", rows.to_csv(index=False))
    with pd.option_context("display.width", 250, "display.max_colwidth", 120):
        print(result.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    print(f"REINFORCE, hard reward, {args.budget} children, {args.seeds} seeds per column; regret in pp (val); "
          f"total {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
