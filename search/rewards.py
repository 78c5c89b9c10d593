"""Multi-objective rewards of the block search: pure functions of accuracy and latency.

Each returns a `Reward` holding the value and every term that went into it, for the trials table.
`make_reward` builds the configured one (kinds mnasnet_soft, mnasnet_hard, tunas_abs, as in the run
config) as a callable `(accuracy, latency_ms) -> Reward`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass

MNASNET_W = -0.07
MNV3_SMALL_W = -0.15  # the soft w of MobileNetV3-Small (Howard et al. 2019)
TUNAS_BETA = -0.10


@dataclass(frozen=True)
class Reward:
    """A reward value and its terms: `exponent` is the MnasNet w in effect (None for TuNAS),
    `penalty` the multiplicative factor (MnasNet) or the additive term (TuNAS)."""

    kind: str
    value: float
    accuracy: float
    latency_ms: float
    target_ms: float
    ratio: float
    penalty: float
    exponent: float | None

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def _check(accuracy: float, latency_ms: float, target_ms: float) -> None:
    if not target_ms > 0:
        raise ValueError(f"target latency must be positive (ms), got {target_ms!r}")
    if not latency_ms > 0:
        raise ValueError(f"latency must be positive (ms), got {latency_ms!r}")
    if not 0.0 <= accuracy <= 1.0:
        raise ValueError(f"accuracy must be a fraction in [0, 1], got {accuracy!r}")


def mnasnet(accuracy: float, latency_ms: float, target_ms: float, alpha: float, beta: float,
            kind: str = "mnasnet") -> Reward:
    """MnasNet (Tan et al. 2019, eq. 2):

        R = ACC * (LAT / TAR) ** w,   w = alpha if LAT <= TAR else beta
    """
    _check(accuracy, latency_ms, target_ms)
    ratio = latency_ms / target_ms
    w = alpha if latency_ms <= target_ms else beta
    penalty = ratio ** w
    return Reward(kind, accuracy * penalty, accuracy, latency_ms, target_ms, ratio, penalty, w)


def soft(accuracy: float, latency_ms: float, target_ms: float, w: float = MNASNET_W) -> Reward:
    """Soft constraint, alpha = beta = w:  R = ACC * (LAT / TAR) ** w.

    MnasNet used w = -0.07; MobileNetV3-Small used w = -0.15.
    """
    return mnasnet(accuracy, latency_ms, target_ms, w, w, kind="mnasnet_soft")


def hard(accuracy: float, latency_ms: float, target_ms: float) -> Reward:
    """Hard constraint, alpha = 0, beta = -1:  R = ACC if LAT <= TAR else ACC * TAR / LAT."""
    return mnasnet(accuracy, latency_ms, target_ms, 0.0, -1.0, kind="mnasnet_hard")


def absolute(accuracy: float, latency_ms: float, target_ms: float, beta: float = TUNAS_BETA) -> Reward:
    """TuNAS absolute reward (Bender et al. 2020):  R = ACC + beta * |LAT / TAR - 1|, beta < 0."""
    _check(accuracy, latency_ms, target_ms)
    if not beta < 0:
        raise ValueError(f"TuNAS beta must be negative (default {TUNAS_BETA}), got {beta!r}")
    ratio = latency_ms / target_ms
    penalty = beta * abs(ratio - 1.0)
    return Reward("tunas_abs", accuracy + penalty, accuracy, latency_ms, target_ms, ratio, penalty, None)


RewardFn = Callable[[float, float], Reward]
REWARD_KINDS = ("mnasnet_soft", "mnasnet_hard", "tunas_abs")


def make_reward(kind: str, target_ms: float, w: float = MNASNET_W, beta: float = TUNAS_BETA) -> RewardFn:
    """The configured reward as `(accuracy, latency_ms) -> Reward`; `w` is used by soft, `beta` by absolute."""
    if not target_ms > 0:
        raise ValueError(f"reward target_ms must be positive, got {target_ms!r}")
    if kind == "mnasnet_soft":
        return lambda acc, lat: soft(acc, lat, target_ms, w)
    if kind == "mnasnet_hard":
        return lambda acc, lat: hard(acc, lat, target_ms)
    if kind == "tunas_abs":
        return lambda acc, lat: absolute(acc, lat, target_ms, beta)
    raise ValueError(f"unknown reward kind {kind!r}; choose one of {', '.join(REWARD_KINDS)}")
