"""Policy-gradient training of the controller: REINFORCE or PPO, selectable.

REINFORCE (Williams 1992) with a moving-average baseline b and an entropy bonus:

    A = (R - b) / s,   loss = -mean(A * log p(a)) - entropy_weight * mean(H)
    b <- decay * b + (1 - decay) * R,   s^2 <- decay * s^2 + (1 - decay) * (R - b)^2

s is a moving standard deviation of the reward (1 when `normalize` is off). Normalising makes the
step and the entropy weight independent of the reward's scale: proxy accuracies differ by a few
tenths of a percent, a synthetic reward by tenths, and the same settings serve both.

Priority-queue training (Abolafia et al. 2018, "Neural Program Synthesis with Priority Queue
Training"), optional: the caller passes the `top_k` best children seen so far (`elite`), and the
loss also fits the policy to them by maximum likelihood,

    loss += -top_k_weight * mean over the elite of log p(a)

which spends every trained child's reward again at every update, not only in its own batch.
`top_k` = 0 turns it off. The stand-alone search (`search.tune_searcher.ControllerSearcher`) passes
its best trained children; the one-shot loop passes none (its rewards come from a supernet still
training, so old ones are stale).

PPO (Schulman et al. 2017; MnasNet's choice), the clipped surrogate over `ppo_epochs` passes per batch,
with the same baseline as the advantage and the sampling-time log-probabilities as the old policy:

    r = p_new(a) / p_old(a),   loss = -mean(min(r * A, clip(r, 1 - ppo_clip, 1 + ppo_clip) * A)) - entropy_weight * mean(H)

`state_dict` holds everything needed to resume: controller weights, optimizer, baseline, counters
and the sampling generator's state (plain tensors and numbers: loadable with weights_only=True).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import torch

from search.controller import Controller, Rollout
from search.settings import check_settings, settings_from_dict

ALGORITHMS = ("reinforce", "ppo")
DEFAULT_ENTROPY_WEIGHT = {"reinforce": 0.2, "ppo": 0.05}  # PPO's bonus acts in each of its `ppo_epochs` passes
# the priority queue helps REINFORCE on NAS-Bench-201; PPO, whose term acts in each of its passes, collapsed with it
# onto its first good samples on the synthetic test (docs/controller_tuning.md)
DEFAULT_TOP_K = {"reinforce": 10, "ppo": 0}


@dataclass(frozen=True)
class PolicyConfig:
    """Hyper-parameters of the controller update. The defaults were tuned with REINFORCE on NAS-Bench-201
    (docs/controller_tuning.md) and also learn the synthetic 25-decision problem of
    tests/search/test_learning.py within 500 samples; `entropy_weight` is relative to the reward's
    moving standard deviation when `normalize` is on."""

    algorithm: str = "reinforce"
    lr: float = 0.02
    baseline_decay: float = 0.95
    entropy_weight: float = 0.2
    ppo_clip: float = 0.2
    ppo_epochs: int = 3
    grad_clip: float = 5.0
    normalize: bool = True
    top_k: int = 10
    top_k_weight: float = 0.3

    def __post_init__(self) -> None:
        if self.algorithm not in ALGORITHMS:
            raise ValueError(f"policy algorithm {self.algorithm!r} is unknown; choose one of {', '.join(ALGORITHMS)}")
        checks = {
            "lr": self.lr > 0,
            "baseline_decay": 0 <= self.baseline_decay < 1,
            "entropy_weight": self.entropy_weight >= 0,
            "ppo_clip": 0 < self.ppo_clip < 1,
            "ppo_epochs": isinstance(self.ppo_epochs, int) and self.ppo_epochs >= 1,
            "grad_clip": self.grad_clip > 0,
            "top_k": isinstance(self.top_k, int) and self.top_k >= 0,
            "top_k_weight": self.top_k_weight >= 0,
        }
        check_settings("policy", self, checks, "lr > 0, 0 <= baseline_decay < 1, entropy_weight >= 0, "
                       "0 < ppo_clip < 1, ppo_epochs >= 1, grad_clip > 0, top_k >= 0, top_k_weight >= 0")

    @classmethod
    def default(cls, algorithm: str) -> PolicyConfig:
        """The default settings of `algorithm`, with its own entropy weight and priority queue
        (`DEFAULT_ENTROPY_WEIGHT`, `DEFAULT_TOP_K`)."""
        if algorithm not in ALGORITHMS:
            raise ValueError(f"policy algorithm {algorithm!r} is unknown; choose one of {', '.join(ALGORITHMS)}")
        return cls(algorithm=algorithm, entropy_weight=DEFAULT_ENTROPY_WEIGHT[algorithm], top_k=DEFAULT_TOP_K[algorithm])

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PolicyConfig:
        return settings_from_dict(cls, data, "policy")


@dataclass(frozen=True)
class Sample:
    """One sampled choice vector with its log-probability under the policy that sampled it, and that
    policy's entropy (the sum over decisions of each step's entropy along this sample's path)."""

    choices: list[int]
    log_prob: float
    entropy: float


