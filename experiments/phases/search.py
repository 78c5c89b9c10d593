"""The search phase: config -> a searcher (`search.algorithm`) -> children as Ray Tune trials -> run directory.

After every completed child the controller state (`controller.pt`, see `search.tune_searcher`) and
the trials table (`trials.csv`) are written atomically, so a driver killed at any point resumes
with `resume=True`: completed children are kept, unfinished ones are re-issued once with the same
arch and seed, and the controller (weights, optimizer, baseline, RNG) continues where it stopped.
Resuming a finished search trains nothing (Ray is not even touched) and returns the top rows.
At the end: `topk.yaml`, `best/arch.yaml` and `search_result.json` (children, best arch, target, and
whether latency was calibrated: `latency_calibrated`, `calibration_archs`).

Latency is timed quietly: a table's missing entries (or a live model's benchmark) are timed in
batches while no child trains (`SpaceSearcher.set_pricer`), never inside a running child's time.

The reward's latency target is `search.reward.target_ms`, or `target_ratio` times the latency of
the space's seed architecture, resolved once at the first start and kept in `reward_target.json`
(a resumed run reuses it, so every child is scored against the same target).

`trials.csv` has one row per child (`TRIAL_COLUMNS`): the arch and its decisions, accuracy,
latency, reward and each reward term, status and reason, the log-probability and entropy of the
policy that sampled it, timestamps (`suggested_at`, `started_at`, `completed_at`, Unix seconds) and
durations (`wall_s` from suggestion to completion, Tune's `time_total_s`, the child's `train_s`).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

import pandas as pd

from experiments.config.schema import Config
from experiments.config.spaces import resolve_space
from experiments.console.monitor import current
from experiments.data.types import DataBundle
from experiments.phases.one_shot import one_shot_stage
from experiments.ray_jobs.search_trials import tune_children
from experiments.rundir import layout
from experiments.rundir.latency_source import calibration_facts
from experiments.rundir.run_dir import RunDir
from latency.predict import LiveLatency, TableLatency
from models import atomic
from models.spec import ArchSpec
from search.rewards import RewardFn, make_reward
from search.searchers.fixed import FixedSearcher
from search.searchers.registry import make_searcher
from search.space import SearchSpace
from search.trial_record import CACHED, OVER_TARGET, TRIAL_COLUMNS, UNTRAINED, TrialRecord, trial_row
from search.tune_searcher import LatencyModel, SpaceSearcher

TOP_K = 5


def make_reward_of(cfg: Config, target_ms: float) -> RewardFn:
    """The configured reward, scoring against `target_ms`."""
    r = cfg.search.reward if cfg.search else None
    if r is None:
        raise ValueError("the config has no search section")
    return make_reward(r.kind, target_ms, w=r.w, beta=r.beta)


def child_budget(cfg: Config) -> dict[str, Any]:
    """What a stand-alone child trains for (`search.child_training`)."""
    assert cfg.search is not None
    return {"epochs": cfg.search.child_training.epochs, "steps": cfg.search.child_training.steps}


def build_searcher(cfg: Config, latency: LatencyModel, target_ms: float,
                   after_complete: Callable[[SpaceSearcher], None] | None = None) -> SpaceSearcher:
    """The `search.algorithm` searcher a config describes (`cfg.search` must be set), scoring against
    `target_ms`."""
    s = cfg.search
    if s is None:
        raise ValueError("the config has no search section")
    controller_based = s.algorithm in ("reinforce", "ppo")
    return make_searcher(
        s.algorithm, resolve_space(cfg.space), latency, make_reward_of(cfg, target_ms), s.children, seed=cfg.seed,
        budget=child_budget(cfg), on_failure=s.failed_child, after_complete=after_complete,
        policy=s.controller.policy(s.algorithm) if controller_based else None,
        controller=s.controller.controller(), batch_size=s.controller.batch_size,
        evolution=s.evolution.model_dump(), tpe=s.tpe.model_dump(), skip_over_target=s.reward.skip_over_target is not False)


def trained_children(searcher: SpaceSearcher) -> int:
    """Children the search trained (its records less the cached and ruled-out ones)."""
    return sum(t["status"] not in UNTRAINED for t in searcher.trials)


def reward_target(cfg: Config, space: SearchSpace, latency: LatencyModel, run: RunDir,
                  log: Callable[[str], None] = print) -> float:
    """The reward's latency target in ms; a `target_ratio` is resolved against the space's seed
    architecture once and saved in `reward_target.json`, which later attempts reuse."""
    reward = cfg.search.reward if cfg.search else None
    if reward is None:
        raise ValueError("the config has no search section")
    path = run.path(layout.REWARD_TARGET)
    if path.is_file():
        saved = json.loads(path.read_text())
        if saved.get("target_ratio") == reward.target_ratio and saved.get("config_target_ms") == reward.target_ms:
            log(f"search: reward target {saved['target_ms']:.4f} ms (from {path})")
            return float(saved["target_ms"])
    if reward.target_ms is not None:
        record = {"target_ms": reward.target_ms, "source": "search.reward.target_ms",
                  "config_target_ms": reward.target_ms, "target_ratio": None}
    else:
        seed = space.decode(space.seed_choices())
        seed_ms = float(latency(seed))
        record = {"target_ms": reward.target_ratio * seed_ms,
                  "source": f"search.reward.target_ratio {reward.target_ratio} x the space's seed architecture",
                  "config_target_ms": None, "target_ratio": reward.target_ratio, "seed_arch": seed.to_str(),
                  "seed_ms": seed_ms}
    run.write_json(layout.REWARD_TARGET, record)
    log(f"search: reward target {record['target_ms']:.4f} ms ({record['source']}"
        + (f": {record['seed_ms']:.4f} ms)" if "seed_ms" in record else ")"))
    return float(record["target_ms"])


def trials_frame(searcher: SpaceSearcher, one_shot: Sequence[TrialRecord] = ()) -> pd.DataFrame:
    """One row per recorded child (columns `TRIAL_COLUMNS`): the one-shot stage's scored paths first,
    then the children trained stand-alone; the decisions as JSON text."""
    rows = [trial_row(t) for t in one_shot] + [trial_row(t) for t in sorted(searcher.trials, key=lambda r: r["index"])]
    return pd.DataFrame(rows, columns=list(TRIAL_COLUMNS))


def checkpoint(run: RunDir, searcher: SpaceSearcher, one_shot: Sequence[TrialRecord] = ()) -> None:
    """Searcher state and trials table, each written atomically."""
    with atomic.atomic_path(run.path(layout.CONTROLLER)) as tmp:
        searcher.save(str(tmp))
    atomic.write_text(run.path(layout.TRIALS), trials_frame(searcher, one_shot).to_csv(index=False))


def write_results(run: RunDir, searcher: SpaceSearcher, one_shot: Sequence[TrialRecord] = ()) -> list[dict[str, Any]]:
    """Top-k table and the best architecture (of the children trained stand-alone); returns the top-k rows."""
    checkpoint(run, searcher, one_shot)
    top = [{"arch": t["arch"], "reward": t["reward"], "accuracy": t["accuracy"], "latency_ms": t["latency_ms"],
            "index": t["index"]} for t in searcher.best(TOP_K)]
    run.write_yaml(layout.TOPK, top)
    if top:
        atomic.write_text(run.path(layout.BEST_ARCH), ArchSpec.from_str(top[0]["arch"]).to_yaml())
    return top


def run_search(cfg: Config, run: RunDir, data: DataBundle, latency: LatencyModel, resume: bool = False,
               log: Callable[[str], None] = print) -> list[dict[str, Any]]:
    """Run (or resume) the search inside an initialised Ray; returns the top-k rows."""
    assert cfg.search is not None
    target_ms = reward_target(cfg, resolve_space(cfg.space), latency, run, log)
    one_shot: list[TrialRecord] = []

    def after_child(s: SpaceSearcher) -> None:  # Tune pickles the searcher: no console in this closure
        checkpoint(run, s, one_shot)
        if s.trials[-1]["status"] not in UNTRAINED:  # not trained (cached, over the target): no console line
            current().child_done(s.trials[-1], s.trials)

    if cfg.search.strategy == "one_shot":
        reward = make_reward_of(cfg, target_ms)
        one_shot, top = one_shot_stage(cfg, run, data, latency, reward, log)
        searcher: SpaceSearcher = FixedSearcher(
            resolve_space(cfg.space), latency, reward, len(top), choices=top, seed=cfg.seed,
            budget=child_budget(cfg), on_failure=cfg.search.failed_child, after_complete=after_child)
    else:
        searcher = build_searcher(cfg, latency, target_ms, after_complete=after_child)
    if isinstance(latency, (TableLatency, LiveLatency)):  # children priced in batches while none trains
        searcher.set_pricer(latency, price_batch=cfg.ray.max_concurrent_trials)
    state = run.path(layout.CONTROLLER)
    attempt = 0
    if resume and state.is_file():
        searcher.restore(str(state))
        trained = trained_children(searcher)
        attempt = len(list(run.path(layout.RAY_DIR).glob("search-*")))
        if searcher.finished():
            log(f"search: finished in an earlier attempt ({trained} children); nothing to train")
        else:
            log(f"search: resumed with {trained} children done, {searcher.requeue_pending()} "
                f"re-issued, {searcher.num_samples - searcher.suggested} still to sample")
    if not searcher.finished():
        current().search_started(searcher.num_samples, trained_children(searcher))
        tune_children(cfg, run, data, searcher, attempt)
        current().search_finished()
    top = write_results(run, searcher, one_shot)
    done = sum(t["status"] == "ok" for t in searcher.trials)
    cached = sum(t["status"] == CACHED for t in searcher.trials)
    over = sum(t["status"] == OVER_TARGET for t in searcher.trials)
    trained = trained_children(searcher)
    run.write_json(layout.SEARCH_RESULT, {"children": trained, "ok": done, "cached": cached,
                                          "over_target": over,
                                          "best_arch": top[0]["arch"] if top else None,
                                          "target_ms": target_ms, **calibration_facts(latency)})
    spent = searcher.timings
    log(f"search: {trained} children ({done} ok), {cached} proposals of trained archs not "
        f"trained again, {over} over the target not trained (the hard constraint){' (the algorithm proposed only trained archs: ended early)' if searcher.exhausted else ''}; best {top[0]['arch'] if top else 'none'}; "
        f"wrote {run.path(layout.TRIALS)}, {run.path(layout.TOPK)}, {run.path(layout.BEST_ARCH)}")
    log(f"search: driver seconds in the searcher: sampling {spent['sample_s']:.2f}, latency {spent['latency_s']:.2f}, "
        f"policy updates {spent['update_s']:.2f}, checkpoints {spent['after_complete_s']:.2f}")
    return top
