"""Forward and backward passes of every reference and of random specs, at 32 and 224."""

from __future__ import annotations

import pytest
import torch

from models.builder import build_model
from models.references import REFERENCES
from models.spec import ArchSpec, SpecError


def check_forward_backward(spec: ArchSpec, resolution: int, num_classes: int) -> None:
    torch.manual_seed(0)
    model = build_model(spec, num_classes).train()
    x = torch.randn(2, 3, resolution, resolution)
    out = model(x)
    assert out.shape == (2, num_classes)
    assert torch.isfinite(out).all()
    out.logsumexp(1).sum().backward()
    for name, param in model.named_parameters():
        assert param.grad is not None, f"{name} got no gradient"
        assert torch.isfinite(param.grad).all(), name
    # a BN bias feeding a 1x1 conv and another BN in train mode has an exactly zero gradient
    # (the next BN removes per-channel shifts), so only the conv and linear weights must all move
    for name, param in model.named_parameters():
        if param.dim() > 1:
            assert param.grad.abs().sum() > 0, f"{name} got an all-zero gradient"


@pytest.mark.parametrize("name", sorted(REFERENCES))
@pytest.mark.parametrize("resolution", [32, 224])
def test_references_forward_backward(name: str, resolution: int) -> None:
    check_forward_backward(REFERENCES[name], resolution, 1000 if resolution == 224 else 10)


@pytest.mark.parametrize("resolution", [32, 224])
def test_random_specs_forward_backward(random_archs: list[ArchSpec], resolution: int) -> None:
    for spec in random_archs:
        check_forward_backward(spec, resolution, 7)


def test_build_rejects_bad_arguments() -> None:
    with pytest.raises(SpecError, match="num_classes"):
        build_model(REFERENCES["mobilenetv3-small"], num_classes=0)
    with pytest.raises(SpecError, match="dropout"):
        build_model(REFERENCES["mobilenetv3-small"], dropout=1.5)


def test_structure_follows_the_spec() -> None:
    model = build_model(REFERENCES["mobilenetv3-large"])
    first, second = model.blocks[0], model.blocks[1]
    assert isinstance(first.expand, torch.nn.Identity)  # mid == in: no 1x1 expansion
    assert first.residual and not second.residual
    assert isinstance(second.se, torch.nn.Identity)
    assert model.blocks[3].se.fc1.out_channels == 24  # make_divisible(72 / 4, 8)
    assert not any(isinstance(m, torch.nn.BatchNorm1d) for m in model.head.modules())
