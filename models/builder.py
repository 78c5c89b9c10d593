"""Builds an `nn.Module` from an `ArchSpec`. Only the builder tracks channels between blocks."""

from __future__ import annotations

import torch
from torch import nn

from models.blocks import ConvBNAct, EfficientHead, InvertedResidual
from models.spec import IN_CHANNELS, STEM_KERNEL, STEM_STRIDE, ArchSpec, SpecError


class MobileNet(nn.Module):
    """Stem, inverted-residual blocks, efficient head; `spec` is kept for reference."""

    def __init__(self, spec: ArchSpec, num_classes: int = 1000, dropout: float = 0.2) -> None:
        super().__init__()
        if not isinstance(num_classes, int) or num_classes < 1:
            raise SpecError(f"num_classes must be a positive integer, got {num_classes!r}")
        if not 0.0 <= dropout < 1.0:
            raise SpecError(f"dropout must be in [0, 1), got {dropout!r}")
        self.spec = spec
        self.num_classes = num_classes
        self.stem = ConvBNAct(IN_CHANNELS, spec.stem.out, STEM_KERNEL, STEM_STRIDE, act=spec.stem.act)
        self.blocks = nn.Sequential(*(InvertedResidual(cin, b) for cin, b in zip(spec.in_channels(), spec.blocks)))
        self.head = EfficientHead(spec.blocks[-1].out, spec.head, num_classes, dropout)
        init_weights(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.blocks(self.stem(x)))


def build_model(spec: ArchSpec, num_classes: int = 1000, dropout: float = 0.2) -> MobileNet:
    return MobileNet(spec, num_classes=num_classes, dropout=dropout)


def init_weights(model: nn.Module) -> None:
    """torchvision's MobileNetV3 initialisation."""
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out")
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
        elif isinstance(m, nn.Linear):
            nn.init.normal_(m.weight, 0, 0.01)
            nn.init.zeros_(m.bias)
