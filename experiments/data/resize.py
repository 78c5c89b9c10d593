"""Resizing uint8 image arrays to the configured resolution (antialiased bilinear, in batches)."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F


def resize_images(images: np.ndarray, resolution: int, batch: int = 2048) -> np.ndarray:
    """uint8 (N, H, W, 3) -> uint8 (N, resolution, resolution, 3); a no-op when already that size."""
    if images.shape[1:3] == (resolution, resolution):
        return images
    out = np.empty((len(images), resolution, resolution, 3), dtype=np.uint8)
    for start in range(0, len(images), batch):
        x = torch.from_numpy(images[start:start + batch]).permute(0, 3, 1, 2).float()
        y = F.interpolate(x, size=(resolution, resolution), mode="bilinear", antialias=True, align_corners=False)
        out[start:start + batch] = y.round().clamp(0, 255).to(torch.uint8).permute(0, 2, 3, 1).numpy()
    return out
