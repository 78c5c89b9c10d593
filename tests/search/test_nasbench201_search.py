"""Against ground truth: with the shipped defaults, REINFORCE beats random search on NAS-Bench-201.

Hard reward, latency target at the median of one held-out device column (samsung_a50: the controller
defaults were tuned on raspi4, eyeriss and titan_rtx_1), 200 children, 20 seeds: the returned archs
(best by reward) of REINFORCE have a lower mean validation regret than random search's, and no more
of them miss the target. The full comparison is benchmarks/controller_nasbench201.py.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from search.nasbench201 import NasBench201Table
from search.rewards import make_reward
from search.tabular_score import GroundTruth, Outcome, returned, search_table

DATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "nasbench201"
DEVICE = "samsung_a50"
BUDGET = 200
SEEDS = range(20)

pytestmark = [pytest.mark.usefixtures("one_torch_thread"),
              pytest.mark.skipif(not DATA.is_dir(), reason=f"NAS-Bench-201 tables not found at {DATA.resolve()} "
                                 "(../shared/data/nasbench201 from the repository root)")]


def outcomes(algorithm: str, table: NasBench201Table, truth: GroundTruth) -> list[Outcome]:
    reward = make_reward("mnasnet_hard", truth.target_ms)
    found = []
    for seed in SEEDS:
        searcher = search_table(algorithm, table, "cifar10", DEVICE, reward, seed, BUDGET)
        code = returned(searcher.trials, [BUDGET])[0]
        assert code is not None
        found.append(truth.score(code))
    return found


def test_reinforce_beats_random_search_at_200_samples() -> None:
    table = NasBench201Table.from_csv(DATA / "accuracy.csv", DATA / "latency_ms.csv")
    truth = GroundTruth(table, "cifar10", DEVICE)
    results = {a: outcomes(a, table, truth) for a in ("reinforce", "random")}
    regret = {a: float(np.mean([o.regret_val for o in found if o.feasible])) for a, found in results.items()}
    infeasible = {a: sum(not o.feasible for o in found) for a, found in results.items()}
    top1 = {a: sum(o.top1 for o in found) for a, found in results.items()}
    summary = f"mean val regret (pp) {regret}, infeasible {infeasible}, in the top 1% {top1} of {len(SEEDS)}"
    assert regret["reinforce"] < regret["random"], summary
    assert infeasible["reinforce"] <= infeasible["random"], summary
