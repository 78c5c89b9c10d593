"""Policy-gradient updates: direction, baseline, PPO inputs, settings, exact resume."""

from __future__ import annotations

import pytest
import torch

from search.controller import Controller
from search.policy import PolicyConfig, PolicyGradient, Sample

DECISIONS = [("a", 3), ("b", 2)]


def make(algorithm: str = "reinforce", seed: int = 0) -> PolicyGradient:
    """Baseline decay 0.9, as the hand-computed baselines below assume."""
    config = PolicyConfig(algorithm=algorithm, baseline_decay=0.9)
    return PolicyGradient(Controller(DECISIONS, hidden_size=8, seed=seed), config, seed)


@pytest.mark.parametrize("algorithm", ["reinforce", "ppo"])
def test_an_update_moves_probability_towards_the_rewarded_choice(algorithm: str) -> None:
    policy = make(algorithm)
    before = policy.controller.probability([2, 1])
    samples = policy.sample(16)
    rewards = [1.0 if s.choices == [2, 1] else 0.0 for s in samples]
    scored = policy.controller.evaluate([[2, 1]])
    samples.append(Sample([2, 1], float(scored.log_prob.detach()), float(scored.entropy.detach())))
    rewards.append(1.0)
    stats = policy.update([s.choices for s in samples], rewards, [s.log_prob for s in samples])
    assert policy.controller.probability([2, 1]) > before
    assert set(stats) >= {"loss", "entropy", "reward_mean", "advantage_mean", "baseline"}


@pytest.mark.parametrize("algorithm", ["reinforce", "ppo"])
def test_the_priority_queue_term_fits_the_policy_to_the_best_children(algorithm: str) -> None:
    """Equal rewards carry no policy-gradient signal; with top_k the update still raises the probability
    of the queued best child, and only the first top_k of the queue are used."""
    samples = make(algorithm).sample(8)
    choices, old = [s.choices for s in samples], [s.log_prob for s in samples]
    moved = {}
    for top_k, elite in ((0, [[2, 1]]), (1, [[2, 1]]), (1, [[0, 0], [2, 1]])):
        policy = PolicyGradient(Controller(DECISIONS, hidden_size=8, seed=0),
                                PolicyConfig(algorithm=algorithm, entropy_weight=0.0, top_k=top_k), 0)
        before = policy.controller.probability([2, 1])
        policy.update(choices, [1.0] * len(choices), old, elite)
        moved[(top_k, len(elite))] = policy.controller.probability([2, 1]) - before
    assert moved[(0, 1)] == pytest.approx(0.0, abs=1e-6)  # top_k 0: the queue is ignored
    assert moved[(1, 1)] > 0.01
    assert moved[(1, 2)] < moved[(1, 1)]  # only [0, 0], the first of the queue, was fitted


def test_baseline_is_a_moving_average_of_rewards() -> None:
    policy = make()
    policy.update([[0, 0], [1, 1]], [1.0, 3.0])
    # first batch: baseline starts at the batch mean 2.0, then 0.9 * 2 + 0.1 * 1 = 1.9, 0.9 * 1.9 + 0.1 * 3 = 2.01
    assert policy.baseline == pytest.approx(2.01)
    # variance starts at the batch's 1.0: 0.9 * 1 + 0.1 * (1 - 2)^2 = 1.0, 0.9 * 1 + 0.1 * (3 - 1.9)^2 = 1.021
    assert policy.reward_var == pytest.approx(1.021)


@pytest.mark.parametrize("algorithm", ["reinforce", "ppo"])
def test_normalised_updates_ignore_the_reward_scale(algorithm: str) -> None:
    config = PolicyConfig(algorithm=algorithm, entropy_weight=0.0)
    a, b = (PolicyGradient(Controller(DECISIONS, hidden_size=8), config, 0) for _ in range(2))
    for step in range(3):
        batch = a.sample(6)
        b.sample(6)
        rewards = [0.01 * ((i * 7 + step) % 5) for i in range(6)]
        for policy, scaled in ((a, rewards), (b, [50.0 + 300.0 * r for r in rewards])):
            policy.update([s.choices for s in batch], scaled, [s.log_prob for s in batch])
    for key, value in a.controller.state_dict().items():
        assert torch.allclose(value, b.controller.state_dict()[key], atol=1e-5), key


def test_ppo_needs_sampling_log_probs_and_rewards_must_be_finite() -> None:
    with pytest.raises(ValueError, match="PPO needs the sampling-time log-probability"):
        make("ppo").update([[0, 0]], [1.0])
    with pytest.raises(ValueError, match="rewards must be finite"):
        make().update([[0, 0]], [float("nan")])
    with pytest.raises(ValueError, match="one reward per choice vector"):
        make().update([[0, 0]], [1.0, 2.0])


def test_settings_are_validated() -> None:
    with pytest.raises(ValueError, match="policy algorithm 'a2c' is unknown; choose one of reinforce, ppo"):
        PolicyConfig(algorithm="a2c")
    with pytest.raises(ValueError, match="ppo_clip=1.5"):
        PolicyConfig(ppo_clip=1.5)
    with pytest.raises(ValueError, match="top_k=-1, top_k_weight=-0.5"):
        PolicyConfig(top_k=-1, top_k_weight=-0.5)
    assert PolicyConfig.from_dict({"algorithm": "ppo", "ppo_epochs": 2}).ppo_epochs == 2


def test_state_dict_resumes_sampling_and_updates_exactly(tmp_path) -> None:
    a = make("ppo", seed=4)
    first = a.sample(4)
    a.update([s.choices for s in first], [0.1, 0.5, 0.2, 0.9], [s.log_prob for s in first])
    torch.save(a.state_dict(), tmp_path / "policy.pt")
    b = make("ppo", seed=99)
    b.load_state_dict(torch.load(tmp_path / "policy.pt", weights_only=True))
    assert (b.baseline, b.updates, b.samples) == (a.baseline, a.updates, a.samples)
    for policy in (a, b):
        batch = policy.sample(4)
        policy.update([s.choices for s in batch], [0.3, 0.2, 0.8, 0.1], [s.log_prob for s in batch])
    assert a.sample(3) == b.sample(3)
    other = PolicyGradient(Controller(DECISIONS, hidden_size=8), PolicyConfig(algorithm="reinforce"), 0)
    with pytest.raises(ValueError, match="differ from the configured"):
        other.load_state_dict(a.state_dict())
