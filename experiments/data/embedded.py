"""The embedded default dataset: 10 classes of procedurally drawn shapes, generated from the seed.

Nothing is downloaded or cached. Each image is one shape (the class) at a random position, size and
rotation, filled with a random colour and texture (flat, stripes, checker or gradient), over a
differently coloured and textured background, with clutter (small disks and line segments, some
occluding the shape) and Gaussian noise. Telling a ring from a disk under a striped fill, or a
frame from a square, needs a receptive field that covers the shape, so wider and deeper networks
score clearly higher than tiny ones after the same short training (see benchmarks/dataset_spread.py).

The three splits are drawn from independent child streams of `numpy.random.SeedSequence(seed)`,
so changing one split's size never changes another split's images, and the same seed gives the
same bytes.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from experiments.data.types import DataBundle, Split, make_bundle

CLASSES = ("disk", "square", "triangle", "cross", "ring", "flower", "crescent", "frame", "bars", "ell")

_Shape = Callable[[np.ndarray, np.ndarray], np.ndarray]


def _polygon(sides: int) -> _Shape:
    def mask(u: np.ndarray, v: np.ndarray) -> np.ndarray:
        rho = np.hypot(u, v)
        sector = 2 * np.pi / sides
        phi = np.mod(np.arctan2(v, u), sector) - sector / 2
        return rho * np.cos(phi) <= np.cos(np.pi / sides)
    return mask


def _box(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    return np.maximum(np.abs(u), np.abs(v))


SHAPES: tuple[_Shape, ...] = (
    lambda u, v: np.hypot(u, v) <= 1.0,                                                   # disk
    lambda u, v: _box(u, v) <= 0.78,                                                      # square
    _polygon(3),                                                                          # triangle
    lambda u, v: ((np.abs(u) <= 0.3) & (np.abs(v) <= 1.0)) | ((np.abs(v) <= 0.3) & (np.abs(u) <= 1.0)),
    lambda u, v: (np.hypot(u, v) <= 1.0) & (np.hypot(u, v) >= 0.6),                       # ring
    lambda u, v: np.hypot(u, v) <= 0.6 + 0.4 * np.cos(5 * np.arctan2(v, u)),              # flower
    lambda u, v: (np.hypot(u, v) <= 1.0) & (np.hypot(u - 0.5, v) > 0.8),                  # crescent
    lambda u, v: (_box(u, v) <= 0.9) & (_box(u, v) >= 0.55),                              # frame
    lambda u, v: (np.abs(u) <= 0.95) & (np.abs(v) >= 0.2) & (np.abs(v) <= 0.65),          # bars
    lambda u, v: (((u >= -0.8) & (u <= -0.3)) | ((v >= 0.3) & (v <= 0.8)))
    & (np.abs(u) <= 0.8) & (np.abs(v) <= 0.8),                                            # ell
)


def _param(rng: np.random.Generator, low: float, high: float, m: int) -> np.ndarray:
    """(m, 1, 1) float32 uniform parameters, broadcastable against (m, R, R) images."""
    return rng.uniform(low, high, m).astype(np.float32)[:, None, None]


def _texture(rng: np.random.Generator, m: int, x: np.ndarray, y: np.ndarray, base: np.ndarray) -> np.ndarray:
    """(m, R, R, 3) float32: `base` colour mixed with a second colour through a random pattern."""
    other = np.clip(base + rng.normal(0.0, 0.3, (m, 3)), 0, 1).astype(np.float32)
    kind = rng.integers(0, 4, m)[:, None, None]
    angle = _param(rng, 0, np.pi, m)
    freq = _param(rng, 0.08, 0.35, m)
    phase = _param(rng, 0, 2 * np.pi, m)
    along = x * np.cos(angle) + y * np.sin(angle)
    across = -x * np.sin(angle) + y * np.cos(angle)
    stripes = 0.5 + 0.5 * np.sin(2 * np.pi * freq * along + phase)
    checker = (np.floor(freq * along + phase) + np.floor(freq * across)) % 2
    gradient = np.clip(along / x.shape[-1], 0, 1)
    t = np.select([kind == 0, kind == 1, kind == 2], [np.zeros_like(stripes), stripes, checker], gradient)
    t = t.astype(np.float32)[..., None]
    return base[:, None, None, :] * (1 - t) + other[:, None, None, :] * t


def _clutter(rng: np.random.Generator, img: np.ndarray, x: np.ndarray, y: np.ndarray, res: int) -> None:
    m = len(img)
    for _ in range(3):
        present = rng.random(m) < 0.6
        px, py = _param(rng, 0, res, m), _param(rng, 0, res, m)
        qx, qy = px + _param(rng, -8, 8, m) * res / 32, py + _param(rng, -8, 8, m) * res / 32
        radius = _param(rng, 1.0, 2.5, m) * res / 32
        is_disk = (rng.random(m) < 0.5)[:, None, None]
        disk = np.hypot(x - px, y - py) <= radius
        dx, dy = qx - px, qy - py
        t = np.clip(((x - px) * dx + (y - py) * dy) / np.maximum(dx * dx + dy * dy, 1e-6), 0, 1)
        segment = np.hypot(x - px - t * dx, y - py - t * dy) <= 0.6 * res / 32
        mask = np.where(is_disk, disk, segment) & present[:, None, None]
        colour = rng.uniform(0, 1, (m, 3)).astype(np.float32)[:, None, None, :]
        np.copyto(img, np.broadcast_to(colour, img.shape), where=mask[..., None])


def _draw(rng: np.random.Generator, labels: np.ndarray, res: int) -> np.ndarray:
    m = len(labels)
    grid = (np.arange(res, dtype=np.float32) + 0.5)
    y, x = grid[None, :, None], grid[None, None, :]
    bg_colour = rng.uniform(0, 1, (m, 3)).astype(np.float32)
    fg_colour = rng.uniform(0, 1, (m, 3)).astype(np.float32)
    dull = np.abs(fg_colour - bg_colour).mean(axis=1) < 0.25
    fg_colour[dull] = 1.0 - bg_colour[dull]
    img = _texture(rng, m, x, y, bg_colour)
    fg = _texture(rng, m, x, y, fg_colour)
    cx, cy = _param(rng, 0.32, 0.68, m) * res, _param(rng, 0.32, 0.68, m) * res
    scale = _param(rng, 0.22, 0.36, m) * res
    theta = _param(rng, 0, 2 * np.pi, m)
    dx, dy = x - cx, y - cy
    u = (dx * np.cos(theta) + dy * np.sin(theta)) / scale
    v = (-dx * np.sin(theta) + dy * np.cos(theta)) / scale
    mask = np.zeros((m, res, res), dtype=bool)
    for label, shape in enumerate(SHAPES):
        idx = labels == label
        if idx.any():
            mask[idx] = shape(u[idx], v[idx])
    np.copyto(img, fg, where=mask[..., None])
    _clutter(rng, img, x, y, res)
    sigma = _param(rng, 0.02, 0.10, m)[..., None]
    img += rng.standard_normal(img.shape, dtype=np.float32) * sigma
    return (np.clip(img, 0, 1) * 255 + 0.5).astype(np.uint8)


def generate(n: int, seed: np.random.SeedSequence | int, resolution: int = 32, chunk: int = 1000) -> Split:
    """`n` images with balanced labels (class i at positions where index % 10 == i, then shuffled)."""
    rng = np.random.default_rng(seed)
    labels = rng.permutation(np.arange(n) % len(CLASSES)).astype(np.int64)
    images = np.empty((n, resolution, resolution, 3), dtype=np.uint8)
    for start in range(0, n, chunk):
        images[start:start + chunk] = _draw(rng, labels[start:start + chunk], resolution)
    return Split(images, labels)


def embedded_bundle(seed: int, train_size: int, val_size: int, test_size: int, resolution: int) -> DataBundle:
    """Train / validation / test from three independent streams of `SeedSequence(seed)`."""
    train_seq, val_seq, test_seq = np.random.SeedSequence(seed).spawn(3)
    return make_bundle(
        generate(train_size, train_seq, resolution),
        generate(val_size, val_seq, resolution),
        generate(test_size, test_seq, resolution),
        CLASSES,
        source="embedded dataset",
    )