class PolicyGradient:
    """Samples choice vectors from a controller and updates it from their rewards."""

    def __init__(self, controller: Controller, config: PolicyConfig, seed: int) -> None:
        self.controller = controller
        self.config = config
        # fused: one kernel for all parameters (6x faster than the per-tensor loop on a 6-decision controller)
        self.optimizer = torch.optim.Adam(controller.parameters(), lr=config.lr, fused=True)
        self.generator = torch.Generator().manual_seed(seed)
        self.baseline: float | None = None
        self.reward_var = 0.0
        self.updates = 0
        self.samples = 0

    @torch.no_grad()
    def sample(self, n: int = 1) -> list[Sample]:
        rollout = self.controller.sample(n, generator=self.generator)
        self.samples += n
        return [Sample(row, lp, h)  # tolist: one conversion, not one per tensor element
                for row, lp, h in zip(rollout.choices.tolist(), rollout.log_prob.tolist(), rollout.entropy.tolist())]

    def update(self, choices: Sequence[Sequence[int]], rewards: Sequence[float],
               old_log_probs: Sequence[float] | None = None,
               elite: Sequence[Sequence[int]] = ()) -> dict[str, float]:
        """One controller update from a batch; `elite` holds the best choice vectors seen so far (at most
        `top_k` are used; the priority-queue term). Returns the logged terms (loss, baseline, entropy...)."""
        if not choices or len(choices) != len(rewards):
            raise ValueError(f"update needs one reward per choice vector; got {len(choices)} and {len(rewards)}")
        reward = torch.tensor(rewards, dtype=torch.float32)
        if not torch.isfinite(reward).all():
            raise ValueError(f"rewards must be finite, got {list(rewards)}")
        if self.baseline is None:
            self.baseline = float(reward.mean())
            self.reward_var = float(reward.var(unbiased=False))
        advantage = reward - self.baseline
        if self.config.normalize:
            advantage = advantage / (self.reward_var ** 0.5 + 1e-8)
        batch = torch.tensor([list(c) for c in choices], dtype=torch.long)
        queue = [list(c) for c in elite][:self.config.top_k]
        top = torch.tensor(queue, dtype=torch.long) if queue and self.config.top_k_weight > 0 else None
        if self.config.algorithm == "reinforce":
            stats = self._step(batch, lambda rollout: -(advantage * rollout.log_prob).mean(), top)
        else:
            if old_log_probs is None or len(old_log_probs) != len(choices):
                raise ValueError("PPO needs the sampling-time log-probability of every choice vector")
            old = torch.tensor(old_log_probs, dtype=torch.float32)
            low, high = 1 - self.config.ppo_clip, 1 + self.config.ppo_clip

            def surrogate(rollout: Any) -> torch.Tensor:
                ratio = (rollout.log_prob - old).exp()
                return -torch.min(ratio * advantage, ratio.clamp(low, high) * advantage).mean()

            for _ in range(self.config.ppo_epochs):
                stats = self._step(batch, surrogate, top)
        decay = self.config.baseline_decay
        for r in rewards:
            self.reward_var = decay * self.reward_var + (1 - decay) * (float(r) - self.baseline) ** 2
            self.baseline = decay * self.baseline + (1 - decay) * float(r)
        self.updates += 1
        return {**stats, "reward_mean": float(reward.mean()), "advantage_mean": float(advantage.mean()),
                "baseline": self.baseline, "reward_std": self.reward_var ** 0.5}

    def _step(self, batch: torch.Tensor, objective: Any, elite: torch.Tensor | None) -> dict[str, float]:
        """One gradient step; the batch and the elite are scored in one teacher-forced pass."""
        scored = self.controller.evaluate(batch if elite is None else torch.cat([batch, elite]))
        n = len(batch)
        rollout = Rollout(scored.choices[:n], scored.log_prob[:n], scored.entropy[:n])
        entropy = rollout.entropy.mean()
        loss = objective(rollout) - self.config.entropy_weight * entropy
        if elite is not None:
            loss = loss - self.config.top_k_weight * scored.log_prob[n:].mean()
        self.optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(self.controller.parameters(), self.config.grad_clip)
        self.optimizer.step()
        return {"loss": float(loss.detach()), "entropy": float(entropy.detach())}

    # ---- resume ---------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        return {
            "config": asdict(self.config),
            "controller": self.controller.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "baseline": self.baseline,
            "reward_var": self.reward_var,
            "updates": self.updates,
            "samples": self.samples,
            "generator": self.generator.get_state(),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if state["config"] != asdict(self.config):
            raise ValueError(f"checkpoint policy settings {state['config']} differ from the configured "
                             f"{asdict(self.config)}; resume with the settings the search started with")
        self.controller.load_state_dict(state["controller"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.baseline = state["baseline"]
        self.reward_var = state["reward_var"]
        self.updates = state["updates"]
        self.samples = state["samples"]
        self.generator.set_state(state["generator"])
