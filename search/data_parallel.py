"""Data parallelism for the one-shot supernet over a `torch.distributed` process group (gloo on the CPU,
or any backend a launcher set up; `experiments.ray_jobs.one_shot_workers` starts one with Ray Train).

Every worker runs the same search loop with the same seed, so all sample the same paths and hold the
same controller; each takes its own shard of every batch (`Shards`). The trajectory stays that of one
process on the whole batch:

- the training loss of a shard is its summed cross-entropy over the *whole* batch's size, and the
  supernet's gradients are summed over the workers (`sum_gradients`) before clipping and the
  optimizer step, so every worker steps with the whole batch's mean gradient;
- BatchNorm normalises with the whole batch's statistics (`synced_batch_norm`: per-channel count, sum
  and sum of squares summed over the workers by a differentiable all-reduce), so a worker's shard
  is normalised exactly as in the whole batch and the running statistics update the same way;
- dropout keeps the worker's rows of the whole batch's mask (`search.supernet.SuperNet.whole_batch`);
- a scored path's correct count and summed loss are summed over the workers (`sum_scalars`), so
  every worker computes the same reward and makes the same controller update.

What differs from one process is the order of floating-point sums: agreement to float rounding
(about 1e-7 on the weights of a short search), not bit for bit.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch import nn


@dataclass(frozen=True)
class Shards:
    """This worker's place in the group: `rank` of `world` workers."""

    rank: int = 0
    world: int = 1

    @classmethod
    def current(cls) -> Shards:
        """The initialised process group's rank and size, or one worker when there is none."""
        if dist.is_available() and dist.is_initialized():
            return cls(dist.get_rank(), dist.get_world_size())
        return cls()

    @property
    def parallel(self) -> bool:
        return self.world > 1

    def take(self, *tensors: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """This worker's contiguous share of each tensor's first dimension (sizes differ by at most one)."""
        return tuple(t.tensor_split(self.world)[self.rank] for t in tensors)


class _AllReduceSum(torch.autograd.Function):
    """Sum over the workers; its gradient is the sum of the workers' gradients (the output feeds every
    worker's loss)."""

    @staticmethod
    def forward(ctx: object, x: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        x = x.clone()
        dist.all_reduce(x)
        return x

    @staticmethod
    def backward(ctx: object, grad: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        grad = grad.clone()
        dist.all_reduce(grad)
        return grad


def all_reduce_sum(x: torch.Tensor) -> torch.Tensor:
    """The sum of `x` over the workers, differentiable."""
    return _AllReduceSum.apply(x)


def synced_batch_norm(x: torch.Tensor, running_mean: torch.Tensor | None, running_var: torch.Tensor | None,
                      weight: torch.Tensor, bias: torch.Tensor, momentum: float, eps: float) -> torch.Tensor:
    """Batch normalisation of an (N, C, H, W) shard with the statistics of the workers' whole batch,
    differentiable through them; the running statistics (when given) are updated as `F.batch_norm`
    does (unbiased variance), in place."""
    x32 = x.float()
    count = torch.tensor([x.shape[0] * x.shape[2] * x.shape[3]], dtype=x32.dtype, device=x.device)
    moments = all_reduce_sum(torch.cat([count, x32.sum((0, 2, 3)), (x32 * x32).sum((0, 2, 3))]))
    n, c = moments[0], x.shape[1]
    mean = moments[1:1 + c] / n
    var = (moments[1 + c:] / n - mean * mean).clamp_min(0)
    if running_mean is not None and running_var is not None:
        with torch.no_grad():
            running_mean.mul_(1 - momentum).add_(mean.detach(), alpha=momentum)
            running_var.mul_(1 - momentum).add_(var.detach() * n / (n - 1).clamp_min(1), alpha=momentum)
    scale = weight * torch.rsqrt(var + eps)
    y = x32 * scale[None, :, None, None] + (bias - mean * scale)[None, :, None, None]
    return y.to(x.dtype)


def sum_gradients(parameters: Iterable[nn.Parameter]) -> None:
    """Replace each parameter's gradient by its sum over the workers (one flat all-reduce)."""
    grads = [p.grad for p in parameters if p.grad is not None]
    if not grads:
        return
    flat = torch.cat([g.reshape(-1) for g in grads])
    dist.all_reduce(flat)
    offset = 0
    for g in grads:
        g.copy_(flat[offset:offset + g.numel()].view_as(g))
        offset += g.numel()


def sum_scalars(values: Sequence[float]) -> list[float]:
    """Each value summed over the workers (float64)."""
    t = torch.tensor(list(values), dtype=torch.float64)
    dist.all_reduce(t)
    return t.tolist()


def gather_objects(obj: object, world: int) -> list[object]:
    """Every worker's `obj` (picklable), in rank order, on every worker."""
    out: list[object] = [None] * world
    dist.all_gather_object(out, obj)
    return out
