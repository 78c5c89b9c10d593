"""Datasets: the embedded generated default and loaders for image folders, CIFAR-10 and .npz files.

`load_data(cfg.data, seed)` returns a `DataBundle` of three disjoint in-memory splits; `BatchLoader`
turns a split into training or evaluation batches.
"""

from __future__ import annotations

from experiments.config.errors import DataError
from experiments.config.schema import DataConfig
from experiments.data.cifar10 import read_cifar10
from experiments.data.embedded import embedded_bundle
from experiments.data.imagefolder import read_imagefolder
from experiments.data.loader import BatchLoader
from experiments.data.npz import read_npz
from experiments.data.resize import resize_images
from experiments.data.types import DataBundle, Split, make_bundle

__all__ = ["BatchLoader", "DataBundle", "DataError", "Split", "load_data"]


def load_data(cfg: DataConfig, seed: int) -> DataBundle:
    """The configured dataset at `cfg.resolution`, split train / validation / test without overlap."""
    if cfg.kind == "embedded":
        return embedded_bundle(seed, cfg.train_size, cfg.val_size, cfg.test_size, cfg.resolution)
    if cfg.path is None:
        raise DataError(f"data.path is required for kind {cfg.kind!r}")
    if cfg.kind == "imagefolder":
        train, val, test, classes = read_imagefolder(cfg.path, cfg.resolution, cfg.val_fraction,
                                                     cfg.test_fraction, seed)
    elif cfg.kind == "cifar10":
        train, val, test, classes = read_cifar10(cfg.path, cfg.val_fraction, seed)
    else:
        train, val, test, classes = read_npz(cfg.path, cfg.val_fraction, cfg.test_fraction, seed)
    resized = [Split(resize_images(s.images, cfg.resolution), s.labels) for s in (train, val, test)]
    return make_bundle(*resized, classes=classes, source=str(cfg.path))
