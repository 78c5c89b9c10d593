"""Batches from an in-memory `Split`: normalised float tensors, optional random-crop and flip.

The whole split is kept as one uint8 NCHW tensor; a batch is gathered, normalised and augmented
with a handful of vectorised tensor ops, so loading costs little next to the training step. The
order and the augmentation draw from a `torch.Generator` seeded from (seed, epoch): deterministic.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator

import torch
import torch.nn.functional as F

from experiments.data.types import Split

PAD = 4


class BatchLoader:
    """Iterate (images, labels) batches over one split; `len()` is batches per pass."""

    def __init__(self, split: Split, mean: tuple[float, ...], std: tuple[float, ...], batch_size: int,
                 shuffle: bool = False, augment: bool = False, drop_last: bool = False, seed: int = 0,
                 device: torch.device | str = "cpu", channels_last: bool = False) -> None:
        with warnings.catch_warnings():  # Ray's object store hands out read-only arrays: only read here,
            warnings.filterwarnings("ignore", message="The given NumPy array is not writable")
            self.images = torch.from_numpy(split.images).permute(0, 3, 1, 2).contiguous()  # NHWC -> NCHW: a copy
        self.labels = torch.tensor(split.labels)  # a copy (N values), writable whatever the array was
        self.batch_size = batch_size
        self.shuffle, self.augment, self.drop_last = shuffle, augment, drop_last
        self.seed = seed
        self.epoch = 0
        self.device = torch.device(device)
        self.channels_last = channels_last
        std_t = torch.tensor(std, dtype=torch.float32).view(1, 3, 1, 1)
        self.scale = 1.0 / (255.0 * std_t)
        self.shift = -torch.tensor(mean, dtype=torch.float32).view(1, 3, 1, 1) / std_t

    def __len__(self) -> int:
        n = len(self.labels)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        gen = torch.Generator().manual_seed(self.seed * 100_003 + self.epoch)
        self.epoch += 1
        n = len(self.labels)
        order = torch.randperm(n, generator=gen) if self.shuffle else torch.arange(n)
        for b in range(len(self)):
            idx = order[b * self.batch_size:(b + 1) * self.batch_size]
            x = self.images.index_select(0, idx).float().mul_(self.scale).add_(self.shift)
            if self.augment:
                x = self._augment(x, gen)
            if self.channels_last:
                x = x.contiguous(memory_format=torch.channels_last)
            yield x.to(self.device, non_blocking=True), self.labels.index_select(0, idx).to(self.device)

    @staticmethod
    def _augment(x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
        """Random crop after zero padding by PAD pixels (zero is the mean), then horizontal flip."""
        b, c, h, w = x.shape
        padded = F.pad(x, (PAD, PAD, PAD, PAD))
        dy = torch.randint(0, 2 * PAD + 1, (b,), generator=gen)
        dx = torch.randint(0, 2 * PAD + 1, (b,), generator=gen)
        rows = (dy[:, None] + torch.arange(h))[:, None, :, None]
        cols = (dx[:, None] + torch.arange(w))[:, None, None, :]
        out = padded[torch.arange(b)[:, None, None, None], torch.arange(c)[None, :, None, None], rows, cols]
        flip = torch.rand(b, generator=gen) < 0.5
        return torch.where(flip[:, None, None, None], out.flip(3), out)
