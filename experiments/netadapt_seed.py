"""The seed NetAdapt shrinks: which arch, and its trained weights in `<run>/seed/`.

The arch is, in order: an explicit choice (`--seed-arch`), `pipeline.seed_arch` of the config,
`best/arch.yaml` of a search in the same run directory, else MobileNetV3-Small. The weights are
given (`--seed-weights`, checked against the arch before anything is written) or trained with
`cfg.train`; either way `seed/{arch.yaml, weights.pt, metrics.json}` is written, metrics last,
and a complete `seed/` is reused on resume.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from experiments.arch_training import is_complete, save_trained, train_arch
from experiments.config import Config
from experiments.data import DataBundle
from experiments.errors import ConfigError, RunDirError
from experiments.netadapt_jobs import load_weights
from experiments.rundir import RunDir
from experiments.training import evaluate, make_loader
from models import ArchSpec, MobileNet, build_model, count_madds, count_params, resolve_arch

DEFAULT_SEED = "mobilenetv3-small"
SEED_DIR = "seed"
BEST_ARCH = "best/arch.yaml"  # search_driver.BEST_ARCH (not imported: it pulls in Ray)


def choose_seed_arch(cfg: Config, explicit: str | None) -> tuple[ArchSpec, str]:
    """The seed arch and where it came from (for the log)."""
    if explicit is not None:
        return resolve_arch(explicit), "--seed-arch"
    if cfg.pipeline.seed_arch is not None:
        return resolve_arch(cfg.pipeline.seed_arch), "pipeline.seed_arch"
    best = cfg.output_dir / cfg.name / BEST_ARCH
    if best.is_file():
        return ArchSpec.load(best), str(best)
    return resolve_arch(DEFAULT_SEED), "default"


def load_seed_model(spec: ArchSpec, weights: Path, num_classes: int, source: str) -> MobileNet:
    """`spec` built with `weights` loaded; a missing, unreadable or mismatching file is a ConfigError."""
    if not weights.is_file():
        raise ConfigError(source, [f"--seed-weights: {weights} does not exist; give the weights.pt of a trained "
                                   f"model (e.g. runs/<name>/seed/weights.pt) or leave it out to train the seed"])
    model = build_model(spec, num_classes=num_classes)
    try:
        model.load_state_dict(load_weights(weights))
    except Exception as err:  # noqa: BLE001 - torch raises several types for a bad or foreign file
        first = str(err).strip().splitlines()[0][:300]
        raise ConfigError(source, [f"--seed-weights: {weights} does not hold weights of {spec.to_str()} for "
                                   f"{num_classes} classes ({first}); pass the matching --seed-arch"]) from None
    return model


def prepare_seed(cfg: Config, run: RunDir, data: DataBundle, spec: ArchSpec, model: MobileNet | None,
                 log: Callable[[str], None] = print) -> Path:
    """Write (or reuse) `seed/` for `spec`: `model` when given, else a model trained with cfg.train."""
    if is_complete(run, SEED_DIR):
        saved = ArchSpec.load(run.path(SEED_DIR, "arch.yaml"))
        if saved != spec:
            raise RunDirError(f"{run.path(SEED_DIR)} holds {saved.to_str()}, not the requested seed {spec.to_str()}; "
                              f"use the same seed arch or start a new run name")
        log(f"netadapt: reusing the trained seed in {run.path(SEED_DIR)}")
        return run.path(SEED_DIR, "weights.pt")
    if model is None:
        log(f"netadapt: training the seed {spec.to_str()} with the train recipe")
        model, metrics = train_arch(spec, data, cfg.train, seed=cfg.seed, augment=cfg.data.augment, desc="seed")
    else:
        val = evaluate(model, make_loader(data, "val", cfg.train))
        test = evaluate(model, make_loader(data, "test", cfg.train))
        metrics = {"arch": spec.to_str(), "source": "--seed-weights", "params": count_params(spec, data.num_classes),
                   "madds": count_madds(spec, data.resolution, data.num_classes), "val_accuracy": val.accuracy,
                   "val_loss": val.loss, "test_accuracy": test.accuracy, "test_loss": test.loss}
    save_trained(run, SEED_DIR, spec, model, metrics)
    log(f"netadapt: seed val acc {metrics['val_accuracy']:.4f}, test acc {metrics['test_accuracy']:.4f}")
    return run.path(SEED_DIR, "weights.pt")
