"""Report section (c): the NetAdapt trajectory, from `netadapt/trajectory.csv`, `history.csv` and
`result.json`: every proposal's latency and accuracy, the chosen ones, the kept model per iteration."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from experiments.report import plots
from experiments.report.markdown import image, not_run, num, source, table
from experiments.report.sources import require_columns
from experiments.rundir.layout import HISTORY, PLOTS_DIR, RESULT, TRAJECTORY, join
from experiments.rundir.run_dir import RunDir

PLOT = join(PLOTS_DIR, "netadapt.png")
TITLE = "## NetAdapt trajectory"


def _scalar_rows(result: dict[str, Any]) -> list[tuple[str, str]]:
    rows = []
    for key, value in result.items():
        if isinstance(value, (dict, list)):
            continue
        if isinstance(value, bool):
            text = "yes" if value else "no"
        elif isinstance(value, int):
            text = str(value)
        elif isinstance(value, str):
            text = f"`{value}`" if len(value) > 40 else value
        else:
            text = num(value)
        rows.append((key, text))
    return rows


def netadapt_section(run: RunDir) -> str:
    traj, hist, result = run.csv(TRAJECTORY), run.csv(HISTORY), run.json(RESULT)
    if traj is None and hist is None and result is None:
        (run.root / PLOT).unlink(missing_ok=True)
        return "\n".join([TITLE, "", not_run("NetAdapt", [TRAJECTORY, HISTORY, RESULT])])
    lines = [TITLE, ""]
    target = result.get("target_ms") if isinstance(result, dict) else None
    if traj is not None:
        require_columns(traj, TRAJECTORY, ("iteration", "latency_ms", "val_accuracy"))
    if hist is not None:
        require_columns(hist, HISTORY, ("iteration", "latency_after", "val_accuracy", "chosen"))
    if traj is not None or hist is not None:
        t = traj if traj is not None else pd.DataFrame(columns=["iteration", "latency_ms", "val_accuracy"])
        h = hist if hist is not None else pd.DataFrame(columns=["latency_after", "val_accuracy", "chosen"])
        chosen = h["chosen"].astype(str).str.lower().isin(("true", "1")).to_numpy()
        plots.netadapt(t["iteration"].to_numpy(dtype=float), t["latency_ms"].to_numpy(dtype=float),
                       t["val_accuracy"].to_numpy(dtype=float), h["latency_after"].to_numpy(dtype=float),
                       h["val_accuracy"].to_numpy(dtype=float), chosen, target, run.root / PLOT)
        lines += [image(PLOT, "NetAdapt trajectory"), "",
                  "Accuracy is on the validation split after each proposal's short fine-tune; latency is the "
                  "latency model's prediction.", ""]
    else:
        (run.root / PLOT).unlink(missing_ok=True)
    if traj is not None:
        picks = hist[hist["chosen"].astype(str).str.lower().isin(("true", "1"))] if hist is not None else None
        rows = []
        for _, r in traj.iterrows():
            it = int(r["iteration"])
            what, tried = "seed", "-"
            if picks is not None and it >= 0:
                p = picks[picks["iteration"] == it]
                if len(p):
                    q = p.iloc[0]
                    what = f"{q.get('kind', '?')} {q.get('index', '?')}: {q.get('width_before', '?')} -> " \
                           f"{q.get('width_after', '?')}"
                tried = str(int((hist["iteration"] == it).sum()))
            rows.append((it, num(r["latency_ms"]), num(r["val_accuracy"]), what, tried))
        lines += [table(("iteration", "latency (ms)", "accuracy", "kept proposal", "proposals tried"), rows), ""]
    if hist is not None and {"latency_cut", "delta_accuracy", "delta_ms"} <= set(hist.columns):
        lines += ["Every proposal, per iteration: its width, the cut the latency model predicts (and delta, the "
                  "cut it had to reach), its validation accuracy after the short fine-tune minus the unchanged "
                  "network's after the same fine-tune (the control), and which was kept.", "",
                  table(("iteration", "proposal", "width", "predicted cut (ms)", "delta (ms)", "dAcc vs control",
                         "kept"), _proposal_rows(hist)), ""]
    if isinstance(result, dict):
        lines += ["Result:", "", table(("key", "value"), _scalar_rows(result)), ""]
        lines += _live_check(result, target)
    else:
        lines += [not_run("NetAdapt's final step", [RESULT]), ""]
    if hist is not None and len(hist):
        durations = pd.to_numeric(hist.get("duration_s"), errors="coerce") if "duration_s" in hist else None
        if durations is not None and durations.notna().any():
            lines += [f"{len(hist)} proposals evaluated, median {np.nanmedian(durations):.1f} s each.", ""]
    lines.append(source(*(f for f in (TRAJECTORY, HISTORY, RESULT) if run.has(f))))
    return "\n".join(lines)


def _live_check(result: dict[str, Any], target: float | None) -> list[str]:
    """The final model's live median against the table's prediction (rel_error) and the target."""
    if "live_ms" not in result:
        return []
    live = float(result["live_ms"])
    lines = []
    if "table_ms" in result:
        predicted = float(result["table_ms"])
        rel = float(result.get("rel_error", (live - predicted) / predicted))
        verdict = ("within" if abs(rel) <= 0.05 else "outside") + " the 5% goal"
        if result.get("live_settled") is False:
            repeat = result.get("live_repeat")
            moved = f"moved up to {float(repeat):.1%}" if repeat is not None else "could not be compared"
            verdict = (f"{verdict}, undecided: the live figures (final model, seed) {moved} between the first and "
                       f"second half of their windows, more than the 5% this check decides on: the machine was not "
                       f"quiet enough")
        lines.append(f"Live check of the final model: live median {live:.3f} ms vs table {predicted:.3f} ms, "
                     f"rel_error {rel:+.1%} ({verdict}).")
    if "cut_live" in result and "cut_table" in result:
        lines.append(f"The cut from the seed: {float(result['cut_table']):+.1%} by the table, "
                     f"{float(result['cut_live']):+.1%} live (the seed timed in the same windows: "
                     f"{float(result['seed_live_ms']):.3f} ms; a ratio the machine's slow modes do not move).")
    if "rel_error_anchored" in result:
        lines.append(f"Anchored on the seed (the final model's live figure x the seed's at calibration, "
                     f"{float(result['seed_live_at_calibration_ms']):.3f} ms, / the seed's now): "
                     f"{float(result['rel_error_anchored']):+.1%} against the table.")
    if target is not None:
        verdict = "meets" if live <= target * 1.05 else "misses"
        lines.append(f"Measured latency {live:.3f} ms {verdict} the target {target:.3f} ms (+5% allowed: "
                     f"{target * 1.05:.3f} ms).")
    return [" ".join(lines), ""]


def _proposal_rows(hist: pd.DataFrame) -> list[tuple[str, ...]]:
    rows = []
    for _, r in hist.iterrows():
        failure = r.get("failure")
        outcome = f"failed: {failure}" if isinstance(failure, str) and failure else num(r["delta_accuracy"], "+.4f")
        kept = "yes" if str(r["chosen"]).lower() in ("true", "1") else ""
        rows.append((str(int(r["iteration"])), f"{r['kind']} {r['index']}", f"{r['width_before']} -> {r['width_after']}",
                     num(r["latency_cut"]), num(r["delta_ms"]), outcome, kept))
    return rows
