"""Building blocks of MobileNetV3-style networks. A block never looks at its neighbours:
it receives its input width from the builder, and absent parts are `nn.Identity()`."""

from __future__ import annotations

import torch
from torch import nn

from models.spec import BlockSpec, HeadSpec, make_divisible

BN_EPS = 1e-3
BN_MOMENTUM = 0.01


def activation(name: str) -> nn.Module:
    """'re' -> ReLU, 'hs' -> h-swish(x) = x * ReLU6(x + 3) / 6."""
    return nn.ReLU(inplace=True) if name == "re" else nn.Hardswish(inplace=True)


def se_width(mid: int) -> int:
    """Squeeze width of the SE module: make_divisible(mid / 4, 8) (MobileNetV3 section 5.3)."""
    return make_divisible(mid / 4, 8)


class ConvBNAct(nn.Sequential):
    """Convolution (no bias), batch norm, optional activation."""

    def __init__(self, cin: int, cout: int, kernel: int = 1, stride: int = 1, groups: int = 1,
                 act: str | None = None) -> None:
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, kernel, stride, (kernel - 1) // 2, groups=groups, bias=False)
        self.bn = nn.BatchNorm2d(cout, eps=BN_EPS, momentum=BN_MOMENTUM)
        self.act = activation(act) if act else nn.Identity()


class SqueezeExcite(nn.Module):
    """Global pool, 1x1 conv to squeeze width, ReLU, 1x1 conv back, hard-sigmoid gate."""

    def __init__(self, channels: int, squeeze: int) -> None:
        super().__init__()
        self.fc1 = nn.Conv2d(channels, squeeze, 1)
        self.fc2 = nn.Conv2d(squeeze, channels, 1)
        self.relu = nn.ReLU(inplace=True)
        self.gate = nn.Hardsigmoid(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        scale = x.mean((2, 3), keepdim=True)
        scale = self.gate(self.fc2(self.relu(self.fc1(scale))))
        return x * scale


class InvertedResidual(nn.Module):
    """1x1 expand (only when mid != in), depthwise kxk, SE after the depthwise, 1x1 project,
    residual add when the spec asks for it."""

    def __init__(self, cin: int, spec: BlockSpec) -> None:
        super().__init__()
        self.residual = spec.residual
        self.expand = (ConvBNAct(cin, spec.mid, act=spec.act) if spec.expands_from(cin) else nn.Identity())
        self.dw = ConvBNAct(spec.mid, spec.mid, spec.kernel, spec.stride, groups=spec.mid, act=spec.act)
        self.se = SqueezeExcite(spec.mid, se_width(spec.mid)) if spec.se else nn.Identity()
        self.project = ConvBNAct(spec.mid, spec.out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.project(self.se(self.dw(self.expand(x))))
        return x + y if self.residual else y


class EfficientHead(nn.Module):
    """MobileNetV3's efficient last stage: 1x1 conv + BN + act at the last feature size, global
    pool, 1x1 conv (as Linear, with bias, no BN), act, dropout, classifier."""

    def __init__(self, cin: int, spec: HeadSpec, num_classes: int, dropout: float) -> None:
        super().__init__()
        self.conv = ConvBNAct(cin, spec.last, act=spec.act)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(spec.last, spec.hidden)
        self.act = activation(spec.act)
        self.dropout = nn.Dropout(dropout)
        self.classifier = nn.Linear(spec.hidden, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.pool(self.conv(x)).flatten(1)
        return self.classifier(self.dropout(self.act(self.fc(x))))
