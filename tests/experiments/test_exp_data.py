"""Datasets: the embedded generator is deterministic with disjoint splits; image-folder, CIFAR-10 and
.npz loaders read valid data and reject missing, corrupt or hostile files with the file named."""

from __future__ import annotations

import hashlib
import os
import pickle
import warnings
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from experiments.config.errors import DataError
from experiments.config.schema import DataConfig
from experiments.data import load_data
from experiments.data.cifar10 import read_cifar10
from experiments.data.embedded import CLASSES, embedded_bundle, generate
from experiments.data.loader import BatchLoader
from experiments.data.npz import read_npz


def _hashes(images: np.ndarray) -> set[str]:
    return {hashlib.sha256(img.tobytes()).hexdigest() for img in images}


def test_embedded_same_seed_same_bytes() -> None:
    a = embedded_bundle(7, 120, 40, 40, 32)
    b = embedded_bundle(7, 120, 40, 40, 32)
    for name in ("train", "val", "test"):
        assert getattr(a, name).images.tobytes() == getattr(b, name).images.tobytes()
        assert np.array_equal(getattr(a, name).labels, getattr(b, name).labels)
    c = embedded_bundle(8, 120, 40, 40, 32)
    assert a.train.images.tobytes() != c.train.images.tobytes()


def test_embedded_splits_disjoint_and_independent() -> None:
    a = embedded_bundle(3, 300, 100, 100, 32)
    train, val, test = _hashes(a.train.images), _hashes(a.val.images), _hashes(a.test.images)
    assert len(train) == 300 and len(val) == 100 and len(test) == 100
    assert not (train & val) and not (train & test) and not (val & test)
    bigger_val = embedded_bundle(3, 300, 150, 100, 32)
    assert bigger_val.train.images.tobytes() == a.train.images.tobytes()
    assert bigger_val.test.images.tobytes() == a.test.images.tobytes()


def test_embedded_balanced_and_shaped() -> None:
    split = generate(200, 0, resolution=48)
    assert split.images.shape == (200, 48, 48, 3) and split.images.dtype == np.uint8
    assert np.bincount(split.labels, minlength=len(CLASSES)).tolist() == [20] * 10
    assert split.images.std() > 30  # colour, texture and noise, not flat images


def test_loader_batches_and_augmentation() -> None:
    bundle = embedded_bundle(0, 100, 20, 20, 32)
    plain = BatchLoader(bundle.train, bundle.mean, bundle.std, 32)
    assert len(plain) == 4 and sum(len(y) for _, y in plain) == 100
    x, _ = next(iter(plain))
    assert x.shape == (32, 3, 32, 32) and abs(float(x.mean())) < 0.5
    aug1 = BatchLoader(bundle.train, bundle.mean, bundle.std, 32, shuffle=True, augment=True, drop_last=True, seed=1)
    aug2 = BatchLoader(bundle.train, bundle.mean, bundle.std, 32, shuffle=True, augment=True, drop_last=True, seed=1)
    assert len(aug1) == 3
    for (xa, ya), (xb, yb) in zip(aug1, aug2):
        assert np.array_equal(xa.numpy(), xb.numpy()) and np.array_equal(ya.numpy(), yb.numpy())


def test_loader_takes_read_only_arrays_without_a_warning() -> None:
    # Ray's object store hands workers read-only arrays; torch warned "not writable ... undefined behavior"
    # in every fine-tune's log
    split = generate(40, 0, resolution=16)
    split.images.flags.writeable = False
    split.labels.flags.writeable = False
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loader = BatchLoader(split, (0.5, 0.5, 0.5), (0.25, 0.25, 0.25), 8, shuffle=True, augment=True)
        batches = list(loader)
    assert sum(len(y) for _, y in batches) == 40
    loader.labels[0] = 1 - loader.labels[0]  # its own memory: the caller's array is untouched
    assert int(loader.labels[0]) != int(split.labels[0])


def _make_tree(root: Path, classes: int = 3, per_class: int = 10, size: int = 40) -> None:
    rng = np.random.default_rng(0)
    for c in range(classes):
        (root / f"class{c}").mkdir(parents=True)
        for i in range(per_class):
            Image.fromarray(rng.integers(0, 255, (size, size, 3), dtype=np.uint8)).save(root / f"class{c}" / f"{i}.png")


def test_imagefolder_split_and_resize(tmp_path: Path) -> None:
    _make_tree(tmp_path / "imgs")
    cfg = DataConfig(kind="imagefolder", path=tmp_path / "imgs", resolution=32, val_fraction=0.2, test_fraction=0.2)
    bundle = load_data(cfg, seed=0)
    assert bundle.classes == ("class0", "class1", "class2")
    assert (len(bundle.train), len(bundle.val), len(bundle.test)) == (18, 6, 6)
    assert bundle.resolution == 32
    hashes = [_hashes(s.images) for s in (bundle.train, bundle.val, bundle.test)]
    assert not (hashes[0] & hashes[1]) and not (hashes[0] & hashes[2]) and not (hashes[1] & hashes[2])


