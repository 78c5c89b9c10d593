"""The interleaved one-shot search (TuNAS, Bender et al. 2020) driven by the LSTM controller.

Each step of the search is

1. a weight step: one training batch through a path sampled from the controller; during the
   warm-up each decision is switched, with a probability decaying linearly from 1 to 0, to its
   "all on" choice (TuNAS's op and filter warm-up: the widest expansion and width, the largest
   kernel, SE on, the deepest stage, so every shared weight trains before the controller learns);
2. after the warm-up (TuNAS: RL off for the first 25% of steps), a controller step: one
   validation batch scores `samples_per_step` paths sampled from the controller with their
   shared weights, BatchNorm using the batch's own statistics (the shared running statistics mix
   every path and describe none), and the configured reward of that quality and the latency
   callable's milliseconds updates the controller (`search.policy`, REINFORCE or PPO).

Every scored path is recorded as a `search.trial_record.TrialRecord` (`OneShotSearch.samples`: arch,
choices, decisions, accuracy, loss, quality,
latency_ms, reward and its terms, entropy, log_prob, stage 'one_shot', step). The quality that
enters the reward is the shared-weight accuracy on the batch, or its likelihood exp(-cross-entropy)
(less noisy on one batch; both lie in [0, 1] as the rewards require).

Checkpoints (`one_shot.pt`, every `checkpoint_every` steps and at the end, written atomically)
hold the supernet, the controller and both optimizers, every RNG state, where each data stream
stands, and the samples so far; `one_shot_samples.json` is a readable copy of the samples. A search
killed at any point and started again with the same arguments continues from the last checkpoint
and ends exactly as an uninterrupted one (on the same device and thread count). Loading uses
`torch.load(weights_only=True)`.

On CUDA the supernet runs under `torch.autocast` (bfloat16); the controller always runs on the CPU.

Data-parallel: built inside an initialised `torch.distributed` process group of several workers, the
search runs as `search.data_parallel` describes (every worker the same loop and paths, each a shard
of every batch, gradients and BatchNorm statistics summed over the workers); worker 0 writes the
checkpoints (holding every worker's RNG state) and logs, every worker resumes from them. A checkpoint
of an unfinished search resumes only with the number of workers that wrote it.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from models import atomic
from models.spec import ArchSpec
from search.batch_stream import Batch, BatchStream
from search.controller import Controller
from search.data_parallel import Shards, gather_objects, sum_gradients, sum_scalars
from search.policy import PolicyConfig, PolicyGradient
from search.rewards import RewardFn
from search.settings import check_settings, settings_from_dict
from search.space import SearchSpace
from search.supernet import SuperNet, largest_choices

STATE_FILE = "one_shot.pt"
SAMPLES_FILE = "one_shot_samples.json"
STATE_FORMAT = 1
QUALITIES = ("accuracy", "likelihood")
WARMUP_SCHEDULES = ("decay", "progressive")
# progressive shrinking (OFA's, ordered by what sharing cost the largest path least in
# benchmarks/supernet_sharing.py: SE and depth 0.03-0.05, kernels and expansions 0.11-0.15): the warm-up's
# equal stages release these decision kinds in turn, after a first stage on the largest path alone
SHRINK_STAGES = (("se", "depth"), ("kernel",), ("expand", "width"))
OP_KINDS = ("kernel", "se", "depth")
FILTER_KINDS = ("expand", "width")
# reward term (`search.rewards.Reward` field) -> sample key, as in the stand-alone search's trials.csv


@dataclass(frozen=True)
class OneShotConfig:
    """Settings of the one-shot search. `steps` counts weight steps (training batches); controller
    steps follow each weight step after the first `warmup_fraction` of them."""

    steps: int = 600
    samples_per_step: int = 3
    warmup_fraction: float = 0.25
    warmup_schedule: str = "decay"
    lr: float = 0.1
    momentum: float = 0.9
    weight_decay: float = 4e-5
    label_smoothing: float = 0.1
    grad_clip: float = 5.0
    quality: str = "likelihood"
    checkpoint_every: int = 50
    amp: bool = True

    def __post_init__(self) -> None:
        checks = {
            "steps": isinstance(self.steps, int) and self.steps >= 1,
            "samples_per_step": isinstance(self.samples_per_step, int) and self.samples_per_step >= 1,
            "warmup_fraction": 0 <= self.warmup_fraction < 1,
            "warmup_schedule": self.warmup_schedule in WARMUP_SCHEDULES,
            "lr": self.lr > 0,
            "momentum": 0 <= self.momentum < 1,
            "weight_decay": self.weight_decay >= 0,
            "label_smoothing": 0 <= self.label_smoothing < 1,
            "grad_clip": self.grad_clip > 0,
            "quality": self.quality in QUALITIES,
            "checkpoint_every": isinstance(self.checkpoint_every, int) and self.checkpoint_every >= 1,
        }
        check_settings("one-shot", self, checks, f"steps, samples_per_step, checkpoint_every >= 1; 0 <= "
                       f"warmup_fraction < 1; warmup_schedule one of {', '.join(WARMUP_SCHEDULES)}; lr, grad_clip > 0; "
                       f"0 <= momentum, label_smoothing < 1; weight_decay >= 0; quality one of {', '.join(QUALITIES)}")

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> OneShotConfig:
        return settings_from_dict(cls, data, "one-shot")


def checkpoint_progress(path: str | Path) -> tuple[int, int]:
    """(steps done, data-parallel workers that wrote it) of a one-shot checkpoint."""
    state = torch.load(path, map_location="cpu", weights_only=True)
    return int(state["step"]), len(state.get("workers", [None]))


def warmup_choices(space: SearchSpace, choices: Sequence[int], on: float, generator: torch.Generator) -> list[int]:
    """`choices` with each decision switched to its all-on choice with probability `on`."""
    switch = torch.rand(len(choices), generator=generator) < on
    return [big if s else int(c) for c, big, s in zip(choices, largest_choices(space), switch.tolist())]


def warmup_probability(step: int, steps: int, fraction: float) -> float:
    """1 at step 0, decaying linearly to 0 at `fraction` of the steps."""
    return max(0.0, 1.0 - step / (fraction * steps)) if fraction > 0 else 0.0


def released_kinds(step: int, warmup_steps: int) -> set[str]:
    """The decision kinds the progressive warm-up draws at `step`: none in its first of len(SHRINK_STAGES) + 1
    equal stages, then SHRINK_STAGES' groups one more per stage; every kind from `warmup_steps` on."""
    stages = len(SHRINK_STAGES) + 1
    stage = stages if step >= warmup_steps else step * stages // warmup_steps
    return {kind for group in SHRINK_STAGES[:stage] for kind in group}


