"""Weight surgery for NetAdapt: carry a trained model's weights into a narrower spec.

Planning is pure: `plan_channels` compares the two specs and picks, for every channel space that
shrinks, the indices of the channels with the largest L2 norm (summed over every layer that writes
that space: a residual group's producers share one choice). Surgery then slices every tensor that
touches a kept space: conv filters and their inputs, BN affine terms and running statistics, SE,
the head and the classifier's inputs. Kept indices stay in ascending order, so a surgery that
narrows nothing reproduces the model exactly.
"""

from __future__ import annotations

import torch
from torch import nn

from models.blocks import ConvBNAct, InvertedResidual, SqueezeExcite, se_width
from models.builder import MobileNet, build_model
from models.spec import ArchSpec, ResidualGroup, SpecError

Index = torch.Tensor


def _top_norm(norms: torch.Tensor, keep: int) -> Index:
    """Indices of the `keep` largest entries, in ascending index order."""
    if keep > norms.numel():
        raise SpecError(f"surgery can only narrow: asked for {keep} channels of {norms.numel()}")
    return torch.topk(norms, keep, sorted=False).indices.sort().values


def _filter_norms(weight: torch.Tensor) -> torch.Tensor:
    """Squared L2 norm of each output filter."""
    return weight.detach().flatten(1).pow(2).sum(1)


def _check_compatible(old: ArchSpec, new: ArchSpec) -> None:
    if len(old.blocks) != len(new.blocks):
        raise SpecError(f"surgery needs the same number of blocks: {len(old.blocks)} -> {len(new.blocks)}")
    for i, (a, b) in enumerate(zip(old.blocks, new.blocks)):
        same = (a.kernel, a.stride, a.se, a.act, a.residual) == (b.kernel, b.stride, b.se, b.act, b.residual)
        if not same:
            raise SpecError(f"block {i}: surgery only changes widths, not {a.to_str()!r} -> {b.to_str()!r}")
    for i, (was, now) in enumerate(zip(old.expands(), new.expands())):
        if was != now:
            raise SpecError(
                f"block {i}: its 1x1 expand conv would {'vanish' if was else 'appear'} "
                f"(mid {new.blocks[i].mid} vs input {new.in_channels()[i]}); choose a width that keeps it"
            )
    if old.stem.act != new.stem.act or old.head.act != new.head.act:
        raise SpecError("surgery only changes widths; stem and head activations must stay")


def plan_channels(model: MobileNet, new: ArchSpec) -> dict[str, Index]:
    """Kept indices per channel space: 'g<k>' residual groups (by first layer), 'mid<i>',
    'sq<i>', 'head_last', 'head_hidden'. Spaces without an entry keep every channel."""
    old = model.spec
    _check_compatible(old, new)
    keep: dict[str, Index] = {}
    for group in new.residual_groups() + _stem_only(new):
        producers = [model.blocks[i].project.conv.weight for i in group.blocks]
        if group.stem:
            producers.append(model.stem.conv.weight)
        norms = sum(_filter_norms(w) for w in producers)
        keep[_space_of_output(group)] = _top_norm(norms, group.width)
    for i, (block, cin) in enumerate(zip(new.blocks, new.in_channels())):
        module: InvertedResidual = model.blocks[i]
        if isinstance(module.expand, ConvBNAct):
            keep[f"mid{i}"] = _top_norm(_filter_norms(module.expand.conv.weight), block.mid)
        if isinstance(module.se, SqueezeExcite):
            keep[f"sq{i}"] = _top_norm(_filter_norms(module.se.fc1.weight), se_width(block.mid))
    keep["head_last"] = _top_norm(_filter_norms(model.head.conv.conv.weight), new.head.last)
    keep["head_hidden"] = _top_norm(_filter_norms(model.head.fc.weight), new.head.hidden)
    return keep


