"""Training loop: budgets in steps and epochs, the cosine schedule, determinism, epoch callbacks,
divergence detection."""

from __future__ import annotations

import math

import pytest
import torch
from exp_helpers import TINY_ARCH

from experiments.config.schema import TrainingConfig
from experiments.data.embedded import embedded_bundle
from experiments.training.loop import (
    EpochReport,
    TrainingDiverged,
    budget_steps,
    evaluate,
    lr_factor,
    make_loader,
    train,
)
from models import build_model, resolve_arch


@pytest.fixture(autouse=True)
def one_thread():  # type: ignore[no-untyped-def]
    """Two torch threads on a busy 2-core machine can be 10x slower than one."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def bundle():  # type: ignore[no-untyped-def]
    return embedded_bundle(0, 160, 64, 64, 32)


def _model() -> torch.nn.Module:
    torch.manual_seed(0)
    return build_model(resolve_arch(TINY_ARCH), num_classes=10, dropout=0.0)


def test_steps_budget_and_callback(bundle) -> None:  # type: ignore[no-untyped-def]
    cfg = TrainingConfig(steps=7, batch_size=32)
    reports: list[EpochReport] = []
    result = train(_model(), bundle, cfg, seed=0, on_epoch=reports.append)
    assert result.steps == 7
    assert [r.epoch for r in reports] == [1, 2] and [r.step for r in reports] == [5, 7]
    assert 0.0 <= result.val_accuracy <= 1.0 and math.isfinite(result.train_loss)
    assert result.images_per_second > 0


def test_epoch_budget(bundle) -> None:  # type: ignore[no-untyped-def]
    cfg = TrainingConfig(epochs=1.5, batch_size=32)
    assert budget_steps(cfg, 5, None, None) == 8
    assert budget_steps(cfg, 5, 3, None) == 3
    assert budget_steps(cfg, 5, None, 2.0) == 10
    assert train(_model(), bundle, cfg, seed=0).steps == 8


def test_same_seed_same_weights(bundle) -> None:  # type: ignore[no-untyped-def]
    cfg = TrainingConfig(steps=4, batch_size=32)
    a, b = _model(), _model()
    train(a, bundle, cfg, seed=5)
    train(b, bundle, cfg, seed=5)
    for (name, pa), pb in zip(a.state_dict().items(), b.state_dict().values()):
        assert torch.equal(pa, pb), name
    c = _model()
    train(c, bundle, cfg, seed=6)
    assert not all(torch.equal(pa, pc) for pa, pc in zip(a.state_dict().values(), c.state_dict().values()))


def test_training_lowers_the_loss(bundle) -> None:  # type: ignore[no-untyped-def]
    cfg = TrainingConfig(steps=150, batch_size=32, lr=0.2, label_smoothing=0.0)
    model = _model()
    before = evaluate(model, make_loader(bundle, "train", cfg)).loss
    train(model, bundle, cfg, seed=0, augment=False)
    assert evaluate(model, make_loader(bundle, "train", cfg)).loss < before - 0.05


def test_rmsprop_and_channels_last_run(bundle) -> None:  # type: ignore[no-untyped-def]
    cfg = TrainingConfig(steps=2, batch_size=32, optimizer="rmsprop", lr=0.01, channels_last=False, warmup_steps=1)
    assert train(_model(), bundle, cfg, seed=0).steps == 2


def test_lr_schedule() -> None:
    assert lr_factor(0, 100, 10) == pytest.approx(0.1)
    assert lr_factor(9, 100, 10) == pytest.approx(1.0)
    assert lr_factor(10, 100, 10) == pytest.approx(1.0)
    assert lr_factor(55, 100, 10) == pytest.approx(0.5)
    assert lr_factor(100, 100, 0) == pytest.approx(0.0)


def test_divergence_raises(bundle) -> None:  # type: ignore[no-untyped-def]
    cfg = TrainingConfig(steps=20, batch_size=32, lr=1e30, weight_decay=0.0)
    with pytest.raises(TrainingDiverged, match="lower the learning rate"):
        train(_model(), bundle, cfg, seed=0)
