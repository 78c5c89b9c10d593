"""An image-folder tree: one sub-directory per class, read with PIL and resized to the resolution.

Either `root/<class>/<image>` (train / validation / test are held out with the seed), or
`root/train/<class>/...` with optional `root/val/...` and `root/test/...` using the same class names
(missing splits are held out of train). Files with the usual image suffixes are read; an unreadable
image is an error naming the file.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from experiments.config.errors import DataError
from experiments.data.splits import split_indices
from experiments.data.types import Split

SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".ppm", ".tif", ".tiff"}


def _class_dirs(root: Path) -> list[Path]:
    dirs = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    if len(dirs) < 2:
        raise DataError(f"{root}: found {len(dirs)} class directories; an image-folder tree needs one "
                        f"sub-directory per class (at least 2), e.g. {root}/cat/1.png, {root}/dog/2.png")
    return dirs


def _read_image(path: Path, resolution: int) -> np.ndarray:
    try:
        with Image.open(path) as img:
            img = img.convert("RGB")
            if img.size != (resolution, resolution):
                img = img.resize((resolution, resolution), Image.BILINEAR)
            return np.asarray(img, dtype=np.uint8)
    except (OSError, UnidentifiedImageError, ValueError) as err:
        raise DataError(f"cannot read image {path}: {err}; remove or replace the file") from None


def _read_tree(root: Path, classes: tuple[str, ...], resolution: int) -> Split:
    images, labels = [], []
    for label, name in enumerate(classes):
        folder = root / name
        files = sorted(p for p in folder.rglob("*") if p.suffix.lower() in SUFFIXES) if folder.is_dir() else []
        for path in files:
            images.append(_read_image(path, resolution))
            labels.append(label)
    if not images:
        raise DataError(f"{root}: no images found (suffixes {sorted(SUFFIXES)})")
    return Split(np.stack(images), np.asarray(labels, dtype=np.int64))


def read_imagefolder(root: Path, resolution: int, val_fraction: float, test_fraction: float,
                     seed: int) -> tuple[Split, Split, Split, tuple[str, ...]]:
    if not root.is_dir():
        raise DataError(f"image folder {root} does not exist or is not a directory")
    has_splits = (root / "train").is_dir()
    train_root = root / "train" if has_splits else root
    classes = tuple(p.name for p in _class_dirs(train_root))
    splits = {"train": _read_tree(train_root, classes, resolution)}
    if has_splits:
        for name in ("val", "test"):
            if (root / name).is_dir():
                extra = sorted(set(p.name for p in _class_dirs(root / name)) - set(classes))
                if extra:
                    raise DataError(f"{root / name}: classes {extra} do not appear in {train_root}")
                splits[name] = _read_tree(root / name, classes, resolution)
    missing = [name for name in ("val", "test") if name not in splits]
    if missing:
        train = splits["train"]
        fractions = tuple(val_fraction if name == "val" else test_fraction for name in missing)
        parts = split_indices(len(train), fractions, seed, str(train_root))
        for name, idx in zip(missing, parts[1:]):
            splits[name] = Split(train.images[idx], train.labels[idx])
        splits["train"] = Split(train.images[parts[0]], train.labels[parts[0]])
    return splits["train"], splits["val"], splits["test"], classes
