"""Analytic params and multiply-adds against the paper and against the built modules."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from models.builder import build_model
from models.counting import count_madds, count_params, layer_costs
from models.references import REFERENCES
from models.spec import ArchSpec


def hook_madds(spec: ArchSpec, resolution: int, num_classes: int = 1000) -> int:
    """Multiply-accumulates of conv and linear layers, counted from a real forward pass."""
    model = build_model(spec, num_classes).eval()
    total = 0

    def conv_hook(m: nn.Conv2d, _inp, out: torch.Tensor) -> None:
        nonlocal total
        total += out[0].numel() * (m.in_channels // m.groups) * m.kernel_size[0] * m.kernel_size[1]

    def linear_hook(m: nn.Linear, _inp, _out) -> None:
        nonlocal total
        total += m.in_features * m.out_features

    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            m.register_forward_hook(conv_hook)
        elif isinstance(m, nn.Linear):
            m.register_forward_hook(linear_hook)
    with torch.no_grad():
        model(torch.zeros(1, 3, resolution, resolution))
    return total


def module_params(spec: ArchSpec, num_classes: int = 1000) -> int:
    return sum(p.numel() for p in build_model(spec, num_classes).parameters())


def test_paper_parameter_counts_exact() -> None:
    assert count_params(REFERENCES["mobilenetv3-large"]) == 5_483_032
    assert count_params(REFERENCES["mobilenetv3-small"]) == 2_542_856


@pytest.mark.parametrize("name, paper", [("mobilenetv3-large", 216.6e6), ("mobilenetv3-small", 56.5e6)])
def test_madds_within_one_percent(name: str, paper: float) -> None:
    assert abs(count_madds(REFERENCES[name], 224) - paper) / paper < 0.01


@pytest.mark.parametrize("name, paper", [("mobilenetv3-large-0.75", 4.0e6), ("mobilenetv3-small-0.75", 2.0e6)])
def test_width_075_params_within_three_percent(name: str, paper: float) -> None:
    assert abs(count_params(REFERENCES[name]) - paper) / paper < 0.03


@pytest.mark.parametrize("name", sorted(REFERENCES))
@pytest.mark.parametrize("resolution", [32, 224])
def test_analytic_matches_modules_on_references(name: str, resolution: int) -> None:
    spec = REFERENCES[name]
    assert count_params(spec) == module_params(spec)
    assert count_madds(spec, resolution) == hook_madds(spec, resolution)


def test_analytic_matches_modules_on_random_specs(random_archs: list[ArchSpec]) -> None:
    for spec in random_archs:
        assert count_params(spec, 10) == module_params(spec, 10), spec.to_str()
        for resolution in (32, 96, 97):
            assert count_madds(spec, resolution, 10) == hook_madds(spec, resolution, 10), spec.to_str()


def test_layer_table_shapes_follow_the_model() -> None:
    spec = REFERENCES["mobilenetv3-small"]
    rows = layer_costs(spec, 224)
    assert [r.name for r in rows][:2] == ["stem", "block0"] and rows[-1].name == "head"
    assert rows[0].out_shape == (16, 112, 112)
    assert rows[-2].out_shape == (96, 7, 7)
    model = build_model(spec).eval()
    with torch.no_grad():
        features = model.blocks(model.stem(torch.zeros(1, 3, 224, 224)))
    assert tuple(features.shape[1:]) == rows[-2].out_shape
