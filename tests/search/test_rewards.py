"""Reward functions against hand-computed values."""

from __future__ import annotations

import pytest

from search.rewards import absolute, hard, make_reward, soft


def test_soft_matches_hand_computed_values() -> None:
    # 0.7 * (12 / 10) ** -0.07 = 0.7 * 0.987318... ; 0.7 * (8 / 10) ** -0.15 = 0.7 * 1.034038...
    r = soft(0.7, 12.0, 10.0)
    assert r.value == pytest.approx(0.7 * 1.2 ** -0.07) == pytest.approx(0.691123, abs=1e-6)
    assert (r.kind, r.ratio, r.exponent) == ("mnasnet_soft", pytest.approx(1.2), -0.07)
    assert soft(0.7, 8.0, 10.0, w=-0.15).value == pytest.approx(0.723827, abs=1e-6)
    assert soft(0.7, 10.0, 10.0).value == pytest.approx(0.7)


def test_hard_is_flat_below_the_target_and_divides_above() -> None:
    below = [hard(0.6, lat, 10.0) for lat in (1.0, 5.0, 9.99, 10.0)]
    assert {r.value for r in below} == {0.6}
    assert all(r.exponent == 0.0 and r.penalty == 1.0 for r in below)
    above = hard(0.6, 15.0, 10.0)
    assert above.value == pytest.approx(0.6 * 10 / 15) == pytest.approx(0.4)
    assert above.exponent == -1.0


def test_absolute_matches_hand_computed_values() -> None:
    assert absolute(0.7, 12.0, 10.0).value == pytest.approx(0.7 - 0.1 * 0.2) == pytest.approx(0.68)
    r = absolute(0.7, 5.0, 10.0, beta=-0.5)
    assert (r.value, r.penalty, r.exponent) == (pytest.approx(0.45), pytest.approx(-0.25), None)
    assert r.as_dict()["kind"] == "tunas_abs"


def test_make_reward_selects_and_rejects() -> None:
    assert make_reward("mnasnet_soft", 10.0, w=-0.15)(0.7, 8.0).value == pytest.approx(0.723827, abs=1e-6)
    assert make_reward("mnasnet_hard", 10.0)(0.6, 15.0).value == pytest.approx(0.4)
    assert make_reward("tunas_abs", 10.0)(0.7, 12.0).value == pytest.approx(0.68)
    with pytest.raises(ValueError, match="unknown reward kind 'soft'; choose one of mnasnet_soft, mnasnet_hard, tunas_abs"):
        make_reward("soft", 10.0)
    with pytest.raises(ValueError, match="latency must be positive"):
        soft(0.5, 0.0, 10.0)
    with pytest.raises(ValueError, match="beta must be negative"):
        absolute(0.5, 1.0, 10.0, beta=0.1)
