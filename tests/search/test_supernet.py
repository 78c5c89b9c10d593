"""The supernet: every path equals the stand-alone child built from its sliced weights."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from one_shot_fixtures import (  # noqa: F401
    CLASSES,
    RESOLUTION,
    SHIPPED_SPACES,
    one_thread,
    tiny_space,
)
from torch import nn

from models.blocks import BN_MOMENTUM
from models.builder import MobileNet
from search.space import SearchSpace
from search.supernet import (
    SuperNet,
    child_state_dict,
    largest_choices,
    reach,
    shared_slice,
)

PATHS = 10


def distinct_inputs(n: int, size: int) -> torch.Tensor:
    """Random images with different brightness and contrast (iid noise alone pools to the same features)."""
    x = torch.randn(n, 3, size, size, generator=torch.Generator().manual_seed(n))
    return x * torch.linspace(0.5, 2.0, n).view(n, 1, 1, 1) + torch.linspace(-1.0, 1.0, n).view(n, 1, 1, 1)


def randomised(space: SearchSpace, seed: int) -> SuperNet:
    """A supernet with random BN affine terms and head, and BN running statistics of the right scale
    (taken from one batch through the all-on path), dropout off: outputs of order 1 that depend on x."""
    torch.manual_seed(seed)
    net = SuperNet(space, CLASSES, dropout=0.0)
    norms = [m for m in net.modules() if isinstance(m, nn.BatchNorm2d)]
    with torch.no_grad():
        for m in norms:
            m.weight.uniform_(0.5, 1.5)
            m.bias.uniform_(-0.3, 0.3)
            m.momentum = 1.0
        for linear in (net.head.fc, net.head.classifier):
            linear.weight.normal_(0, linear.in_features ** -0.5)
        net.train()(distinct_inputs(8, 32), largest_choices(space))
    for m in norms:
        m.momentum = BN_MOMENTUM
    return net.eval()


def child_of(net: SuperNet, choices: list[int]) -> MobileNet:
    arch, weights = child_state_dict(net, choices)
    child = MobileNet(arch, num_classes=CLASSES, dropout=0.0)
    child.load_state_dict(weights)
    return child


@pytest.mark.parametrize("space", [tiny_space(), *(SearchSpace.from_yaml(p) for p in SHIPPED_SPACES)],
                         ids=["tiny", *(p.stem for p in SHIPPED_SPACES)])
def test_every_path_equals_its_stand_alone_child(space: SearchSpace) -> None:
    net = randomised(space, 0).eval()
    rng = np.random.default_rng(0)
    x = distinct_inputs(3, 32)
    paths = [space.seed_choices()] + [space.sample(rng) for _ in range(PATHS)]
    for choices in paths:
        child = child_of(net, choices).eval()
        with torch.no_grad():
            ours, theirs = net(x, choices), child(x)
        assert theirs.std(0).max() > 1e-3  # the output depends on the input: a meaningful comparison
        assert torch.allclose(ours, theirs, rtol=0, atol=1e-5), (space.decode(choices).to_str(),
                                                                   float((ours - theirs).abs().max()))


def test_batch_statistics_scoring_equals_the_child_in_train_mode_and_leaves_running_stats() -> None:
    space = tiny_space()
    net = randomised(space, 1).eval()
    before = {k: v.clone() for k, v in net.state_dict().items()}
    x = distinct_inputs(8, RESOLUTION)
    for choices in [space.sample(np.random.default_rng(s)) for s in range(PATHS)]:
        child = child_of(net, choices).train()  # batch statistics (dropout is 0)
        net.batch_stats = True
        with torch.no_grad():
            ours, theirs = net(x, choices), child(x)
        net.batch_stats = False
        assert torch.allclose(ours, theirs, rtol=0, atol=1e-5)
    assert all(torch.equal(before[k], v) for k, v in net.state_dict().items())


def test_a_small_kernel_trains_only_the_centre_of_the_shared_kernel() -> None:
    space = tiny_space()
    net = SuperNet(space, CLASSES).train()
    choices = space.seed_choices()
    names = [d.name for d in space.decisions]
    kernel_3 = space.decisions[names.index("s2_kernel")].choices.index(3)
    choices[names.index("s2_kernel")] = kernel_3
    x = torch.randn(4, 3, RESOLUTION, RESOLUTION)
    net(x, choices).square().sum().backward()
    grad = net.stages[1][0].dw.conv.weight.grad
    assert grad is not None and grad.shape[-1] == 7  # the space's largest kernel
    assert grad[..., 2:5, 2:5].abs().sum() > 0
    ring = grad.clone()
    ring[..., 2:5, 2:5] = 0
    assert ring.abs().sum() == 0


def test_every_decision_changes_the_path() -> None:
    space = tiny_space()
    net = randomised(space, 3).eval()
    x = distinct_inputs(2, RESOLUTION)
    base = space.seed_choices()
    with torch.no_grad():
        reference = net(x, base)
        for i, decision in enumerate(space.decisions):
            for c in range(len(decision.choices)):
                if c == base[i]:
                    continue
                other = list(base)
                other[i] = c
                assert not torch.allclose(net(x, other), reference), f"{decision.name} = {decision.choices[c]}"


def test_shared_slice_is_leading_except_centred_dimensions() -> None:
    w = torch.arange(2 * 7 * 7).reshape(2, 1, 7, 7)
    cut = shared_slice(w, (1, 1, 3, 3), centred=(2, 3))
    assert torch.equal(cut, w[:1, :, 2:5, 2:5])
    assert torch.equal(shared_slice(w, (1, 1, 7, 7)), w[:1])


@pytest.mark.parametrize("stride", [1, 2])
def test_a_kernel_cut_to_its_reach_gives_the_full_kernels_output_and_weight_gradient(stride: int) -> None:
    g = torch.Generator().manual_seed(stride)
    for size in range(1, 6):
        for k in (3, 5, 7):
            r = reach(k, size)
            assert r == min(k, 2 * size - 1)
            x = torch.randn(2, 4, size, size, generator=g)
            w = torch.randn(4, 1, k, k, generator=g, requires_grad=True)
            full = F.conv2d(x, w, None, stride, (k - 1) // 2, 1, 4)
            cut = F.conv2d(x, shared_slice(w, (4, 1, r, r), centred=(2, 3)), None, stride, (r - 1) // 2, 1, 4)
            assert cut.shape == full.shape
            assert torch.allclose(cut, full, rtol=0, atol=1e-5), (size, k)
            (full_grad,) = torch.autograd.grad(full.square().sum(), w)
            (cut_grad,) = torch.autograd.grad(cut.square().sum(), w)
            assert torch.allclose(cut_grad, full_grad, rtol=0, atol=1e-4), (size, k)
