"""CIFAR-10 in its python format (`data_batch_1..5`, `test_batch`, `batches.meta`), read safely.

Those files are Python pickles, and `pickle.load` on an untrusted file runs arbitrary code. They are
read here with `SafeUnpickler`, which resolves no global except NumPy's array reconstruction
helpers (`numpy.core.multiarray._reconstruct`, `numpy.ndarray`, `numpy.dtype`, and their
`numpy._core` spellings); the protocol's own opcodes only build dicts, lists, tuples, str, bytes,
ints and floats. A file that asks for anything else (e.g. `os.system`) is rejected with a
`DataError` naming it, before any of it is executed.
"""

from __future__ import annotations

import io
import pickle
from pathlib import Path
from typing import Any

import numpy as np

from experiments.config.errors import DataError
from experiments.data.splits import split_indices
from experiments.data.types import Split

TRAIN_FILES = tuple(f"data_batch_{i}" for i in range(1, 6))
TEST_FILE = "test_batch"
META_FILE = "batches.meta"

_ALLOWED_GLOBALS = {
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
}


class SafeUnpickler(pickle.Unpickler):
    """Unpickles only plain containers and NumPy arrays; any other global is refused."""

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in _ALLOWED_GLOBALS:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"global {module}.{name} is not allowed in a CIFAR-10 batch file")


def safe_load(path: Path) -> Any:
    """Read one pickle file with `SafeUnpickler` (latin1 strings, as CIFAR-10 was written by Python 2)."""
    try:
        raw = path.read_bytes()
    except OSError as err:
        raise DataError(f"cannot read CIFAR-10 file {path}: {err.strerror}; download and extract "
                        f"cifar-10-python.tar.gz into data.path") from None
    try:
        return SafeUnpickler(io.BytesIO(raw), encoding="latin1").load()
    except Exception as err:  # any malformed or hostile byte stream ends here
        raise DataError(f"CIFAR-10 file {path} is corrupt or not a CIFAR-10 python batch: {err}") from None


def _key(batch: dict[Any, Any], name: str) -> Any:
    for key in (name, name.encode()):
        if key in batch:
            return batch[key]
    raise KeyError(name)


def read_batch(path: Path) -> Split:
    """One batch file: 10,000 rows of 3072 uint8 (R plane, G plane, B plane, each 32x32) and labels."""
    batch = safe_load(path)
    try:
        raw = np.asarray(_key(batch, "data"), dtype=np.uint8)
        labels = np.asarray(_key(batch, "labels"), dtype=np.int64)
    except (KeyError, TypeError, ValueError) as err:
        raise DataError(f"CIFAR-10 file {path} lacks a valid 'data' / 'labels' entry ({err})") from None
    if raw.ndim != 2 or raw.shape[1] != 3 * 32 * 32 or len(labels) != len(raw):
        raise DataError(f"CIFAR-10 file {path}: data has shape {raw.shape} and {len(labels)} labels; expected "
                        f"(N, 3072) with N labels")
    return Split(raw.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1).copy(), labels)


def read_cifar10(root: Path, val_fraction: float, seed: int) -> tuple[Split, Split, Split, tuple[str, ...]]:
    """Train / validation (held out of the training batches with `seed`) / the official test batch."""
    parts = [read_batch(root / name) for name in TRAIN_FILES]
    images = np.concatenate([p.images for p in parts])
    labels = np.concatenate([p.labels for p in parts])
    train_idx, val_idx = split_indices(len(labels), (val_fraction,), seed, str(root))
    meta_path = root / META_FILE
    classes = tuple(str(i) for i in range(10))
    if meta_path.exists():
        try:
            classes = tuple(str(c) for c in _key(safe_load(meta_path), "label_names"))
        except KeyError:
            raise DataError(f"CIFAR-10 file {meta_path} has no 'label_names'") from None
    return (Split(images[train_idx], labels[train_idx]), Split(images[val_idx], labels[val_idx]),
            read_batch(root / TEST_FILE), classes)
