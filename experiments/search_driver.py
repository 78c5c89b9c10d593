"""The block-wise search driver: config -> ControllerSearcher -> Ray Tune children -> run directory.

After every completed child the controller state (`controller.pt`, see `search.tune_searcher`) and
the trials table (`trials.csv`) are written atomically, so a driver killed at any point resumes
with `resume=True`: completed children are kept, unfinished ones are re-issued once with the same
arch and seed, and the controller (weights, optimizer, baseline, RNG) continues where it stopped.
At the end: `topk.yaml` and `best/arch.yaml`.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

from experiments import atomic
from experiments.config import Config
from experiments.data.types import DataBundle
from experiments.rundir import RunDir
from experiments.search_child import run_child
from experiments.spaces import resolve_space
from models.spec import ArchSpec
from search.policy import PolicyConfig
from search.rewards import make_reward
from search.tune_searcher import ControllerSearcher, LatencyModel

CONTROLLER_FILE = "controller.pt"
TRIALS_FILE = "trials.csv"
TOPK_FILE = "topk.yaml"
BEST_ARCH = "best/arch.yaml"
TOP_K = 5
TRIAL_COLUMNS = ("index", "trial_id", "status", "reason", "arch", "accuracy", "latency_ms", "reward", "seed",
                 "decisions", "reward_terms", "log_prob", "policy_updates", "suggested_at", "completed_at",
                 "time_total_s")


def build_searcher(cfg: Config, latency: LatencyModel,
                   after_complete: Callable[[ControllerSearcher], None] | None = None) -> ControllerSearcher:
    """The searcher a config describes (`cfg.search` must be set)."""
    s = cfg.search
    if s is None:
        raise ValueError("the config has no search section")
    c = s.controller
    policy = PolicyConfig(algorithm=s.algorithm, learning_rate=c.lr, baseline_decay=c.baseline_decay,
                          entropy_weight=c.entropy_weight, clip=c.ppo_clip, epochs=c.ppo_epochs)
    budget = {"epochs": s.child_training.epochs, "steps": s.child_training.steps}
    return ControllerSearcher(
        resolve_space(cfg.space), latency, make_reward(s.reward.kind, s.reward.target_ms, w=s.reward.w,
                                                       beta=s.reward.beta),
        num_samples=s.children, policy=policy, batch_size=c.batch_size, seed=cfg.seed, budget=budget,
        on_failure=s.failed_child, after_complete=after_complete,
        controller={"hidden": c.hidden_size, "embedding": c.embedding_size, "temperature": c.temperature,
                    "tanh_constant": c.tanh_clip},
    )


def trials_frame(searcher: ControllerSearcher) -> pd.DataFrame:
    """One row per recorded child; nested fields as JSON text."""
    rows = []
    for t in sorted(searcher.trials, key=lambda r: r["index"]):
        row = {k: t.get(k) for k in TRIAL_COLUMNS}
        row["decisions"] = json.dumps(t["decisions"])
        row["reward_terms"] = json.dumps(t["reward_terms"])
        rows.append(row)
    return pd.DataFrame(rows, columns=list(TRIAL_COLUMNS))


def checkpoint(run: RunDir, searcher: ControllerSearcher) -> None:
    """Controller state and trials table, each written atomically."""
    with atomic.atomic_path(run.path(CONTROLLER_FILE)) as tmp:
        searcher.save(str(tmp))
    atomic.write_text(run.path(TRIALS_FILE), trials_frame(searcher).to_csv(index=False))


def write_results(run: RunDir, searcher: ControllerSearcher) -> list[dict[str, Any]]:
    """Top-k table and the best architecture; returns the top-k rows."""
    checkpoint(run, searcher)
    top = [{"arch": t["arch"], "reward": t["reward"], "accuracy": t["accuracy"], "latency_ms": t["latency_ms"],
            "index": t["index"]} for t in searcher.best(TOP_K)]
    run.write_yaml(TOPK_FILE, top)
    if top:
        atomic.write_text(run.path(BEST_ARCH), ArchSpec.from_str(top[0]["arch"]).to_yaml())
    return top


def run_search(cfg: Config, run: RunDir, data: DataBundle, latency: LatencyModel, resume: bool = False,
               log: Callable[[str], None] = print) -> list[dict[str, Any]]:
    """Run (or resume) the search inside an initialised Ray; returns the top-k rows."""
    from ray import tune

    searcher = build_searcher(cfg, latency, after_complete=lambda s: checkpoint(run, s))
    state = run.path(CONTROLLER_FILE)
    attempt = 0
    if resume and state.is_file():
        searcher.restore(str(state))
        attempt = len(list(run.path("ray").glob("search-*")))
        log(f"search: resumed with {len(searcher.trials)} children done, {searcher.requeue_pending()} re-issued, "
            f"{searcher.num_samples - searcher.suggested} still to sample")
    if not searcher.finished():
        training = cfg.search.child_training
        trainable = tune.with_resources(
            tune.with_parameters(run_child, data=data, training=training, augment=cfg.data.augment),
            {"cpu": cfg.ray.resources_per_trial.cpu, "gpu": cfg.ray.resources_per_trial.gpu},
        )
        tuner = tune.Tuner(
            trainable,
            tune_config=tune.TuneConfig(search_alg=searcher, num_samples=-1,
                                        max_concurrent_trials=cfg.ray.max_concurrent_trials,
                                        trial_name_creator=lambda t: f"{t.trial_id}-{t.config['arch']}",
                                        trial_dirname_creator=lambda t: f"child-{t.trial_id}"),
            run_config=tune.RunConfig(storage_path=str(Path(run.path("ray")).resolve()), name=f"search-{attempt}",
                                      verbose=1),
        )
        tuner.fit()
    top = write_results(run, searcher)
    done = sum(t["status"] == "ok" for t in searcher.trials)
    log(f"search: {len(searcher.trials)} children ({done} ok); best {top[0]['arch'] if top else 'none'}; "
        f"wrote {run.path(TRIALS_FILE)}, {run.path(TOPK_FILE)}, {run.path(BEST_ARCH)}")
    return top
