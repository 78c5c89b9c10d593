"""The data-parallel one-shot loop (`search.data_parallel`) on 2 real gloo workers: the same sampled
paths and, to float rounding, the same supernet as one process on the whole batches; a 2-worker
search killed between checkpoints resumes to the uninterrupted one; BatchNorm on shards with the
whole batch's statistics, gradients included."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import torch
import torch.nn.functional as F

from models.blocks import BN_EPS
from search.data_parallel import Shards
from search.one_shot import STATE_FILE, checkpoint_progress

JOB = Path(__file__).with_name("one_shot_dp_job.py")
STEPS = 12
TOLERANCE = 1e-5  # |weight difference| allowed between 2 workers and 1 process (float sums in another order)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def search(directory: Path, world: int, until: int = STEPS) -> None:
    """The tiny search in `directory` on `world` worker processes, up to step `until`."""
    directory.mkdir(exist_ok=True)
    port = free_port()
    jobs = [subprocess.Popen([sys.executable, str(JOB), str(directory), str(STEPS), str(until), str(rank), str(world),
                              str(port)], stderr=subprocess.PIPE, text=True) for rank in range(world)]
    for job in jobs:
        _, err = job.communicate(timeout=300)
        assert job.returncode == 0, err


def samples(directory: Path) -> list[dict[str, Any]]:
    return json.loads((directory / "one_shot_samples.json").read_text())


def weights(directory: Path) -> dict[str, torch.Tensor]:
    return torch.load(directory / "final.pt", weights_only=True)


@pytest.mark.slow
def test_two_workers_sample_the_same_paths_and_train_the_same_supernet_as_one(tmp_path) -> None:
    search(tmp_path / "one", 1)
    search(tmp_path / "two", 2)
    one, two = samples(tmp_path / "one"), samples(tmp_path / "two")
    assert len(one) == len(two) == (STEPS - STEPS // 2) * 2
    assert [s["choices"] for s in two] == [s["choices"] for s in one]
    assert [s["accuracy"] for s in two] == [s["accuracy"] for s in one]  # correct counts summed over the workers
    assert [s["reward"] for s in two] == pytest.approx([s["reward"] for s in one], abs=1e-6)
    w1, w2 = weights(tmp_path / "one"), weights(tmp_path / "two")
    assert w1.keys() == w2.keys()
    for key in w1:  # BatchNorm running statistics included
        assert torch.allclose(w2[key].double(), w1[key].double(), rtol=0, atol=TOLERANCE), key
    trained = max(float((w1[k] - torch.load(tmp_path / "one" / STATE_FILE, weights_only=True)["supernet"][k]).abs()
                        .max()) for k in w1 if w1[k].is_floating_point())
    assert trained == 0.0  # final.pt is the last checkpoint's supernet
    assert checkpoint_progress(tmp_path / "two" / STATE_FILE) == (STEPS, 2)


@pytest.mark.slow
def test_a_two_worker_search_resumes_from_its_checkpoint_to_the_uninterrupted_end(tmp_path) -> None:
    search(tmp_path / "whole", 2)
    search(tmp_path / "halves", 2, until=STEPS // 2 + 1)  # stops after the checkpoint of step 6, before step 8's
    assert checkpoint_progress(tmp_path / "halves" / STATE_FILE) == (STEPS // 2, 2)
    search(tmp_path / "halves", 2)
    whole, halves = samples(tmp_path / "whole"), samples(tmp_path / "halves")
    strip = [{k: v for k, v in s.items() if k != "time_s"} for s in whole]
    assert [{k: v for k, v in s.items() if k != "time_s"} for s in halves] == strip
    w1, w2 = weights(tmp_path / "whole"), weights(tmp_path / "halves")
    assert all(torch.equal(w1[k], w2[k]) for k in w1)


def loss_pattern(x: torch.Tensor) -> torch.Tensor:
    """Fixed weights of a loss over every output of a batch like `x`."""
    return torch.arange(x.numel()).view_as(x).float().cos()


def _bn_worker(rank: int, port: int, x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor,
               queue: Any) -> None:
    import torch.distributed as dist

    from search.data_parallel import synced_batch_norm

    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=2)
    shard, pattern = Shards.current().take(x, loss_pattern(x))
    shard = shard.clone().requires_grad_()
    w, b = weight.clone().requires_grad_(), bias.clone().requires_grad_()
    mean, var = torch.zeros(x.shape[1]), torch.ones(x.shape[1])
    y = synced_batch_norm(shard, mean, var, w, b, 0.1, BN_EPS)
    (y * pattern).sum().backward()  # this worker's part of the whole batch's loss
    # numpy arrays travel by value (a tensor would be shared memory that dies with this process)
    queue.put((rank, *(t.detach().numpy() for t in (y, shard.grad, w.grad, b.grad, mean, var))))
    dist.destroy_process_group()


def test_synced_batch_norm_on_shards_is_batch_norm_on_the_whole_batch() -> None:
    """Forward, running statistics and gradients of 2 shards (sizes 3 and 2) against F.batch_norm."""
    import torch.multiprocessing as mp

    gen = torch.Generator().manual_seed(0)
    x, weight, bias = torch.randn(5, 4, 3, 3, generator=gen) * 3 + 1, torch.rand(4, generator=gen), torch.randn(4)
    ctx = mp.get_context("spawn")
    queue, port = ctx.Queue(), free_port()
    procs = [ctx.Process(target=_bn_worker, args=(r, port, x, weight, bias, queue)) for r in range(2)]
    for p in procs:
        p.start()
    got = [[torch.from_numpy(a) for a in r[1:]] for r in sorted((queue.get(timeout=120) for _ in procs),
                                                                   key=lambda r: r[0])]
    for p in procs:
        p.join(timeout=60)
    xs, w, b = x.clone().requires_grad_(), weight.clone().requires_grad_(), bias.clone().requires_grad_()
    mean, var = torch.zeros(4), torch.ones(4)
    y = F.batch_norm(xs, mean, var, w, b, True, 0.1, BN_EPS)
    (y * loss_pattern(x)).sum().backward()
    assert torch.allclose(torch.cat([g[0] for g in got]), y.detach(), atol=1e-5)
    assert torch.allclose(torch.cat([g[1] for g in got]), xs.grad, atol=1e-5)
    assert torch.allclose(got[0][2] + got[1][2], w.grad, atol=1e-5)  # summed over workers, as sum_gradients does
    assert torch.allclose(got[0][3] + got[1][3], b.grad, atol=1e-5)
    for rank in range(2):
        assert torch.allclose(got[rank][4], mean, atol=1e-6) and torch.allclose(got[rank][5], var, atol=1e-5)
