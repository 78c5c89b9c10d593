"""Weight surgery: narrowed models keep the largest-norm channels and every surviving weight."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from models.builder import MobileNet, build_model
from models.references import REFERENCES
from models.spec import ArchSpec, SpecError
from models.surgery import narrow

SMALL = REFERENCES["mobilenetv3-small"]
LARGE = REFERENCES["mobilenetv3-large"]


def trained_like(spec: ArchSpec) -> MobileNet:
    """A model with non-trivial BN statistics and affine terms, as after training."""
    torch.manual_seed(0)
    model = build_model(spec, num_classes=10)
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.normal_()
            m.running_var.uniform_(0.5, 2.0)
            m.weight.data.normal_()
            m.bias.data.normal_()
    return model.eval()


def with_blocks(spec: ArchSpec, **changes: dict[int, dict]) -> ArchSpec:
    blocks = list(spec.blocks)
    for index, fields in changes["blocks"].items():
        blocks[index] = dataclasses.replace(blocks[index], **fields)
    stem = dataclasses.replace(spec.stem, **changes.get("stem", {}))
    return ArchSpec(stem, tuple(blocks), spec.head)


def top_indices(weight: torch.Tensor, keep: int) -> torch.Tensor:
    norms = weight.flatten(1).pow(2).sum(1)
    return norms.argsort(descending=True)[:keep].sort().values


@pytest.mark.parametrize("spec", [SMALL, LARGE], ids=["small", "large"])
def test_surgery_that_narrows_nothing_is_exact(spec: ArchSpec) -> None:
    model = trained_like(spec)
    x = torch.randn(3, 3, 64, 64)
    copy = narrow(model, spec)
    with torch.no_grad():
        assert torch.equal(model(x), copy(x))


def test_narrow_mid_72_to_48_keeps_the_largest_norm_channels() -> None:
    model = trained_like(SMALL)
    new = with_blocks(SMALL, blocks={1: {"mid": 48}})
    result = narrow(model, new)
    assert result.spec == new
    old_block, block = model.blocks[1], result.blocks[1]
    assert block.expand.conv.weight.shape == (48, 16, 1, 1)
    assert block.dw.conv.weight.shape == (48, 1, 3, 3)
    assert block.project.conv.weight.shape == (24, 48, 1, 1)
    kept = top_indices(old_block.expand.conv.weight, 48)
    assert torch.equal(block.expand.conv.weight, old_block.expand.conv.weight[kept])
    assert torch.equal(block.expand.bn.running_var, old_block.expand.bn.running_var[kept])
    assert torch.equal(block.dw.conv.weight, old_block.dw.conv.weight[kept])
    assert torch.equal(block.dw.bn.bias, old_block.dw.bn.bias[kept])
    assert torch.equal(block.project.conv.weight, old_block.project.conv.weight[:, kept])
    # the rest of the network is carried unchanged
    assert torch.equal(result.blocks[2].expand.conv.weight, model.blocks[2].expand.conv.weight)
    assert torch.equal(result.head.classifier.weight, model.head.classifier.weight)
    # the kept channels are the strongest: every dropped channel's norm is below every kept one's
    norms = old_block.expand.conv.weight.flatten(1).pow(2).sum(1)
    dropped = torch.ones(72, dtype=torch.bool)
    dropped[kept] = False
    assert norms[dropped].max() <= norms[kept].min()


def test_narrowing_an_se_block_narrows_its_squeeze() -> None:
    model = trained_like(SMALL)
    result = narrow(model, with_blocks(SMALL, blocks={4: {"mid": 120}}))
    se, old_se = result.blocks[4].se, model.blocks[4].se
    assert se.fc1.weight.shape == (32, 120, 1, 1) and se.fc2.weight.shape == (120, 32, 1, 1)
    kept_sq = top_indices(old_se.fc1.weight, 32)
    kept_mid = top_indices(model.blocks[4].expand.conv.weight, 120)
    assert torch.equal(se.fc1.weight, old_se.fc1.weight[kept_sq][:, kept_mid])
    assert torch.equal(se.fc2.bias, old_se.fc2.bias[kept_mid])


def test_narrowing_a_residual_group_moves_all_its_members() -> None:
    model = trained_like(SMALL)
    new = with_blocks(SMALL, blocks={3: {"out": 32}, 4: {"out": 32}, 5: {"out": 32}})
    result = narrow(model, new)
    norms = sum(model.blocks[i].project.conv.weight.flatten(1).pow(2).sum(1) for i in (3, 4, 5))
    kept = norms.argsort(descending=True)[:32].sort().values
    for i in (3, 4, 5):
        assert torch.equal(result.blocks[i].project.conv.weight, model.blocks[i].project.conv.weight[kept])
    for i in (4, 5, 6):  # every consumer of the group's width sees the same channels
        assert torch.equal(result.blocks[i].expand.conv.weight, model.blocks[i].expand.conv.weight[:, kept])
    with torch.no_grad():
        assert result(torch.randn(2, 3, 64, 64)).shape == (2, 10)


def test_narrowing_the_stem_group_of_large() -> None:
    model = trained_like(LARGE)
    # the stem and block 0 (no expand conv: mid == in) share their width through the residual add
    new = with_blocks(LARGE, stem={"out": 8}, blocks={0: {"mid": 8, "out": 8}})
    result = narrow(model, new)
    norms = model.stem.conv.weight.flatten(1).pow(2).sum(1) + model.blocks[0].project.conv.weight.flatten(1).pow(2).sum(1)
    kept = norms.argsort(descending=True)[:8].sort().values
    assert torch.equal(result.stem.conv.weight, model.stem.conv.weight[kept])
    assert torch.equal(result.blocks[0].dw.conv.weight, model.blocks[0].dw.conv.weight[kept])
    assert torch.equal(result.blocks[0].project.conv.weight, model.blocks[0].project.conv.weight[kept][:, kept])
    assert torch.equal(result.blocks[1].expand.conv.weight, model.blocks[1].expand.conv.weight[:, kept])


def test_head_narrowing() -> None:
    model = trained_like(SMALL)
    new = ArchSpec(SMALL.stem, SMALL.blocks, dataclasses.replace(SMALL.head, last=256, hidden=512))
    result = narrow(model, new)
    assert result.head.conv.conv.weight.shape == (256, 96, 1, 1)
    assert result.head.fc.weight.shape == (512, 256)
    assert result.head.classifier.weight.shape == (10, 512)


def test_surgery_refuses_what_it_cannot_carry() -> None:
    model = trained_like(SMALL)
    with pytest.raises(SpecError, match="only narrow"):
        narrow(model, with_blocks(SMALL, blocks={1: {"mid": 96}}))
    with pytest.raises(SpecError, match="expand conv would vanish"):
        narrow(model, with_blocks(SMALL, blocks={1: {"mid": 16}}))
    with pytest.raises(SpecError, match="only changes widths"):
        narrow(model, with_blocks(SMALL, blocks={1: {"kernel": 5}}))
