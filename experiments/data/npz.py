"""Datasets stored as `.npz` arrays, read with `np.load(allow_pickle=False)` (no code can run).

Keys: `x_train`, `y_train` and optionally `x_val`/`y_val`, `x_test`/`y_test` (missing splits are
held out of the training arrays), or a single pool `x`, `y` split three ways. Images are uint8,
(N, H, W, 3) or (N, H, W) greyscale; labels integers from 0. `class_names` (strings) is optional.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np

from experiments.config.errors import DataError
from experiments.data.splits import split_indices
from experiments.data.types import Split


def _images(path: Path, key: str, arr: np.ndarray) -> np.ndarray:
    if arr.dtype != np.uint8:
        raise DataError(f"{path}: array {key!r} is {arr.dtype}; store images as uint8 0..255")
    if arr.ndim == 3:
        arr = np.repeat(arr[..., None], 3, axis=-1)
    if arr.ndim != 4 or arr.shape[-1] != 3:
        raise DataError(f"{path}: array {key!r} has shape {arr.shape}; expected (N, H, W, 3) or (N, H, W)")
    return arr


def _labels(path: Path, key: str, arr: np.ndarray, n: int) -> np.ndarray:
    if arr.dtype.kind not in "iu" or arr.shape != (n,):
        raise DataError(f"{path}: array {key!r} must be {n} integer labels, got {arr.dtype} {arr.shape}")
    return arr.astype(np.int64)


def read_npz(path: Path, val_fraction: float, test_fraction: float,
             seed: int) -> tuple[Split, Split, Split, tuple[str, ...]]:
    try:
        with np.load(path, allow_pickle=False) as archive:
            arrays = {key: archive[key] for key in archive.files}
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as err:
        raise DataError(f"cannot read {path} as an .npz archive of plain arrays: {err}") from None
    pool = "x_train" if "x_train" in arrays else "x"
    if pool not in arrays or pool.replace("x", "y") not in arrays:
        raise DataError(f"{path}: expected arrays x_train and y_train (or x and y); found {sorted(arrays)}")
    splits: dict[str, Split] = {}
    for name, suffix in (("train", "_train" if pool == "x_train" else ""), ("val", "_val"), ("test", "_test")):
        if f"x{suffix}" in arrays:
            images = _images(path, f"x{suffix}", arrays[f"x{suffix}"])
            if f"y{suffix}" not in arrays:
                raise DataError(f"{path}: x{suffix} has no matching y{suffix}")
            splits[name] = Split(images, _labels(path, f"y{suffix}", arrays[f"y{suffix}"], len(images)))
    train = splits["train"]
    missing = [name for name in ("val", "test") if name not in splits]
    fractions = tuple(val_fraction if name == "val" else test_fraction for name in missing)
    if missing:
        parts = split_indices(len(train), fractions, seed, str(path))
        for name, idx in zip(missing, parts[1:]):
            splits[name] = Split(train.images[idx], train.labels[idx])
        splits["train"] = Split(train.images[parts[0]], train.labels[parts[0]])
    top = max(int(s.labels.max()) for s in splits.values()) + 1
    if "class_names" in arrays:
        classes = tuple(str(c) for c in arrays["class_names"].tolist())
    else:
        classes = tuple(str(i) for i in range(top))
    return splits["train"], splits["val"], splits["test"], classes
