"""The NetAdapt loop's settings (one frozen record, stored in the state so that a resume can check
it runs under the settings it was started with). Field names are the config file's
(`netadapt.*`) where the setting is the user's; `target_ms` and `delta_ms` are absolute, resolved
from the config's ratios by the runner."""

from __future__ import annotations

from dataclasses import dataclass

from netadapt.selection import RULES

FINAL_PHASES = ("long_finetune", "retrain")


@dataclass(frozen=True)
class LoopConfig:
    target_ms: float
    delta_ms: float  # the first iteration's minimum cut (paper: 0.01 x seed latency)
    delta_decay: float = 1.0  # iteration k must cut delta_ms x delta_decay ** k (official code: 0.96)
    channel_divisor: int = 8  # the width grid's step: every candidate width is a multiple of it
    selection: str = "mobilenetv3"  # the rule that keeps one proposal per iteration (netadapt.selection)
    max_iterations: int = 100
    seed: int = 0
    head_proposals: bool = False  # also propose the head's last / hidden widths
    final: str = "long_finetune"  # after the loop: fine-tune the kept weights longer, or retrain from scratch
    max_step_ratio: float | None = 2.0  # proposals cutting more than this x delta: see selection.within_step
    min_delta_ratio: float = 0.25  # no layer cuts delta: halve it, down to this share, before stopping 'stuck'

    def __post_init__(self) -> None:
        if self.target_ms <= 0 or self.delta_ms <= 0:
            raise ValueError("target_ms and delta_ms must be positive")
        if not 0 < self.delta_decay <= 1:
            raise ValueError(f"delta_decay must be in (0, 1], got {self.delta_decay}")
        if self.channel_divisor < 1:
            raise ValueError(f"channel_divisor must be at least 1, got {self.channel_divisor}")
        if self.max_iterations < 1:
            raise ValueError(f"max_iterations must be at least 1, got {self.max_iterations}")
        if self.selection not in RULES:
            raise ValueError(f"unknown selection rule {self.selection!r}; choose one of {list(RULES)}")
        if self.max_step_ratio is not None and self.max_step_ratio < 1:
            raise ValueError(f"max_step_ratio must be at least 1 (or None), got {self.max_step_ratio}")
        if not 0 < self.min_delta_ratio <= 1:
            raise ValueError(f"min_delta_ratio must be in (0, 1], got {self.min_delta_ratio}")
        if self.final not in FINAL_PHASES:
            raise ValueError(f"unknown final phase {self.final!r}; choose one of {list(FINAL_PHASES)}")

    def delta_at(self, iteration: int) -> float:
        """The minimum latency cut of `iteration` (0-based): delta_ms x delta_decay ** iteration."""
        return self.delta_ms * self.delta_decay ** iteration
