"""Proxy fidelity (`hwnas proxy-check`): does the search's cheap score rank archs as longer training does?

`N` distinct random archs of the configured space (drawn with the config's seed, so a larger N
extends a smaller one) are scored twice:

- by the configured proxy: with `search.strategy: standalone`, a stand-alone training with the
  search's child budget and recipe (`search.child_training`), as children get it; with `one_shot`,
  the trained supernet's shared weights from the run's `one_shot/` checkpoint, each path's mean
  accuracy over the validation split's batches of `search.one_shot.val_batch_size` with BatchNorm on
  each batch's own statistics, as the search scores paths;
- by a longer stand-alone training with the same recipe: `long_steps` optimizer steps when given,
  else 4x the proxy's budget (4x the child budget's steps or epochs; for a one-shot proxy, 4x the
  child budget, which is what its top-k children get). With `long_seeds` K > 1 each arch's long
  training runs K times (seeds: the config's, then the next K - 1) and `long_accuracy` is their mean:
  one short training is itself a noisy score, and the tau of the first two seeds against each other
  (`reference`: the reference's own repeatability) says how high any proxy's tau can be expected to go.

Every training starts from the config's seed (equal footing: the same initial draw and data order
for all archs; a K-th long seed is the same for all archs too) and runs as a Ray task
(`experiments.ray_jobs.tasks.as_completed`, at most `ray.max_concurrent_trials` at a time,
`ray.resources_per_trial` each), arch by arch (its proxy training, then its long ones: a check stopped
early holds complete rows). Each finished training is recorded at once in `proxy_check_state.json`, so
a killed check started again retrains none of the finished ones (a result is reused only for the same
arch, budget, recipe and seed). At the end: `proxy_check.csv` (`PROXY_COLUMNS`, one row per arch; with
K > 1 also `long_accuracy_seed<s>` per seed; for a one-shot proxy `proxy_likelihood`, each path's
shared-weight exp(-cross-entropy), the quality the search's reward takes by default) and
`plots/proxy_check.png` (proxy against long accuracy), both written atomically, and Kendall's tau-b
with its bootstrap 95% interval (for a one-shot proxy also by likelihood: `likelihood`).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from experiments.config.errors import ConfigError, RunDirError
from experiments.config.schema import Config, TrainingConfig
from experiments.config.spaces import resolve_space
from experiments.data.loader import BatchLoader
from experiments.data.types import DataBundle
from experiments.phases.one_shot import one_shot_search
from experiments.phases.search import make_reward_of, reward_target
from experiments.ray_jobs.tasks import as_completed
from experiments.report import plots
from experiments.report.proxy_section import (
    LIKELIHOOD_COLUMN,
    SEED_COLUMN,
    likelihood_tau,
    proxy_tau,
    reference_tau,
)
from experiments.rundir import layout
from experiments.rundir.run_dir import RunDir
from experiments.training.loop import TrainingDiverged, seed_everything, train
from models import atomic
from models.builder import build_model
from models.spec import ArchSpec
from search.one_shot import STATE_FILE, OneShotSearch
from search.space import SearchSpace
from search.tune_searcher import LatencyModel

PROXY_COLUMNS = ("arch", "proxy_accuracy", "long_accuracy", "latency_ms", "proxy_budget", "long_budget")
LONG_FACTOR = 4


@dataclass(frozen=True)
class TrainJob:
    """One stand-alone training of the check: `arch` (compact string) for `steps` or `epochs`."""

    arch: str
    kind: str  # "proxy" or "long"
    steps: int | None
    epochs: float | None
    seed: int

    @property
    def budget(self) -> str:
        return f"{self.steps} steps" if self.steps is not None else f"{self.epochs:g} epochs"

    @property
    def key(self) -> str:
        return f"{self.kind}|{self.budget}|seed {self.seed}|{self.arch}"


def train_job(job: TrainJob, data: DataBundle, training: TrainingConfig, augment: bool) -> float:
    """Validation accuracy of `job.arch` trained from scratch (NaN when the training diverged)."""
    seed_everything(job.seed)
    model = build_model(ArchSpec.from_str(job.arch), num_classes=data.num_classes, dropout=training.dropout)
    try:
        return train(model, data, training, seed=job.seed, steps=job.steps, epochs=job.epochs,
                     augment=augment).val_accuracy
    except TrainingDiverged:
        return float("nan")


def random_archs(space: SearchSpace, n: int, seed: int) -> list[list[int]]:
    """`n` choice vectors of distinct archs, uniformly drawn in a seeded order."""
    rng = np.random.default_rng(seed)
    found: dict[str, list[int]] = {}
    for _ in range(100 * n):
        choices = space.sample(rng)
        found.setdefault(space.decode(choices).to_str(), choices)
        if len(found) == n:
            return list(found.values())
    raise ConfigError("--archs", [f"--archs: got {n}; the space has only {len(found)} distinct archs that "
                                  f"{100 * n} draws found; ask for fewer"])


def budgets(training: TrainingConfig, long_steps: int | None) -> tuple[dict[str, Any], dict[str, Any]]:
    """(proxy, long) budgets as {"steps", "epochs"} (one of them None)."""
    proxy = {"steps": training.steps, "epochs": training.epochs if training.steps is None else None}
    if long_steps is not None:
        return proxy, {"steps": long_steps, "epochs": None}
    if proxy["steps"] is not None:
        return proxy, {"steps": LONG_FACTOR * proxy["steps"], "epochs": None}
    return proxy, {"steps": None, "epochs": LONG_FACTOR * proxy["epochs"]}


class ProxyState:
    """Finished trainings by `TrainJob.key`, saved atomically after each (with the recipe they used)."""

    def __init__(self, run: RunDir, recipe: dict[str, Any]) -> None:
        self.run, self.recipe = run, recipe
        saved = run.json(layout.PROXY_CHECK_STATE) or {}
        self.results: dict[str, float] = saved.get("results", {}) if saved.get("recipe") == recipe else {}

    def record(self, job: TrainJob, accuracy: float) -> None:
        self.results[job.key] = accuracy
        self.run.write_json(layout.PROXY_CHECK_STATE, {"recipe": self.recipe, "results": self.results})


def shared_weight_scores(cfg: Config, run: RunDir, data: DataBundle, latency: LatencyModel,
                         archs: Sequence[list[int]], log: Callable[[str], None]) -> list[tuple[float, float]]:
    """Each path's mean shared-weight (accuracy, cross-entropy) over the validation batches, from the run's
    supernet."""
    assert cfg.search is not None
    checkpoint = run.path(layout.ONE_SHOT_DIR, STATE_FILE)
    if not checkpoint.is_file():
        raise RunDirError(f"{checkpoint} is missing: search.strategy is one_shot, and the proxy is the trained "
                          f"supernet; run `hwnas search` (or `hwnas run`) with this config first")
    reward = make_reward_of(cfg, reward_target(cfg, resolve_space(cfg.space), latency, run, log))
    search = one_shot_search(cfg, run, data, latency, reward, log=None)
    search.load(checkpoint)
    if search.step < search.config.steps:
        log(f"proxy-check: the supernet stopped at step {search.step} of {search.config.steps}; scoring it as it is")
    return path_scores(search, data, cfg.search.one_shot.val_batch_size, archs)


def path_scores(search: OneShotSearch, data: DataBundle, batch_size: int,
                archs: Sequence[list[int]]) -> list[tuple[float, float]]:
    """Each path's shared-weight (accuracy, cross-entropy), means over the validation split's batches of
    `batch_size` (BatchNorm on each batch's own statistics, as the search scores paths)."""
    loader = BatchLoader(data.val, data.mean, data.std, batch_size, drop_last=True)
    batches = list(loader) or list(BatchLoader(data.val, data.mean, data.std, len(data.val.labels)))
    scores = [[search.evaluate(choices, x, y) for x, y in batches] for choices in archs]
    return [(float(np.mean([a for a, _ in s])), float(np.mean([loss for _, loss in s]))) for s in scores]


def run_proxy_check(cfg: Config, run: RunDir, data: DataBundle, latency: LatencyModel, archs: int,
                    long_steps: int | None = None, long_seeds: int = 1,
                    log: Callable[[str], None] = print) -> dict[str, Any]:
    """Score `archs` random archs by the proxy and by longer training (`long_seeds` times each) inside an
    initialised Ray; writes the CSV and the plot; returns Kendall's tau-b {"value", "ci95", "n"}, the
    table ("rows") and, with two or more seeds, the first two long seeds' tau against each other ("reference")."""
    s = cfg.search
    if s is None:
        raise ConfigError("<config>", ["search: missing; `hwnas proxy-check` checks the search's proxy"])
    space = resolve_space(cfg.space)
    choices = random_archs(space, archs, cfg.seed)
    names = [space.decode(c).to_str() for c in choices]
    training = s.child_training
    proxy_budget, long_budget = budgets(training, long_steps)
    one_shot = s.strategy == "one_shot"
    seeds = list(range(cfg.seed, cfg.seed + long_seeds))
    long_jobs = {seed: [TrainJob(a, "long", seed=seed, **long_budget) for a in names] for seed in seeds}
    proxy_jobs = [] if one_shot else [TrainJob(a, "proxy", seed=cfg.seed, **proxy_budget) for a in names]
    # arch by arch (its proxy, then its long trainings): a check stopped early holds complete rows
    jobs = [j for row in itertools.zip_longest(proxy_jobs, *long_jobs.values()) for j in row if j is not None]
    state = ProxyState(run, {"training": training.model_dump(mode="json"), "augment": cfg.data.augment})
    todo = [j for j in jobs if j.key not in state.results]
    log(f"proxy-check: {archs} archs; proxy {'shared weights of the one-shot supernet' if one_shot else 'stand-alone '}"
        f"{'' if one_shot else proxy_jobs[0].budget}, long {long_jobs[cfg.seed][0].budget}"
        f"{f' x {long_seeds} seeds' if long_seeds > 1 else ''}; {len(jobs) - len(todo)} trainings "
        f"done before, {len(todo)} to run")
    if one_shot:
        shared = shared_weight_scores(cfg, run, data, latency, choices, log)
        proxy = [accuracy for accuracy, _ in shared]
    resources = cfg.ray.resources_per_trial
    for i, (job, accuracy) in enumerate(as_completed(
            train_job, todo, shared=(data, training, cfg.data.augment), num_cpus=resources.cpu, num_gpus=resources.gpu,
            max_in_flight=cfg.ray.max_concurrent_trials), start=1):
        state.record(job, accuracy)
        log(f"proxy-check: [{i}/{len(todo)}] {job.kind} {job.budget}: accuracy {accuracy:.4f}  {job.arch}")
    if not one_shot:
        proxy = [state.results[j.key] for j in proxy_jobs]
    per_seed = {seed: [state.results[j.key] for j in seed_jobs] for seed, seed_jobs in long_jobs.items()}
    long = np.mean(list(per_seed.values()), axis=0)
    frame = pd.DataFrame({"arch": names, "proxy_accuracy": proxy, "long_accuracy": long,
                          "latency_ms": [float(latency(ArchSpec.from_str(a))) for a in names],
                          "proxy_budget": "one-shot supernet" if one_shot else proxy_jobs[0].budget,
                          "long_budget": long_jobs[cfg.seed][0].budget}, columns=list(PROXY_COLUMNS))
    if one_shot:  # the quality the search's reward takes by default (search.one_shot.quality)
        frame[LIKELIHOOD_COLUMN] = [math.exp(-loss) for _, loss in shared]
    if long_seeds > 1:
        for seed, accuracies in per_seed.items():
            frame[f"{SEED_COLUMN}{seed}"] = accuracies
    atomic.write_text(run.path(layout.PROXY_CHECK), frame.to_csv(index=False))
    stats = proxy_tau(frame)
    run.plots.mkdir(exist_ok=True)
    plots.proxy_fidelity(frame["proxy_accuracy"].to_numpy(float), frame["long_accuracy"].to_numpy(float),
                         frame["proxy_budget"].iloc[0], frame["long_budget"].iloc[0], stats["value"],
                         run.path(layout.PROXY_CHECK_PLOT))
    if long_seeds > 1:
        stats["reference"] = reference_tau(frame)
    if one_shot:
        stats["likelihood"] = likelihood_tau(frame)
    return {**stats, "rows": frame}

