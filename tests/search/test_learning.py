"""Acceptance: the controller learns a synthetic reward with a known optimum over the default space.

The reward is the fraction of the 25 decisions of mnv3-small set to a hidden optimal choice vector
(one decision moves it by 0.04, the others add noise). Within 500 samples, REINFORCE and PPO must
each put more than half the probability on the whole optimal vector, and their best sample must
beat the best of 500 uniform random samples in at least 4 of 5 seeds. Controller and policy use the
shipped defaults of the `search.controller` config section (the priority queue of `top_k` best
samples included, kept here as the searcher keeps it), so this is the evidence that they learn.
"""

from __future__ import annotations

import numpy as np
import pytest

from experiments.config.schema import SearchConfig
from experiments.config.spaces import resolve_space
from search.controller import Controller
from search.policy import PolicyGradient

BUDGET = 500
SEEDS = range(5)
SPACE = resolve_space("mnv3-small")
pytestmark = pytest.mark.usefixtures("one_torch_thread")


def score(choices: list[int], optimum: np.ndarray) -> float:
    return float(np.mean(np.asarray(choices) == optimum))


def search(algorithm: str, seed: int, optimum: np.ndarray) -> tuple[float, float]:
    """(probability of the optimum after BUDGET samples, best reward sampled)."""
    search_config = SearchConfig(algorithm=algorithm, reward={"target_ms": 1.0})  # every other setting default
    c = search_config.controller
    controller = Controller([(d.name, len(d.choices)) for d in SPACE.decisions], seed=seed, **c.controller())
    policy = PolicyGradient(controller, c.policy(algorithm), seed)
    batch_size = search_config.controller.batch_size
    seen: dict[tuple[int, ...], float] = {}  # every distinct sample's reward, for the top_k queue (as the searcher)
    for _ in range(BUDGET // batch_size):
        batch = policy.sample(batch_size)
        rewards = [score(s.choices, optimum) for s in batch]
        for s, r in zip(batch, rewards):
            seen.setdefault(tuple(s.choices), r)
        elite = sorted(seen, key=seen.__getitem__, reverse=True)[:c.top_k]
        policy.update([s.choices for s in batch], rewards, [s.log_prob for s in batch], elite)
    best = max(seen.values())
    return controller.probability(optimum.tolist()), best


@pytest.mark.parametrize("algorithm", [pytest.param("ppo", marks=pytest.mark.slow), "reinforce"])  # ppo: 45 s
def test_controller_finds_the_known_optimum_and_beats_random_search(algorithm: str) -> None:
    probabilities, wins = [], 0
    for seed in SEEDS:
        optimum = np.asarray(SPACE.sample(np.random.default_rng(1000 + seed)))
        probability, best = search(algorithm, seed, optimum)
        rng = np.random.default_rng(seed)
        random_best = max(score(SPACE.sample(rng), optimum) for _ in range(BUDGET))
        probabilities.append(round(probability, 3))
        wins += best > random_best
    assert min(probabilities) > 0.5, f"{algorithm}: probability of the optimum per seed {probabilities}"
    assert wins >= 4, f"{algorithm}: beat random search in {wins} of 5 seeds"
