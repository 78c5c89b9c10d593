"""The one-shot supernet: one module holding every child of a `SearchSpace`, a path per choice vector.

Weight sharing follows TuNAS (Bender et al. 2020; MOBILENETV3.md section 5): each block position
of the space (stage i, repeat j, for the largest depth) owns one set of weights at its largest size,

- the depthwise kernel at the stage's largest kernel; a smaller kernel is its centred slice;
- expansion (mid) and output channels as leading-channel slices, BatchNorm included (its affine
  terms and its running statistics are sliced the same way);
- SE weights used only when the path turns SE on (squeeze width follows the sliced mid width);
- depth by skipping the stage's trailing blocks.

A path is `space.decode(choices)`, so it is exactly the stand-alone child's `ArchSpec`, and every
layer runs the math of `models.blocks` (the same `ConvBNAct` / `SqueezeExcite` / `EfficientHead`
modules hold the weights, their activations are called). `extract_child` cuts those weights out
into the stand-alone `models.builder.MobileNet` (same parameter names), with the one slicing rule the
forward uses (`shared_slice`), so the child built from them computes the path's function.

BatchNorm: in train mode batch statistics are used and the shared running statistics updated (as
`nn.BatchNorm2d`); in eval mode the running statistics are used; `batch_stats=True` scores a path
with each batch's own statistics and leaves the running ones alone (the statistics a path's slice
has seen while training other paths do not describe it). With `sync_bn` (data-parallel workers,
`search.data_parallel`) both kinds of batch statistics are those of the workers' whole batch, and
with `whole_batch` set (the size of the batch a training shard belongs to) the head's dropout keeps
this shard's rows of the whole batch's mask, drawn as `F.dropout` draws it from the generator every
worker shares: the workers drop what one process would.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from models.blocks import BN_EPS, ConvBNAct, EfficientHead, SqueezeExcite, se_width
from models.builder import MobileNet, init_weights
from models.spec import IN_CHANNELS, STEM_KERNEL, STEM_STRIDE, ArchSpec, BlockSpec
from search.data_parallel import Shards, synced_batch_norm
from search.space import SearchSpace
from search.stages import mid_width


@dataclass(frozen=True)
class PathBlock:
    """One block of a path: its position in the supernet (stage, repeat), its input width and spec."""

    stage: int
    repeat: int
    cin: int
    spec: BlockSpec


def path_blocks(space: SearchSpace, choices: Sequence[int]) -> tuple[ArchSpec, list[PathBlock]]:
    """The architecture of `choices` and the supernet position of each of its blocks."""
    arch = space.decode(choices)
    values = space.values(choices)
    cins = arch.in_channels()
    blocks: list[PathBlock] = []
    for i, stage in enumerate(space.stages):
        for j in range(stage.depth + int(values[f"{stage.name}_depth"])):
            n = len(blocks)
            blocks.append(PathBlock(i, j, cins[n], arch.blocks[n]))
    return arch, blocks


def largest_choices(space: SearchSpace) -> list[int]:
    """Each decision's "all on" choice: the largest value (SE: on), whose weights contain the others'."""
    return [max(range(len(d.choices)), key=lambda i, d=d: d.choices[i]) for d in space.decisions]


def shared_slice(weight: torch.Tensor, shape: Sequence[int], centred: Sequence[int] = ()) -> torch.Tensor:
    """The leading slice of `weight` with `shape`; dimensions in `centred` are sliced around the centre
    (a kxk kernel inside the shared 7x7: offset (7 - k) // 2)."""
    index = []
    for dim, (full, n) in enumerate(zip(weight.shape, shape)):
        start = (full - n) // 2 if dim in centred else 0
        index.append(slice(start, start + n))
    return weight[tuple(index)]


def reach(kernel: int, size: int) -> int:
    """The centred part of an odd `kernel` (padded by (kernel - 1) // 2) whose taps can land on an input
    of `size` pixels: min(kernel, 2 * size - 1). The taps outside it only ever multiply the zero padding,
    so a convolution with the cropped kernel and padding gives the same output (to float rounding) and
    the same weight gradients, at a fraction of the cost where deep layers are 1-4 pixels wide and the
    kernel 5 or 7 (the native depthwise backward on such inputs costs tens of ms)."""
    return min(kernel, 2 * size - 1)


class _Slicer:
    """Functional conv / BN / SE on slices of full-size `models.blocks` modules."""

    def __init__(self, net: SuperNet) -> None:
        self.net = net

    def bn(self, x: torch.Tensor, bn: nn.BatchNorm2d) -> torch.Tensor:
        """Train mode: batch statistics, running ones updated; eval: running statistics, or with
        `batch_stats` the batch's own (running ones untouched)."""
        c = x.shape[1]
        weight, bias = bn.weight[:c], bn.bias[:c]
        if not self.net.training and self.net.batch_stats:
            if self.net.sync_bn:
                return synced_batch_norm(x, None, None, weight, bias, 0.0, BN_EPS)
            return F.batch_norm(x, None, None, weight, bias, True, 0.0, BN_EPS)
        assert bn.running_mean is not None and bn.running_var is not None
        if self.net.training and self.net.sync_bn:
            assert bn.momentum is not None
            return synced_batch_norm(x, bn.running_mean[:c], bn.running_var[:c], weight, bias, bn.momentum, BN_EPS)
        return F.batch_norm(x, bn.running_mean[:c], bn.running_var[:c], weight, bias, self.net.training,
                            bn.momentum, BN_EPS)

    def conv_bn_act(self, x: torch.Tensor, layer: ConvBNAct, cout: int, kernel: int | None = None,
                    stride: int = 1, depthwise: bool = False) -> torch.Tensor:
        conv = layer.conv
        cin = x.shape[1]
        kh, kw = (reach(kernel or conv.kernel_size[0], n) for n in x.shape[2:])
        weight = shared_slice(conv.weight, (cout, 1 if depthwise else cin, kh, kw), centred=(2, 3))
        y = F.conv2d(x, weight, None, stride, ((kh - 1) // 2, (kw - 1) // 2), 1, cin if depthwise else 1)
        return layer.act(self.bn(y, layer.bn))

    @staticmethod
    def se(x: torch.Tensor, se: SqueezeExcite) -> torch.Tensor:
        mid = x.shape[1]
        squeeze = se_width(mid)
        scale = x.mean((2, 3), keepdim=True)
        scale = F.conv2d(scale, shared_slice(se.fc1.weight, (squeeze, mid, 1, 1)), se.fc1.bias[:squeeze])
        scale = F.conv2d(se.relu(scale), shared_slice(se.fc2.weight, (mid, squeeze, 1, 1)), se.fc2.bias[:mid])
        return x * se.gate(scale)


class SuperBlock(nn.Module):
    """The shared weights of one block position, at the largest size any path gives it.

    Parameter names are those of `models.blocks.InvertedResidual` (expand, dw, se, project), so a
    child's state_dict keys map one to one.
    """

    def __init__(self, max_cin: int, max_mid: int, max_out: int, kernel: int, stride: int, act: str,
                 expands: bool, se: bool) -> None:
        super().__init__()
        self.stride = stride
        self.expand = ConvBNAct(max_cin, max_mid, act=act) if expands else nn.Identity()
        self.dw = ConvBNAct(max_mid, max_mid, kernel, stride, groups=max_mid, act=act)
        self.se = SqueezeExcite(max_mid, se_width(max_mid)) if se else nn.Identity()
        self.project = ConvBNAct(max_mid, max_out)

    def run(self, x: torch.Tensor, block: BlockSpec, ops: _Slicer) -> torch.Tensor:
        y = x
        if block.expands_from(x.shape[1]):
            assert isinstance(self.expand, ConvBNAct)
            y = ops.conv_bn_act(y, self.expand, block.mid)
        y = ops.conv_bn_act(y, self.dw, block.mid, block.kernel, block.stride, depthwise=True)
        if block.se:
            assert isinstance(self.se, SqueezeExcite)
            y = ops.se(y, self.se)
        y = ops.conv_bn_act(y, self.project, block.out)
        return x + y if block.residual else y


class SuperNet(nn.Module):
    """Every child of `space` in one module; `forward(x, choices)` runs the path of a choice vector."""

    def __init__(self, space: SearchSpace, num_classes: int, dropout: float = 0.2) -> None:
        super().__init__()
        self.space = space
        self.num_classes = num_classes
        self.batch_stats = False
        self.sync_bn = False
        self.whole_batch: int | None = None
        self.stem = ConvBNAct(IN_CHANNELS, space.stem.out, STEM_KERNEL, STEM_STRIDE, act=space.stem.act)
        stages = []
        in_widths: tuple[int, ...] = (space.stem.out,)
        for stage in space.stages:
            outs = stage.out_widths()
            blocks = []
            for j in range(max(stage.depths())):
                cins = in_widths if j == 0 else outs
                mids = [mid_width(r, c) for r in stage.choices["expand"] for c in cins]
                expands = any(mid_width(r, c) != c for r in stage.choices["expand"] for c in cins)
                blocks.append(SuperBlock(max(cins), max(mids), max(outs), max(stage.choices["kernel"]),
                                         stage.stride if j == 0 else 1, stage.act, expands,
                                         True in stage.choices["se"]))
            stages.append(nn.ModuleList(blocks))
            in_widths = outs
        self.stages = nn.ModuleList(stages)
        self.head = EfficientHead(max(in_widths), space.head, num_classes, dropout)
        init_weights(self)
        self._ops = _Slicer(self)

    def forward(self, x: torch.Tensor, choices: Sequence[int]) -> torch.Tensor:
        """The output of the path of `choices` (a choice vector of the space)."""
        ops = self._ops
        x = ops.conv_bn_act(x, self.stem, self.space.stem.out, stride=STEM_STRIDE)
        for p in path_blocks(self.space, choices)[1]:
            block = self.stages[p.stage][p.repeat]
            assert isinstance(block, SuperBlock)
            x = block.run(x, p.spec, ops)
        head = self.head
        x = ops.conv_bn_act(x, head.conv, self.space.head.last)
        x = head.pool(x).flatten(1)
        return head.classifier(self._dropout(head.act(head.fc(x))))

    def _dropout(self, x: torch.Tensor) -> torch.Tensor:
        p = self.head.dropout.p
        if self.whole_batch is None or not self.training or p == 0:
            return self.head.dropout(x)
        mask = torch.empty((self.whole_batch, *x.shape[1:]), dtype=torch.bool, device=x.device).bernoulli_(1 - p)
        (rows,) = Shards.current().take(mask)
        return x * rows * (1 / (1 - p))


def extract_child(net: SuperNet, choices: Sequence[int]) -> MobileNet:
    """The stand-alone `models.builder.MobileNet` of `choices` holding the path's weights cut from the
    supernet (BatchNorm running statistics included), on the supernet's device."""
    arch, blocks = path_blocks(net.space, choices)
    child = MobileNet(arch, num_classes=net.num_classes, dropout=net.head.dropout.p)
    full = net.state_dict()
    prefixes = {"stem.": "stem.", "head.": "head."}
    for n, p in enumerate(blocks):
        prefixes[f"blocks.{n}."] = f"stages.{p.stage}.{p.repeat}."
    weights = {}
    for key, value in child.state_dict().items():
        prefix = next(k for k in prefixes if key.startswith(k))
        weights[key] = shared_slice(full[prefixes[prefix] + key[len(prefix):]], value.shape, centred=(2, 3))
    child.load_state_dict(weights)
    return child.to(next(net.parameters()).device)


def child_state_dict(net: SuperNet, choices: Sequence[int]) -> tuple[ArchSpec, dict[str, torch.Tensor]]:
    """The architecture of `choices` and its stand-alone weights (`extract_child`'s state_dict)."""
    child = extract_child(net, choices)
    return child.spec, child.state_dict()
