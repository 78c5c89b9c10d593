"""In-memory datasets: a `Split` is uint8 HWC images with int64 labels; a `DataBundle` holds the
train / validation / test splits that the search, NetAdapt and the final report use."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from experiments.config.errors import DataError


@dataclass(frozen=True)
class Split:
    """`images`: uint8 array (N, H, W, 3); `labels`: int64 array (N,) with values in [0, classes)."""

    images: np.ndarray
    labels: np.ndarray

    def __post_init__(self) -> None:
        if self.images.dtype != np.uint8 or self.images.ndim != 4 or self.images.shape[-1] != 3:
            raise DataError(f"images must be uint8 (N, H, W, 3), got {self.images.dtype} {self.images.shape}")
        if self.labels.shape != (len(self.images),):
            raise DataError(f"labels must have shape ({len(self.images)},), got {self.labels.shape}")

    def __len__(self) -> int:
        return len(self.labels)


@dataclass(frozen=True)
class DataBundle:
    """Three disjoint splits, the class names, and the per-channel normalisation of the train split."""

    train: Split
    val: Split
    test: Split
    classes: tuple[str, ...]
    mean: tuple[float, float, float]
    std: tuple[float, float, float]

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    @property
    def resolution(self) -> int:
        return int(self.train.images.shape[1])

    def summary(self) -> dict[str, object]:
        return {"classes": len(self.classes), "resolution": self.resolution, "train": len(self.train),
                "val": len(self.val), "test": len(self.test)}


def make_bundle(train: Split, val: Split, test: Split, classes: tuple[str, ...], source: str) -> DataBundle:
    """Check the splits agree (shapes, label range, none empty) and compute the train statistics."""
    for name, split in (("train", train), ("val", val), ("test", test)):
        if len(split) == 0:
            raise DataError(f"{source}: the {name} split is empty; provide more images or smaller fractions")
        if split.images.shape[1:] != train.images.shape[1:]:
            raise DataError(f"{source}: {name} images are {split.images.shape[1:]}, train images "
                            f"{train.images.shape[1:]}; all splits must share one size")
        if split.labels.min() < 0 or split.labels.max() >= len(classes):
            raise DataError(f"{source}: {name} labels must lie in [0, {len(classes)}), found "
                            f"{int(split.labels.min())}..{int(split.labels.max())}")
    pixels = train.images.reshape(-1, 3)
    step = max(1, len(pixels) // 1_000_000)
    sample = pixels[::step].astype(np.float64) / 255.0
    mean = tuple(float(v) for v in sample.mean(axis=0))
    std = tuple(max(float(v), 1e-3) for v in sample.std(axis=0))
    return DataBundle(train, val, test, classes, mean, std)  # type: ignore[arg-type]
