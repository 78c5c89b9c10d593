"""The one-shot stage of the search phase (`search.strategy: one_shot`): a weight-sharing supernet over
the space, trained through paths the controller samples, the controller learning from every scored
path's reward (`search.one_shot.OneShotSearch`, TuNAS-style); its top_k distinct archs then go to the
stand-alone stage (`search.searchers.fixed.FixedSearcher`), trained as Ray Tune trials like any child.

A one-shot search prices nearly every layer of the space (100 uniform paths of mnv3-small touch 458 of
its 586 table keys), so with a lookup table that fills itself the stage first times every missing layer
of the space in one quiet batch, before the supernet trains (`fill_space`): one batch amortises the
invoke floor and drift canary timed with it, and no entry is timed while a data-parallel worker trains.

The supernet's checkpoints live in `one_shot/` of the run directory; the stage resumes from the last
one (a finished stage returns its samples at once). At the end, `search.one_shot.uniform_samples`
uniformly random paths and the last as many recorded ones are scored by the final supernet on the same validation
batches (pair i shares batch i) into `one_shot_uniform.csv` (`layout.ONE_SHOT_UNIFORM`: columns
`sample` (`uniform` or `last`), arch, accuracy, quality, latency_ms, reward): the baseline the
report holds the controller's late samples against. The top_k archs are scored by the final supernet
on the same TOPK_BATCHES validation batches into `one_shot_topk.csv` (`layout.ONE_SHOT_TOPK`); beside
their stand-alone accuracies it is the report's proxy fidelity of the one-shot search.
The supernet trains in this process (CUDA with mixed precision when present), or with
`search.one_shot.workers` > 1 data-parallel on Ray Train workers
(`experiments.ray_jobs.one_shot_workers`); this process then reads their last checkpoint.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import numpy as np
import pandas as pd
import torch

from experiments.config.errors import RunDirError
from experiments.config.schema import Config
from experiments.config.spaces import resolve_space
from experiments.data.loader import BatchLoader
from experiments.data.types import DataBundle
from experiments.ray_jobs.one_shot_workers import train_on_workers
from experiments.rundir import layout
from experiments.rundir.run_dir import RunDir
from latency.keys import piece_key
from latency.pieces import variant_piece
from latency.predict import TableLatency
from models import atomic
from search.one_shot import STATE_FILE, OneShotSearch, checkpoint_progress
from search.rewards import RewardFn
from search.space import SearchSpace
from search.trial_record import TrialRecord
from search.tune_searcher import LatencyModel

UNIFORM_COLUMNS = ("sample", "arch", "accuracy", "quality", "latency_ms", "reward")
TOPK_COLUMNS = ("rank", "arch", "probability", "supernet_accuracy", "images")
TOPK_BATCHES = 16  # validation batches each top_k arch is scored on by the final supernet


def one_shot_search(cfg: Config, run: RunDir, data: DataBundle, latency: LatencyModel, reward: RewardFn,
                    log: Callable[[str], None] | None = print,
                    device: torch.device | None = None) -> OneShotSearch:
    """The configured one-shot search, checkpointing into (and resuming from) the run's `one_shot/`, on
    `device` (None: CUDA when present)."""
    s = cfg.search
    assert s is not None
    o = s.one_shot
    train = BatchLoader(data.train, data.mean, data.std, o.batch_size, shuffle=True, augment=cfg.data.augment,
                        drop_last=True, seed=cfg.seed)
    val = BatchLoader(data.val, data.mean, data.std, o.val_batch_size, shuffle=True, drop_last=True,
                      seed=cfg.seed + 1)
    return OneShotSearch(resolve_space(cfg.space), data.num_classes, train, val, latency, reward,
                         o.loop_config(), policy=s.controller.policy(s.algorithm),
                         controller=s.controller.controller(), seed=cfg.seed,
                         directory=run.path(layout.ONE_SHOT_DIR), device=device, log=log)


def one_shot_stage(cfg: Config, run: RunDir, data: DataBundle, latency: LatencyModel, reward: RewardFn,
                   log: Callable[[str], None] = print) -> tuple[list[TrialRecord], list[list[int]]]:
    """Run (or resume) the one-shot search; returns every scored path as a trial record (stage
    'one_shot') and the choice vectors of the top_k archs for the stand-alone stage."""
    assert cfg.search is not None
    o = cfg.search.one_shot
    search = one_shot_search(cfg, run, data, latency, reward, log)
    if not finished(search, o.workers, run):
        fill_space(latency, search.space, log)  # a finished stage returns its samples at once
        if o.workers > 1:
            train_on_workers(partial(one_shot_search, cfg, run, data, latency, reward), o.workers,
                             cfg.ray.resources_per_trial, run.path(layout.RAY_DIR), log)
    samples = search.run()
    n = o.uniform_samples
    if n and not run.path(layout.ONE_SHOT_UNIFORM).is_file():
        baseline = uniform_baseline(search, data, o.val_batch_size, cfg.seed, n)
        atomic.write_text(run.path(layout.ONE_SHOT_UNIFORM), baseline.to_csv(index=False))
        means = baseline.groupby("sample")["reward"].mean()
        log(f"search: final supernet's mean reward: last {n} sampled paths {means.get('last', np.nan):.4f}, {n} "
            f"uniform paths {means['uniform']:.4f}")
    top = search.top_k(o.top_k, by=o.rank_by)
    if not run.path(layout.ONE_SHOT_TOPK).is_file():
        scores = top_k_scores(search, top, data, o.val_batch_size, cfg.seed)
        atomic.write_text(run.path(layout.ONE_SHOT_TOPK), scores.to_csv(index=False))
    log(f"search: one-shot stage scored {len(samples)} paths; stand-alone stage trains the top {len(top)} by "
        f"{o.rank_by}: " + ", ".join(f"{r['probability']:.3g}" for r in top))
    return [TrialRecord(**r) for r in samples], [r["choices"] for r in top]


def fill_space(latency: LatencyModel, space: SearchSpace, log: Callable[[str], None]) -> None:
    """Time every layer of `space` that `latency`'s table lacks, in one quiet batch (nothing of the run
    computes yet); nothing to do for a complete table, a table without a measurer, or live latency."""
    if not isinstance(latency, TableLatency) or latency.measurer is None:
        return
    keys = sorted({piece_key(variant_piece(size, cin, piece, latency.num_classes))
                   for size, cin, piece in space.layer_variants(latency.resolution)})
    missing = latency.table.missing(keys)
    if not missing:
        return
    log(f"latency: timing {len(missing)} of the space's {len(keys)} layers at {latency.resolution} px missing from "
        f"the table, in one quiet batch before the one-shot search (it prices nearly every layer)")
    report = latency.fill(keys, workers=latency.quiet_workers)
    log(f"latency: {report.measured} entries in {report.convert_s + report.bench_s:.0f} s "
        f"({report.seconds_per_entry:.2f} s per entry: {report.conversions} conversions {report.convert_s:.0f} s, "
        f"timing {report.bench_s:.0f} s)")


def finished(search: OneShotSearch, workers: int, run: RunDir) -> bool:
    """Whether the run's one-shot checkpoint holds the finished search; an unfinished one written by
    another number of workers than `workers` is a RunDirError (it resumes only with as many)."""
    checkpoint = run.path(layout.ONE_SHOT_DIR, STATE_FILE)
    if not checkpoint.is_file():
        return False
    step, written_by = checkpoint_progress(checkpoint)
    if step >= search.config.steps:
        return True
    if written_by != workers:
        raise RunDirError(f"{checkpoint}: the one-shot search was checkpointed by {written_by} worker(s) at step "
                          f"{step} of {search.config.steps}; resume it with search.one_shot.workers: {written_by}, "
                          f"or start a new run directory")
    return False


def uniform_baseline(search: OneShotSearch, data: DataBundle, batch_size: int, seed: int, n: int) -> pd.DataFrame:
    """`n` uniform paths and the last `n` recorded ones, scored by the search's current supernet; pair i
    shares validation batch i (columns `UNIFORM_COLUMNS`)."""
    loader = BatchLoader(data.val, data.mean, data.std, batch_size, shuffle=True, drop_last=True, seed=seed + 2)
    batches = [b for b, _ in zip(loader, range(n))]
    rng = np.random.default_rng(seed + 2)
    rows = []
    for sample, paths in (("uniform", [search.space.sample(rng) for _ in range(n)]),
                          ("last", [s["choices"] for s in search.samples[-n:]])):
        for i, choices in enumerate(paths):
            record = search.score(choices, *batches[i % len(batches)])
            rows.append({"sample": sample, **{k: record[k] for k in UNIFORM_COLUMNS[1:]}})
    return pd.DataFrame(rows, columns=list(UNIFORM_COLUMNS))


def top_k_scores(search: OneShotSearch, top: list[dict], data: DataBundle, batch_size: int, seed: int) -> pd.DataFrame:
    """Each of the `top` archs' shared-weight accuracy over the same TOPK_BATCHES validation batches
    (columns `TOPK_COLUMNS`)."""
    loader = BatchLoader(data.val, data.mean, data.std, batch_size, shuffle=True, drop_last=True, seed=seed + 3)
    batches = [b for b, _ in zip(loader, range(TOPK_BATCHES))]
    images = sum(len(labels) for _, labels in batches)
    rows = []
    for rank, row in enumerate(top, start=1):
        correct = sum(search.score(row["choices"], x, labels)["accuracy"] * len(labels) for x, labels in batches)
        rows.append({"rank": rank, "arch": row["arch"], "probability": row["probability"],
                     "supernet_accuracy": correct / images, "images": images})
    return pd.DataFrame(rows, columns=list(TOPK_COLUMNS))