def test_imagefolder_corrupt_file_named(tmp_path: Path) -> None:
    _make_tree(tmp_path / "imgs")
    bad = tmp_path / "imgs" / "class1" / "broken.png"
    bad.write_bytes(b"not a png")
    with pytest.raises(DataError, match="broken.png"):
        load_data(DataConfig(kind="imagefolder", path=tmp_path / "imgs"), seed=0)


def _cifar_batch(n: int, seed: int) -> dict[str, object]:
    rng = np.random.default_rng(seed)
    return {"data": rng.integers(0, 255, (n, 3072), dtype=np.uint8), "labels": rng.integers(0, 10, n).tolist(),
            "batch_label": "fake"}


def _make_cifar(root: Path) -> None:
    root.mkdir()
    for i in range(1, 6):
        (root / f"data_batch_{i}").write_bytes(pickle.dumps(_cifar_batch(20, i)))
    (root / "test_batch").write_bytes(pickle.dumps(_cifar_batch(20, 99)))
    (root / "batches.meta").write_bytes(pickle.dumps({"label_names": [f"c{i}" for i in range(10)]}))


def test_cifar10_reads_batches(tmp_path: Path) -> None:
    _make_cifar(tmp_path / "cifar")
    train, val, test, classes = read_cifar10(tmp_path / "cifar", 0.1, seed=0)
    assert (len(train), len(val), len(test)) == (90, 10, 20)
    assert classes[0] == "c0" and train.images.shape[1:] == (32, 32, 3)
    raw = _cifar_batch(20, 99)["data"]
    assert np.array_equal(test.images[0, :, :, 0].ravel(), raw[0, :1024])  # R plane first


class _Exploit:
    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (os.system, ("echo pwned > /dev/null",))


def test_cifar10_rejects_code_in_pickle(tmp_path: Path) -> None:
    _make_cifar(tmp_path / "cifar")
    (tmp_path / "cifar" / "data_batch_3").write_bytes(pickle.dumps({"data": _Exploit(), "labels": []}))
    with pytest.raises(DataError, match=r"data_batch_3.*(posix|os)\.system"):
        read_cifar10(tmp_path / "cifar", 0.1, seed=0)


def test_cifar10_missing_and_corrupt_named(tmp_path: Path) -> None:
    _make_cifar(tmp_path / "cifar")
    (tmp_path / "cifar" / "test_batch").write_bytes(b"\x80\x04garbage")
    with pytest.raises(DataError, match="test_batch"):
        read_cifar10(tmp_path / "cifar", 0.1, seed=0)
    (tmp_path / "cifar" / "data_batch_5").unlink()
    with pytest.raises(DataError, match="data_batch_5"):
        read_cifar10(tmp_path / "cifar", 0.1, seed=0)


def test_npz_pool_split_three_ways(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    path = tmp_path / "d.npz"
    np.savez(path, x=rng.integers(0, 255, (50, 16, 16, 3), dtype=np.uint8), y=np.arange(50) % 5)
    bundle = load_data(DataConfig(kind="npz", path=path, resolution=32), seed=0)
    assert (len(bundle.train), len(bundle.val), len(bundle.test)) == (40, 5, 5)
    assert bundle.num_classes == 5 and bundle.resolution == 32


def test_npz_with_given_splits(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    path = tmp_path / "d.npz"
    np.savez(path, x_train=rng.integers(0, 255, (30, 8, 8), dtype=np.uint8), y_train=np.arange(30) % 3,
             x_test=rng.integers(0, 255, (6, 8, 8), dtype=np.uint8), y_test=np.arange(6) % 3)
    train, val, test, classes = read_npz(path, 0.2, 0.1, seed=0)
    assert (len(train), len(val), len(test)) == (24, 6, 6) and train.images.shape[-1] == 3


def test_npz_refuses_pickled_objects_and_bad_files(tmp_path: Path) -> None:
    path = tmp_path / "obj.npz"
    np.savez(path, x=np.array([{"a": 1}], dtype=object), y=np.zeros(1, dtype=np.int64))
    with pytest.raises(DataError, match="obj.npz"):
        read_npz(path, 0.1, 0.1, seed=0)
    junk = tmp_path / "junk.npz"
    junk.write_bytes(b"junk")
    with pytest.raises(DataError, match="junk.npz"):
        read_npz(junk, 0.1, 0.1, seed=0)
    wrong = tmp_path / "wrong.npz"
    np.savez(wrong, images=np.zeros((2, 4, 4, 3), dtype=np.uint8))
    with pytest.raises(DataError, match="x_train"):
        read_npz(wrong, 0.1, 0.1, seed=0)
