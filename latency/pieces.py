"""A measurable piece of an architecture (stem, one block, or head) with the input it sees, and
the `nn.Module` that measures it, built with the same `models` blocks the whole model uses.
A head piece also carries the number of classes of its classifier (it sets the last layer's
width, and with it the head's latency: V3-Small's head at 32 px costs 2.2x more with 1000 classes
than with 10)."""

from __future__ import annotations

from dataclasses import dataclass

from torch import nn

from latency.errors import LatencyError
from models.blocks import ConvBNAct, EfficientHead, InvertedResidual
from models.spec import IN_CHANNELS, STEM_KERNEL, STEM_STRIDE, ArchSpec, BlockSpec, HeadSpec, StemSpec

PieceSpec = StemSpec | BlockSpec | HeadSpec
KIND_OF = {StemSpec: "s", BlockSpec: "b", HeadSpec: "h"}


@dataclass(frozen=True)
class Piece:
    """One stem, block or head with its input spatial size and input channels; `classes` is the
    head's classifier width (0 for stems and blocks)."""

    in_size: int
    in_channels: int
    spec: PieceSpec
    classes: int = 0

    def __post_init__(self) -> None:
        if isinstance(self.spec, HeadSpec) != (self.classes > 0):
            raise LatencyError(f"a head piece needs its number of classes (> 0) and only a head has one; got "
                               f"{self.spec.to_str()} with classes={self.classes}")

    @property
    def kind(self) -> str:
        return KIND_OF[type(self.spec)]

    def input_shape(self) -> tuple[int, int, int, int]:
        """NCHW shape of the piece's input (batch 1)."""
        return (1, self.in_channels, self.in_size, self.in_size)

    def module(self) -> nn.Module:
        """The piece as an eval-mode module, built exactly as `models.builder` builds it."""
        spec = self.spec
        if isinstance(spec, StemSpec):
            module: nn.Module = ConvBNAct(IN_CHANNELS, spec.out, STEM_KERNEL, STEM_STRIDE, act=spec.act)
        elif isinstance(spec, BlockSpec):
            module = InvertedResidual(self.in_channels, spec)
        else:
            module = EfficientHead(self.in_channels, spec, self.classes, dropout=0.2)
        return module.eval()


def arch_pieces(spec: ArchSpec, resolution: int, num_classes: int) -> tuple[Piece, ...]:
    """Stem, every block and the head of `spec` (with `num_classes` classes), each with the input
    it sees at `resolution`."""
    sizes = spec.feature_sizes(resolution)
    pieces = [Piece(resolution, IN_CHANNELS, spec.stem)]
    for size, cin, block in zip(sizes, spec.in_channels(), spec.blocks):
        pieces.append(Piece(size, cin, block))
    pieces.append(Piece(sizes[-1], spec.blocks[-1].out, spec.head, num_classes))
    return tuple(pieces)


def variant_piece(size: int, in_channels: int, spec: PieceSpec, num_classes: int) -> Piece:
    """The piece of a search space's layer variant (`SearchSpace.layer_variants`): a head gets `num_classes`."""
    return Piece(size, in_channels, spec, num_classes if isinstance(spec, HeadSpec) else 0)
