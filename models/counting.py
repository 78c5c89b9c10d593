"""Analytic parameter and multiply-add counts from the spec alone (no module, no forward pass).

Multiply-adds count conv and linear multiply-accumulates only:
conv = out_h * out_w * out_c * k * k * in_c / groups; linear = in * out. Parameters count
weights, biases and batch-norm affine terms (running statistics are buffers, not parameters).
"""

from __future__ import annotations

from dataclasses import dataclass

from models.blocks import se_width
from models.spec import IN_CHANNELS, STEM_KERNEL, ArchSpec, BlockSpec, conv_out


@dataclass(frozen=True)
class LayerCost:
    """One row of the per-layer table: name, output shape (C, H, W), params, multiply-adds."""

    name: str
    token: str
    out_shape: tuple[int, int, int]
    params: int
    madds: int


def _conv(cin: int, cout: int, kernel: int, out_size: int, groups: int = 1, bn: bool = True,
          bias: bool = False) -> tuple[int, int]:
    weights = cout * (cin // groups) * kernel * kernel
    params = weights + (2 * cout if bn else 0) + (cout if bias else 0)
    return params, weights * out_size * out_size


def block_cost(cin: int, block: BlockSpec, in_size: int) -> tuple[int, int]:
    """(params, madds) of one inverted-residual block at input size `in_size`."""
    out_size = conv_out(in_size, block.kernel, block.stride)
    params = madds = 0
    parts = []
    if block.expands_from(cin):
        parts.append(_conv(cin, block.mid, 1, in_size))
    parts.append(_conv(block.mid, block.mid, block.kernel, out_size, groups=block.mid))
    if block.se:
        sq = se_width(block.mid)
        parts.append(_conv(block.mid, sq, 1, 1, bn=False, bias=True))
        parts.append(_conv(sq, block.mid, 1, 1, bn=False, bias=True))
    parts.append(_conv(block.mid, block.out, 1, out_size))
    for p, m in parts:
        params += p
        madds += m
    return params, madds


def layer_costs(spec: ArchSpec, resolution: int = 224, num_classes: int = 1000) -> list[LayerCost]:
    """Per-layer table: stem, each block, head."""
    sizes = spec.feature_sizes(resolution)
    p, m = _conv(IN_CHANNELS, spec.stem.out, STEM_KERNEL, sizes[0])
    rows = [LayerCost("stem", spec.stem.to_str(), (spec.stem.out, sizes[0], sizes[0]), p, m)]
    for i, (cin, block) in enumerate(zip(spec.in_channels(), spec.blocks)):
        p, m = block_cost(cin, block, sizes[i])
        rows.append(LayerCost(f"block{i}", block.to_str(), (block.out, sizes[i + 1], sizes[i + 1]), p, m))
    head = spec.head
    p1, m1 = _conv(spec.blocks[-1].out, head.last, 1, sizes[-1])
    p2, m2 = _conv(head.last, head.hidden, 1, 1, bn=False, bias=True)
    p3, m3 = _conv(head.hidden, num_classes, 1, 1, bn=False, bias=True)
    rows.append(LayerCost("head", head.to_str(), (num_classes, 1, 1), p1 + p2 + p3, m1 + m2 + m3))
    return rows


def count_params(spec: ArchSpec, num_classes: int = 1000) -> int:
    return sum(r.params for r in layer_costs(spec, 32, num_classes))


def count_madds(spec: ArchSpec, resolution: int = 224, num_classes: int = 1000) -> int:
    return sum(r.madds for r in layer_costs(spec, resolution, num_classes))
