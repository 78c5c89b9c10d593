"""NetAdapt history as tables, derived from the state's records: one row per proposal per
iteration (`HistoryRow`: its fields are the columns of history.csv, named as in the records), and
the trajectory (the kept model's latency and accuracy after each iteration, from the seed on)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import pandas as pd

from netadapt.records import NetAdaptState


@dataclass(frozen=True)
class HistoryRow:
    """A proposal of an iteration; `delta_accuracy` is its accuracy minus the control's."""

    iteration: int
    delta_ms: float
    kind: str
    index: int
    width_before: int
    width_after: int
    latency_before: float
    latency_after: float
    latency_cut: float
    control_val_accuracy: float | None  # None: format 1 iterations (no control) or a failed control
    val_accuracy: float | None  # None: the proposal failed
    delta_accuracy: float | None
    failure: str | None
    chosen: bool
    duration_s: float | None
    arch: str


@dataclass(frozen=True)
class TrajectoryRow:
    """The model kept after `iteration` (-1: the seed)."""

    iteration: int
    latency_ms: float
    val_accuracy: float
    arch: str


HISTORY_COLUMNS = tuple(f.name for f in dataclasses.fields(HistoryRow))
TRAJECTORY_COLUMNS = tuple(f.name for f in dataclasses.fields(TrajectoryRow))


def history_rows(state: NetAdaptState) -> list[HistoryRow]:
    """Every proposal of every finished iteration, in order."""
    rows = []
    for it in state.iterations:
        control = it.control.val_accuracy if it.control is not None else None
        for p in it.proposals:
            acc = p.trial.val_accuracy
            rows.append(HistoryRow(
                iteration=it.iteration, delta_ms=it.delta_ms, kind=p.kind, index=p.index,
                width_before=p.width_before, width_after=p.width_after, latency_before=it.latency_before,
                latency_after=p.latency_after, latency_cut=it.latency_before - p.latency_after,
                control_val_accuracy=control, val_accuracy=acc,
                delta_accuracy=acc - control if acc is not None and control is not None else None,
                failure=p.trial.failure, chosen=p.key == it.chosen, duration_s=p.trial.duration_s, arch=p.trial.arch))
    return rows


def trajectory_rows(state: NetAdaptState) -> list[TrajectoryRow]:
    rows = [TrajectoryRow(-1, state.seed.latency_ms, state.seed.val_accuracy, state.seed.arch)]
    for it in state.iterations:
        kept = next(p for p in it.proposals if p.key == it.chosen)
        assert kept.trial.val_accuracy is not None
        rows.append(TrajectoryRow(it.iteration, kept.latency_after, kept.trial.val_accuracy, kept.trial.arch))
    return rows


def history_frame(state: NetAdaptState) -> pd.DataFrame:
    return pd.DataFrame([dataclasses.asdict(r) for r in history_rows(state)], columns=list(HISTORY_COLUMNS))


def trajectory_frame(state: NetAdaptState) -> pd.DataFrame:
    """Columns: iteration (-1 for the seed), latency_ms, val_accuracy, arch."""
    return pd.DataFrame([dataclasses.asdict(r) for r in trajectory_rows(state)], columns=list(TRAJECTORY_COLUMNS))