def progressive_choices(space: SearchSpace, choices: Sequence[int], released: set[str]) -> list[int]:
    """`choices` where a decision's kind is `released`, its all-on choice elsewhere."""
    return [int(c) if d.kind in released else big
            for d, c, big in zip(space.decisions, choices, largest_choices(space))]


class OneShotSearch:
    """The supernet, the controller and the interleaved loop; `run()` searches (and resumes).

    `train` and `val` are re-iterables of (images, labels) batches (see `search.batch_stream`),
    `latency` maps an `ArchSpec` to milliseconds, `reward` is `search.rewards.make_reward(...)`.
    With `directory`, checkpoints are written there and `run()` resumes from one found there (a
    finished search returns its samples at once). A fresh start seeds torch's global generators with
    `seed` (dropout draws from them); a resumed one restores them.
    """

    def __init__(self, space: SearchSpace, num_classes: int, train: Iterable[Batch], val: Iterable[Batch],
                 latency: Callable[[ArchSpec], float], reward: RewardFn, config: OneShotConfig = OneShotConfig(),
                 policy: PolicyConfig | None = None, controller: dict[str, Any] | None = None, seed: int = 0,
                 directory: str | Path | None = None, device: str | torch.device | None = None,
                 dropout: float = 0.2, log: Callable[[str], None] | None = None) -> None:
        self.space, self.config, self.seed = space, config, seed
        self.device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
        self.amp = config.amp and self.device.type == "cuda"
        self.latency, self.reward = latency, reward
        self.directory = Path(directory) if directory is not None else None
        self.shards = Shards.current()
        self.log = log if self.shards.rank == 0 else None
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            self.net = SuperNet(space, num_classes, dropout).to(self.device)
        self.net.sync_bn = self.shards.parallel
        # channels-last: 1.3x (training) to 2x (scoring) faster on the CPU, measured (docs/one_shot.md)
        self.memory_format = torch.channels_last if self.device.type == "cpu" else torch.contiguous_format
        self.net.to(memory_format=self.memory_format)
        self.optimizer = torch.optim.SGD(self.net.parameters(), lr=config.lr, momentum=config.momentum,
                                         weight_decay=config.weight_decay, nesterov=config.momentum > 0)
        self.controller = Controller([(d.name, len(d.choices)) for d in space.decisions], seed=seed,
                                     **(controller or {}))
        self.policy = PolicyGradient(self.controller, policy or PolicyConfig(), seed)
        self.generator = torch.Generator().manual_seed(seed + 1)
        self.train_stream, self.val_stream = BatchStream(train), BatchStream(val)
        self.step = 0
        self.elapsed_s = 0.0
        self.samples: list[dict[str, Any]] = []
        self._latency_ms: dict[str, float] = {}
        self._started = False
        self.checkpoint_workers = self.shards.world  # how many workers wrote the loaded checkpoint

    # ---- the loop ---------------------------------------------------------------------------
    @property
    def warmup_steps(self) -> int:
        return math.ceil(self.config.warmup_fraction * self.config.steps)

    def run(self, until: int | None = None) -> list[dict[str, Any]]:
        """Search to the end (or up to step `until`, for tests and time slices); returns the samples."""
        self._start()
        stop = self.config.steps if until is None else min(until, self.config.steps)
        clock = time.perf_counter()
        while self.step < stop:
            self._weight_step()
            if self.step >= self.warmup_steps:
                self._controller_step(clock)
            self.step += 1
            if self.step % self.config.checkpoint_every == 0 or self.step == self.config.steps:
                self.elapsed_s += time.perf_counter() - clock
                clock = time.perf_counter()
                self.save()
                self._report()
        self.elapsed_s += time.perf_counter() - clock
        return self.samples

    def _start(self) -> None:
        if self._started:
            return
        self._started = True
        if self.directory is not None and (self.directory / STATE_FILE).is_file():
            self.load(self.directory / STATE_FILE)
            if self.checkpoint_workers != self.shards.world and self.step < self.config.steps:
                raise ValueError(f"{self.directory / STATE_FILE}: the search was checkpointed by "
                                 f"{self.checkpoint_workers} data-parallel worker(s) at step {self.step} of "
                                 f"{self.config.steps}; resume it with search.one_shot.workers: "
                                 f"{self.checkpoint_workers}, or start it in a new directory")
        else:
            torch.manual_seed(self.seed)  # dropout draws from the global generators

    def train_path(self) -> list[int]:
        """The path the next weight step trains: the controller's sample, each decision switched to its
        all-on choice with the warm-up's probability (`decay`) or unless its kind is released yet
        (`progressive`; `benchmarks/supernet_sharing.py` replaces it)."""
        sample = self.policy.sample(1)[0].choices
        if self.config.warmup_schedule == "progressive":
            return progressive_choices(self.space, sample, released_kinds(self.step, self.warmup_steps))
        on = warmup_probability(self.step, self.config.steps, self.config.warmup_fraction)
        return warmup_choices(self.space, sample, on, self.generator)

    def _weight_step(self) -> None:
        cfg = self.config
        choices = self.train_path()
        x, y = self.train_stream.next()
        batch = len(y)
        x, y = (t.to(self.device, non_blocking=True) for t in self.shards.take(x, y))
        x = x.contiguous(memory_format=self.memory_format)
        self.net.whole_batch = batch if self.shards.parallel else None
        for group in self.optimizer.param_groups:
            group["lr"] = cfg.lr * 0.5 * (1.0 + math.cos(math.pi * self.step / cfg.steps))
        self.net.train()
        with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.amp):
            logits = self.net(x, choices)
        if self.shards.parallel:  # this shard's part of the whole batch's mean loss
            loss = F.cross_entropy(logits, y, label_smoothing=cfg.label_smoothing, reduction="sum") / batch
            whole = sum_scalars([float(loss.detach())])[0]
        else:
            loss = F.cross_entropy(logits, y, label_smoothing=cfg.label_smoothing)
            whole = float(loss.detach())
        if not math.isfinite(whole):
            raise RuntimeError(f"one-shot search: the supernet's training loss is {whole} at step {self.step} "
                               f"(path {self.space.decode(choices).to_str()}); lower one_shot.lr")
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if self.shards.parallel:
            sum_gradients(self.net.parameters())
        torch.nn.utils.clip_grad_norm_(self.net.parameters(), cfg.grad_clip)
        self.optimizer.step()

    def _controller_step(self, clock: float) -> None:
        x, y = self.val_stream.next()
        batch = self.policy.sample(self.config.samples_per_step)
        records = [self.score(s.choices, x, y) for s in batch]
        stats = self.policy.update([s.choices for s in batch], [r["reward"] for r in records],
                                   [s.log_prob for s in batch])
        now = self.elapsed_s + time.perf_counter() - clock
        for sample, record in zip(batch, records):
            record.update({"index": len(self.samples), "step": self.step, "stage": "one_shot",
                           "entropy": sample.entropy, "log_prob": sample.log_prob,
                           "policy_updates": self.policy.updates, "baseline": stats["baseline"], "time_s": now})
            self.samples.append(record)

    def score(self, choices: Sequence[int], images: torch.Tensor, labels: torch.Tensor) -> dict[str, Any]:
        """A path's shared-weight accuracy, loss and quality on one batch, its latency, and the configured
        reward with its terms (the fields of a recorded child; records nothing)."""
        accuracy, loss = self.evaluate(choices, images, labels)
        arch = self.space.decode(choices)
        key = arch.to_str()
        if key not in self._latency_ms:
            self._latency_ms[key] = float(self.latency(arch))
        quality = accuracy if self.config.quality == "accuracy" else math.exp(-loss)
        reward = self.reward(quality, self._latency_ms[key])
        return {"arch": key, "choices": [int(c) for c in choices], "decisions": self.space.values(choices),
                "status": "ok", "accuracy": accuracy, "loss": loss, "quality": quality,
                "latency_ms": self._latency_ms[key], "reward": reward.value, "reward_terms": reward.as_dict()}

    @torch.no_grad()
    def evaluate(self, choices: Sequence[int], images: torch.Tensor, labels: torch.Tensor) -> tuple[float, float]:
        """Shared-weight (accuracy, mean cross-entropy) of a path on one batch, BatchNorm on the batch's
        own statistics."""
        batch = len(labels)
        images, labels = (t.to(self.device) for t in self.shards.take(images, labels))
        images = images.contiguous(memory_format=self.memory_format)
        self.net.eval()
        self.net.batch_stats = True
        try:
            with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.amp):
                logits = self.net(images, choices).float()
        finally:
            self.net.batch_stats = False
        if not self.shards.parallel:
            return float((logits.argmax(1) == labels).float().mean()), float(F.cross_entropy(logits, labels))
        correct, loss = sum_scalars([float((logits.argmax(1) == labels).sum()),
                                     float(F.cross_entropy(logits, labels, reduction="sum"))])
        return correct / batch, loss / batch

    # ---- results ----------------------------------------------------------------------------
    @torch.no_grad()
    def policy_entropy(self, n: int = 512) -> float:
        """Mean entropy of the controller's paths (sum over decisions), over `n` rollouts drawn from a
        private generator (the search's random streams are untouched)."""
        return float(self.controller.sample(n, generator=torch.Generator().manual_seed(0)).entropy.mean())

    def top_k(self, k: int, by: str = "probability") -> list[dict[str, Any]]:
        """The `k` best distinct archs among the sampled ones and the controller's greedy choice, ranked
        by the final controller's probability (`by='probability'`) or the mean recorded reward (None for the
        greedy arch when it was never sampled)."""
        if by not in ("probability", "reward"):
            raise ValueError(f"top_k ranks by 'probability' or 'reward', got {by!r}")
        groups: dict[str, dict[str, Any]] = {}
        for s in self.samples:
            g = groups.setdefault(s["arch"], {"arch": s["arch"], "choices": s["choices"], "rewards": []})
            g["rewards"].append(s["reward"])
        greedy = self.controller.most_likely()
        groups.setdefault(self.space.decode(greedy).to_str(),
                          {"arch": self.space.decode(greedy).to_str(), "choices": greedy, "rewards": []})
        rows = []
        for g in groups.values():
            rewards = g.pop("rewards")
            rows.append({**g, "probability": self.controller.probability(g["choices"]), "count": len(rewards),
                         "mean_reward": sum(rewards) / len(rewards) if rewards else None})
        key = "probability" if by == "probability" else "mean_reward"
        rows.sort(key=lambda r: -math.inf if r[key] is None else r[key], reverse=True)
        return rows[:k]

    def _report(self) -> None:
        if self.log is None:
            return
        recent = self.samples[-50:]
        scored = (f"{len(self.samples)} children, reward (last {len(recent)}) "
                  f"{sum(s['reward'] for s in recent) / len(recent):.4f}" if recent else
                  f"warm-up: the controller samples from step {self.warmup_steps}")
        self.log(f"one-shot: step {self.step}/{self.config.steps}, {scored}, entropy {self.policy_entropy(128):.2f}, "
                 f"{self.elapsed_s:.0f} s")

    # ---- checkpoint -------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """The checkpoint; with several workers a collective call (every worker's RNG state is gathered,
        and every worker's weights and controller are checked to be in lockstep)."""
        workers = self._worker_states()
        return {
            "format": STATE_FORMAT,
            "config": asdict(self.config),
            "seed": self.seed,
            "step": self.step,
            "elapsed_s": self.elapsed_s,
            "supernet": self.net.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "policy": self.policy.state_dict(),
            "generator": self.generator.get_state(),
            "torch_rng": torch.get_rng_state(),
            "cuda_rng": workers[0]["cuda_rng"],
            "workers": [w["torch_rng"] for w in workers],
            "workers_cuda": [w["cuda_rng"] for w in workers],
            "streams": {"train": self.train_stream.state(), "val": self.val_stream.state()},
            "samples": json.dumps(self.samples),
        }

    def _worker_states(self) -> list[dict[str, Any]]:
        mine = {"torch_rng": torch.get_rng_state(), "checksum": self._checksum(),
                "cuda_rng": torch.cuda.get_rng_state_all() if self.device.type == "cuda" else []}
        if not self.shards.parallel:
            return [mine]
        states = gather_objects(mine, self.shards.world)
        sums = [s["checksum"] for s in states]  # type: ignore[index]
        if any(c != sums[0] for c in sums):
            raise RuntimeError(f"one-shot search: the data-parallel workers diverged by step {self.step} (weight and "
                               f"controller checksums {sums}); this is a bug, please report it with the config")
        return states  # type: ignore[return-value]

    def _checksum(self) -> list[float]:
        """Sums of the supernet's and the controller's parameters and the number of samples."""
        with torch.no_grad():
            return [float(sum(p.double().sum() for p in self.net.state_dict().values() if p.is_floating_point())),
                    float(sum(p.double().sum() for p in self.controller.parameters())), float(len(self.samples))]

    def save(self) -> None:
        if self.directory is None:
            return
        state = self.state_dict()
        if self.shards.rank != 0:
            return
        atomic.save_torch(self.directory / STATE_FILE, state)
        atomic.write_json(self.directory / SAMPLES_FILE, self.samples)

    def load(self, path: str | Path) -> None:
        state = torch.load(path, map_location="cpu", weights_only=True)
        if state.get("format") != STATE_FORMAT:
            raise ValueError(f"{path}: checkpoint format {state.get('format')!r}, expected {STATE_FORMAT}")
        mine = {"config": asdict(self.config), "seed": self.seed}
        # a setting added since the checkpoint was written ran as its default (warmup_schedule: decay)
        theirs = {"config": {**asdict(OneShotConfig()), **state["config"]}, "seed": state["seed"]}
        if mine != theirs:
            raise ValueError(f"{path}: the checkpoint was written with {theirs}, this search has {mine}; resume with "
                             f"the settings the search started with, or start it in a new directory")
        workers = state.get("workers", [state["torch_rng"]])
        self.checkpoint_workers = len(workers)
        self.step, self.elapsed_s = state["step"], state["elapsed_s"]
        self.net.load_state_dict(state["supernet"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.policy.load_state_dict(state["policy"])
        self.generator.set_state(state["generator"])
        rank = self.shards.rank if self.shards.rank < len(workers) else 0
        torch.set_rng_state(workers[rank])
        cuda_rng = state.get("workers_cuda", [state["cuda_rng"]])[rank]
        if cuda_rng:
            torch.cuda.set_rng_state_all(cuda_rng)
        self.train_stream.restore(state["streams"]["train"])
        self.val_stream.restore(state["streams"]["val"])
        self.samples = json.loads(state["samples"])
