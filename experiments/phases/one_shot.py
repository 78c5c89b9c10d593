"""The one-shot stage of the search phase (`search.strategy: one_shot`): a weight-sharing supernet over
the space, trained through paths the controller samples, the controller learning from every scored
path's reward (`search.one_shot.OneShotSearch`, TuNAS-style); its top_k distinct archs then go to the
stand-alone stage (`search.searchers.fixed.FixedSearcher`), trained as Ray Tune trials like any child.

The supernet's checkpoints live in `one_shot/` of the run directory; the stage resumes from the last
one (a finished stage returns its samples at once). No Ray here: the supernet trains in this process
(CUDA with mixed precision when present).
"""

from __future__ import annotations

from collections.abc import Callable

from experiments.config.schema import Config
from experiments.config.spaces import resolve_space
from experiments.data.loader import BatchLoader
from experiments.data.types import DataBundle
from experiments.rundir import layout
from experiments.rundir.run_dir import RunDir
from search.one_shot import OneShotSearch
from search.rewards import RewardFn
from search.trial_record import TrialRecord
from search.tune_searcher import LatencyModel


def one_shot_stage(cfg: Config, run: RunDir, data: DataBundle, latency: LatencyModel, reward: RewardFn,
                   log: Callable[[str], None] = print) -> tuple[list[TrialRecord], list[list[int]]]:
    """Run (or resume) the one-shot search; returns every scored path as a trial record (stage
    'one_shot') and the choice vectors of the top_k archs for the stand-alone stage."""
    s = cfg.search
    assert s is not None
    o = s.one_shot
    train = BatchLoader(data.train, data.mean, data.std, o.batch_size, shuffle=True, augment=cfg.data.augment,
                        drop_last=True, seed=cfg.seed)
    val = BatchLoader(data.val, data.mean, data.std, o.val_batch_size, shuffle=True, drop_last=True,
                      seed=cfg.seed + 1)
    search = OneShotSearch(resolve_space(cfg.space), data.num_classes, train, val, latency, reward,
                           o.loop_config(), policy=s.controller.policy(s.algorithm),
                           controller=s.controller.controller(), seed=cfg.seed,
                           directory=run.path(layout.ONE_SHOT_DIR), log=log)
    samples = search.run()
    top = search.top_k(o.top_k, by=o.rank_by)
    log(f"search: one-shot stage scored {len(samples)} paths; stand-alone stage trains the top {len(top)} by "
        f"{o.rank_by}: " + ", ".join(f"{r['probability']:.3g}" for r in top))
    return [TrialRecord(**r) for r in samples], [r["choices"] for r in top]
