"""The seed NetAdapt shrinks: which arch (one rule for `hwnas run` and `hwnas netadapt`), and its
trained weights in `<run>/seed/`.

The arch is, in order: an explicit choice (`--seed-arch`), `pipeline.seed_arch` of the config, the
searched child that `pipeline.seed_rule` picks from the run's `trials.csv` (highest reward or highest
accuracy among finished children), else MobileNetV3-Small (`hwnas netadapt` without a search). The
weights are given (`--seed-weights`, checked against the arch before anything is written) or trained
with `cfg.train`; either way `seed/{arch.yaml, weights.pt, metrics.json}` is written, metrics last,
and a complete `seed/` is reused on resume.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pandas as pd

from experiments.config.errors import ConfigError, RunDirError
from experiments.config.schema import Config
from experiments.data import DataBundle
from experiments.rundir import layout
from experiments.rundir.run_dir import RunDir
from experiments.training.arch import save_trained, train_arch
from experiments.training.loop import evaluate, make_loader
from experiments.training.weights import WeightsError, load_trained
from models import ArchSpec, MobileNet, count_madds, count_params, resolve_arch

DEFAULT_SEED = "mobilenetv3-small"
SEED_RULES = {"best_reward": "reward", "best_accuracy": "accuracy"}


class SeedError(RuntimeError):
    """No seed can be picked (e.g. every searched child failed); the message says what to change."""


def pick_searched(trials: pd.DataFrame, rule: str) -> pd.Series:
    """The searched child that seeds NetAdapt: the highest `reward` or `accuracy` among finished children
    trained stand-alone (a one-shot search's shared-weight scores are not comparable with those), those
    within the reward's latency target first (as `search.tune_searcher.best_within_target`)."""
    standalone = trials["stage"] == "standalone" if "stage" in trials else True
    ok = trials[(trials["status"] == "ok") & standalone]
    if ok.empty:
        raise SeedError(f"no searched child finished (see the status and reason columns of {layout.TRIALS}); "
                        "raise search.children or check search.child_training")
    within = ok[~(ok["latency_ratio"] > 1.0)] if "latency_ratio" in ok else ok  # a missing ratio counts as within
    pool = within if len(within) else ok
    return pool.loc[pool[SEED_RULES[rule]].idxmax()]


def choose_seed_arch(cfg: Config, root: Path, explicit: str | None = None) -> tuple[ArchSpec, str]:
    """The seed arch for the run directory `root`, and where it came from (for the log)."""
    if explicit is not None:
        return resolve_arch(explicit), "--seed-arch"
    if cfg.pipeline.seed_arch is not None:
        return resolve_arch(cfg.pipeline.seed_arch), f"pipeline.seed_arch = {cfg.pipeline.seed_arch}"
    trials = root / layout.TRIALS
    if trials.is_file():
        row = pick_searched(pd.read_csv(trials), cfg.pipeline.seed_rule)
        return ArchSpec.from_str(row["arch"]), (
            f"child {int(row['index'])} by {cfg.pipeline.seed_rule}: reward {row['reward']:.4f}, "
            f"accuracy {row['accuracy']:.4f}, {row['latency_ms']:.3f} ms")
    return resolve_arch(DEFAULT_SEED), "default: no search in this run directory"


def load_seed_model(spec: ArchSpec, weights: Path, num_classes: int, source: str) -> MobileNet:
    """`spec` built with `weights` loaded; a missing, unreadable or mismatching file is a ConfigError."""
    if not weights.is_file():
        raise ConfigError(source, [f"--seed-weights: {weights} does not exist; give the weights.pt of a trained "
                                   f"model (e.g. runs/<name>/seed/weights.pt) or leave it out to train the seed"])
    try:
        return load_trained(spec, weights, num_classes)
    except WeightsError as err:
        raise ConfigError(source, [f"--seed-weights: {err}; pass the matching --seed-arch"]) from None


def prepare_seed(cfg: Config, run: RunDir, data: DataBundle, spec: ArchSpec, model: MobileNet | None,
                 log: Callable[[str], None] = print) -> Path:
    """Write (or reuse) `seed/` for `spec`: `model` when given, else a model trained with cfg.train."""
    if run.is_complete(layout.SEED_DIR):
        saved = ArchSpec.load(run.path(layout.SEED_ARCH))
        if saved != spec:
            raise RunDirError(f"{run.path(layout.SEED_DIR)} holds {saved.to_str()}, not the requested seed "
                              f"{spec.to_str()}; use the same seed arch or start a new run name")
        log(f"netadapt: reusing the trained seed in {run.path(layout.SEED_DIR)}")
        return run.path(layout.SEED_WEIGHTS)
    if model is None:
        log(f"netadapt: training the seed {spec.to_str()} with the train recipe")
        model, metrics = train_arch(spec, data, cfg.train, seed=cfg.seed, augment=cfg.data.augment, desc="seed")
    else:
        val = evaluate(model, make_loader(data, "val", cfg.train))
        test = evaluate(model, make_loader(data, "test", cfg.train))
        metrics = {"arch": spec.to_str(), "source": "--seed-weights", "params": count_params(spec, data.num_classes),
                   "madds": count_madds(spec, data.resolution, data.num_classes), "val_accuracy": val.accuracy,
                   "val_loss": val.loss, "test_accuracy": test.accuracy, "test_loss": test.loss}
    save_trained(run, layout.SEED_DIR, spec, model, metrics)
    log(f"netadapt: seed val accuracy {metrics['val_accuracy']:.4f}, test accuracy {metrics['test_accuracy']:.4f}")
    return run.path(layout.SEED_WEIGHTS)
