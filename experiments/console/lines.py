"""The console's lines, as pure functions of what they report: a phase header, one line per finished
search child, one per NetAdapt proposal, the short name of a child (its trial name in Ray Tune, the
full arch stays in trials.csv) and durations."""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from typing import Any

HEADER_WIDTH = 78


def phase_header(name: str, number: int, count: int) -> str:
    """`── search (1/6) ─────...`"""
    title = f"── {name} ({number}/{count}) "
    return title + "─" * max(3, HEADER_WIDTH - len(title))


def short_name(index: int | None, arch: str) -> str:
    """`c007-3fa2b1`: the child's index and a hash of its arch (or the hash alone without an index)."""
    digest = hashlib.sha1(arch.encode()).hexdigest()[:6]
    return f"c{index:03d}-{digest}" if index is not None else f"c-{digest}"


def duration(seconds: float | None) -> str:
    """`1:02:03`, `4:05`, or `?` when unknown."""
    if seconds is None or not math.isfinite(seconds) or seconds < 0:
        return "?"
    s = int(round(seconds))
    hours, rest = divmod(s, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


def _num(value: Any, fmt: str) -> str:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return "-"
    return format(number, fmt) if math.isfinite(number) else "-"


def child_line(record: dict[str, Any], done: int, total: int, eta_s: float | None) -> str:
    """One finished child: index/total, short id, accuracy, latency, reward, entropy, ETA."""
    name = short_name(record.get("index"), str(record.get("arch", "")))
    head = f"child {done:>{len(str(total))}}/{total} {name}"
    if record.get("status", "ok") != "ok":
        return f"{head}  {record.get('status')}: {record.get('reason') or 'no reason given'}  eta {duration(eta_s)}"
    return (f"{head}  acc {_num(record.get('accuracy'), '.4f')}  lat {_num(record.get('latency_ms'), '.4f')} ms  "
            f"reward {_num(record.get('reward'), '.4f')}  entropy {_num(record.get('entropy'), '.3f')}  "
            f"eta {duration(eta_s)}")


@dataclass(frozen=True)
class ProposalFacts:
    """A finished NetAdapt proposal as the console reports it."""

    iteration: int
    kind: str
    index: int
    width_before: int
    width_after: int
    latency_before: float
    latency_after: float
    acc: float | None  # None when the fine-tune failed
    acc_before: float
    control_acc: float | None = None
    failure: str | None = None

    @property
    def predicted_cut_ms(self) -> float:
        return self.latency_before - self.latency_after


def proposal_line(p: ProposalFacts, done: int, total: int) -> str:
    """`proposal 2/5 it 1 expand3 72->56  cut 0.0123 ms  acc 0.4531  dAcc -0.0156 vs control`: dAcc
    against the iteration's control (the parent fine-tuned alike) when the state has one, else
    against the accuracy before the iteration."""
    head = (f"proposal {done}/{total} it {p.iteration} {p.kind}{p.index} {p.width_before}->{p.width_after}  "
            f"cut {p.predicted_cut_ms:.4f} ms (predicted)")
    if p.acc is None:
        return f"{head}  failed: {p.failure}"
    reference, against = (p.control_acc, "control") if p.control_acc is not None else (p.acc_before, "before")
    return f"{head}  acc {p.acc:.4f}  dAcc {p.acc - reference:+.4f} vs {against}"


def kept_line(row: dict[str, Any]) -> str:
    """The step an iteration kept (a chosen row of the NetAdapt history)."""
    control = row.get("control_val_accuracy")
    return (f"netadapt: iteration {row['iteration']} kept {row['kind']}{row['index']} {row['width_before']}->"
            f"{row['width_after']}: {row['latency_before']:.4f} -> {row['latency_after']:.4f} ms, val accuracy "
            f"{row['val_accuracy']:.4f}" + (f" (control {control:.4f})" if control is not None else ""))
