"""Test helper: a generator of random valid architectures (imported by tests, used by a fixture)."""

from __future__ import annotations

import random

from models.spec import ACTIVATIONS, KERNELS, ArchSpec, BlockSpec, HeadSpec, StemSpec


def random_arch(rng: random.Random, max_blocks: int = 8) -> ArchSpec:
    """A random valid spec: residual adds wherever the block allows one, at random."""
    stem = StemSpec(out=rng.choice([8, 16, 24]), act=rng.choice(ACTIVATIONS))
    blocks = []
    cin = stem.out
    for _ in range(rng.randint(1, max_blocks)):
        stride = rng.choice([1, 2])
        out = cin if (stride == 1 and rng.random() < 0.5) else rng.choice([8, 16, 24, 32, 40])
        mid = rng.choice([cin, 2 * cin, 3 * cin, 4 * cin, 8 * rng.randint(1, 12)])
        residual = stride == 1 and out == cin and rng.random() < 0.8
        blocks.append(BlockSpec(rng.choice(KERNELS), mid, out, stride, rng.random() < 0.5,
                                rng.choice(ACTIVATIONS), residual))
        cin = out
    head = HeadSpec(last=rng.choice([32, 64, 96]), hidden=rng.choice([64, 128]), act=rng.choice(ACTIVATIONS))
    return ArchSpec(stem, tuple(blocks), head)