def _stem_only(spec: ArchSpec) -> tuple[ResidualGroup, ...]:
    """The stem as a group of its own when no residual add ties it to a block."""
    groups = spec.residual_groups()
    if any(g.stem for g in groups):
        return ()
    return (ResidualGroup(stem=True, blocks=(), width=spec.stem.out),)


def _space_of_output(group: ResidualGroup) -> str:
    return "g_stem" if group.stem else f"g{group.blocks[0]}"


def _output_spaces(spec: ArchSpec) -> list[str]:
    """Channel space of the stem's output, then of each block's output."""
    spaces = {}
    for group in spec.residual_groups() + _stem_only(spec):
        name = _space_of_output(group)
        if group.stem:
            spaces[-1] = name
        for i in group.blocks:
            spaces[i] = name
    return [spaces[i] for i in range(-1, len(spec.blocks))]


def _slice_conv_bn(dst: ConvBNAct, src: ConvBNAct, out_idx: Index | None, in_idx: Index | None,
                   depthwise: bool = False) -> None:
    w = src.conv.weight.detach()
    if out_idx is not None:
        w = w[out_idx]
    if in_idx is not None and not depthwise:
        w = w[:, in_idx]
    dst.conv.weight.copy_(w)
    for name in ("weight", "bias", "running_mean", "running_var"):
        t = getattr(src.bn, name).detach()
        getattr(dst.bn, name).copy_(t[out_idx] if out_idx is not None else t)
    dst.bn.num_batches_tracked.copy_(src.bn.num_batches_tracked)


def _slice_linear(dst: nn.Module, src: nn.Module, out_idx: Index | None, in_idx: Index | None) -> None:
    w, b = src.weight.detach(), src.bias.detach()
    if out_idx is not None:
        w, b = w[out_idx], b[out_idx]
    if in_idx is not None:
        w = w[:, in_idx]
    dst.weight.copy_(w.reshape(dst.weight.shape))
    dst.bias.copy_(b)


@torch.no_grad()
def narrow(model: MobileNet, new: ArchSpec, keep: dict[str, Index] | None = None) -> MobileNet:
    """A new model for the narrower spec `new`, carrying every surviving weight of `model`; `keep`
    (default: `plan_channels(model, new)`) maps another model's plan onto this one, e.g. to narrow a
    model holding optimizer buffers in its parameters exactly like the weights they belong to."""
    keep = plan_channels(model, new) if keep is None else keep
    old = model.spec
    dropout = model.head.dropout.p
    result = build_model(new, num_classes=model.num_classes, dropout=dropout)
    spaces = _output_spaces(old)
    _slice_conv_bn(result.stem, model.stem, keep[spaces[0]], None)
    for i in range(len(new.blocks)):
        src: InvertedResidual = model.blocks[i]
        dst: InvertedResidual = result.blocks[i]
        in_idx = keep[spaces[i]]
        mid_idx = keep[f"mid{i}"] if isinstance(src.expand, ConvBNAct) else in_idx
        if isinstance(src.expand, ConvBNAct):
            _slice_conv_bn(dst.expand, src.expand, mid_idx, in_idx)
        _slice_conv_bn(dst.dw, src.dw, mid_idx, None, depthwise=True)
        if isinstance(src.se, SqueezeExcite):
            sq_idx = keep[f"sq{i}"]
            _slice_linear(dst.se.fc1, src.se.fc1, sq_idx, mid_idx)
            _slice_linear(dst.se.fc2, src.se.fc2, mid_idx, sq_idx)
        _slice_conv_bn(dst.project, src.project, keep[spaces[i + 1]], mid_idx)
    _slice_conv_bn(result.head.conv, model.head.conv, keep["head_last"], keep[spaces[-1]])
    _slice_linear(result.head.fc, model.head.fc, keep["head_hidden"], keep["head_last"])
    _slice_linear(result.head.classifier, model.head.classifier, None, keep["head_hidden"])
    result.train(model.training)
    return result
