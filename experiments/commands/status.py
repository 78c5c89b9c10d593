"""`hwnas status RUN_DIR [--json]`: where a run stands: phases done and the one in progress, children
done and planned, the NetAdapt iteration and its proposals, the best child so far, elapsed time and an
ETA for the phase in progress (the search's children from their pace; the NetAdapt iteration's
proposals from theirs). Reads only files the run writes atomically, so it works while the run goes
on and after it was killed; it starts nothing and writes nothing."""

from __future__ import annotations

import argparse
import json
import math
from typing import Any

from experiments.console.lines import duration, short_name
from experiments.rundir.status import run_status

EXAMPLES = """examples:
  hwnas status runs/demo
  hwnas status runs/demo --json
  watch -n 10 hwnas status runs/demo
"""


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("status", help="where a run stands: phases, children, NetAdapt iteration, best, ETA",
                            description=__doc__, epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run_dir", metavar="RUN_DIR", help="a run directory, e.g. runs/demo")
    parser.add_argument("--json", action="store_true", help="print the status as JSON")
    parser.set_defaults(func=show_status)


def _num(value: Any, fmt: str) -> str:
    return format(value, fmt) if isinstance(value, (int, float)) and math.isfinite(value) else "-"


def status_text(s: dict[str, Any]) -> str:
    lines = [f"run {s['name']} ({s['run']}): {' '.join(s['command'] or [])}",
             f"  started {s['started_at']} ({s['attempts']} attempt(s)), elapsed {duration(s['elapsed_s'])}, "
             f"last write {duration(s['last_write_s_ago'])} ago"]
    if s["phases"]:
        marks = ", ".join(f"{p['name']} {'done' if p['done'] else ('in progress' if p['name'] == s['current_phase'] else '-')}"
                          for p in s["phases"])
        lines.append(f"  phases: {marks}")
    lines.append(f"  now: {s['current_phase'] or 'finished'}" + (f", eta {duration(s['eta_s'])}" if s["eta_s"] else ""))
    search = s["search"]
    if search:
        lines.append(f"  search: {search['children_done']} of {search['children_planned']} children done "
                     f"({search['children_ok']} ok)")
        best = search["best"]
        if best:
            lines.append(f"  best so far: child {best['index']} {short_name(best['index'], best['arch'])}: reward "
                         f"{best['reward']:.4f}, accuracy {best['accuracy']:.4f}, {best['latency_ms']:.4f} ms")
    na = s["netadapt"]
    if na:
        flight = (f", iteration {na['pending_iteration']} in flight: {na['proposals_done']} of {na['proposals']} "
                  f"proposals done" if na["pending_iteration"] is not None else "")
        lines.append(f"  netadapt: iteration {na['iteration']} ({na['status']}){flight}; "
                     f"{_num(na['latency_ms'], '.4f')} ms, val acc {_num(na['accuracy'], '.4f')}"
                     + (f", target {na['target_ms']:.4f} ms" if na.get("target_ms") else ""))
        if na.get("live_ms") is not None:
            lines.append(f"  final: live {na['live_ms']:.4f} ms, test accuracy {_num(na.get('test_accuracy'), '.4f')}, "
                         f"target {'met' if na.get('target_met') else 'not met'}")
    return "\n".join(lines)


def show_status(args: argparse.Namespace) -> int:
    status = run_status(args.run_dir)
    print(json.dumps(status, indent=2) if args.json else status_text(status))
    return 0
