"""Report section (a): search reward and controller entropy over time, from `trials.csv`. A one-shot
search's sampled paths (`stage` one_shot) get their own part (`one_shot_section`); the rest of the
section covers the children trained stand-alone."""

from __future__ import annotations

import numpy as np
import pandas as pd

from experiments.report import plots
from experiments.report.markdown import image, not_run, num, source, table
from experiments.report.one_shot_section import one_shot_lines
from experiments.report.sources import require_columns
from experiments.rundir.layout import PLOTS_DIR, TRIALS, join
from experiments.rundir.run_dir import RunDir
from search.trial_record import UNTRAINED

PLOT = join(PLOTS_DIR, "search.png")
TITLE = "## Search: reward and controller entropy over time"


def entropy_column(frame: pd.DataFrame) -> str | None:
    """The column holding the controller's entropy per sample, if the search recorded one."""
    names = [c for c in frame.columns if "entropy" in str(c).lower() and "weight" not in str(c).lower()]
    return names[0] if names else None


def time_axis(frame: pd.DataFrame, column: str) -> tuple[np.ndarray, str]:
    """Minutes since the first suggestion when the timestamps are there, else the row position."""
    if {"suggested_at", column} <= set(frame.columns):
        t = pd.to_numeric(frame[column], errors="coerce")
        start = pd.to_numeric(frame["suggested_at"], errors="coerce").min()
        if t.notna().all() and not np.isnan(start):
            return ((t - start) / 60.0).to_numpy(), "minutes since the search started"
    return np.arange(len(frame), dtype=float), "child (order of completion)"


def _by_suggestion(frame: pd.DataFrame) -> pd.DataFrame:
    if "suggested_at" in frame.columns:
        frame = frame.sort_values("suggested_at", kind="stable")
    return frame.reset_index(drop=True)


def search_section(run: RunDir) -> str:
    trials = run.csv(TRIALS)
    if trials is None:
        (run.root / PLOT).unlink(missing_ok=True)
        return "\n".join([TITLE, "", not_run("the search", [TRIALS])])
    require_columns(trials, TRIALS, ("status", "reward", "arch"))
    one_shot: list[str] = []
    if "stage" in trials.columns and (trials["stage"] == "one_shot").any():
        one_shot = one_shot_lines(run, trials[trials["stage"] == "one_shot"])
        trials = trials[trials["stage"] != "one_shot"]
    if "completed_at" in trials.columns:
        trials = trials.sort_values("completed_at", kind="stable")
    ok = trials[trials["status"] == "ok"].reset_index(drop=True)
    x, x_label = time_axis(ok, "completed_at")
    reward = pd.to_numeric(ok["reward"], errors="coerce").to_numpy(dtype=float)
    kind = " trained stand-alone" if one_shot else ""
    lines = [TITLE, "", f"{len(trials)} children{kind} recorded, {len(ok)} finished (status ok), "
             f"{len(trials) - len(ok)} failed or unfinished.", ""]
    column = entropy_column(trials)
    ent_x = ent = None
    ent_label = "entropy (nats)"
    if column is not None:
        rows = trials[pd.to_numeric(trials[column], errors="coerce").notna()]
        rows = _by_suggestion(rows)
        ent_x, _ = time_axis(rows, "suggested_at")
        ent = pd.to_numeric(rows[column]).to_numpy(dtype=float)
        lines.append(f"Controller entropy: column `{column}` of `{TRIALS}` (entropy of the policy when each child "
                     f"was sampled).")
    elif "log_prob" in trials.columns:
        rows = _by_suggestion(trials)
        ent_x, _ = time_axis(rows, "suggested_at")
        ent = plots.running_mean(-pd.to_numeric(rows["log_prob"], errors="coerce").fillna(0).to_numpy(), 4)
        ent_label = "-log p(sample), mean of 4"
        lines.append(f"**Note:** `{TRIALS}` has no entropy column, so the controller's entropy is not plotted; the "
                     f"lower panel shows the running mean of -log p of each sampled architecture (column `log_prob`), "
                     f"an unbiased single-sample estimate of the entropy.")
    else:
        lines.append(f"**Note:** `{TRIALS}` has neither an entropy nor a `log_prob` column; no entropy plot.")
    plots.search_progress(x, reward, x_label, ent_x, ent, ent_label, run.root / PLOT)
    lines += ["", image(PLOT, "search reward and entropy"), ""]
    if len(ok):
        top = ok.assign(_r=reward).sort_values("_r", ascending=False).head(5)
        cols = [c for c in ("index", "accuracy", "latency_ms", "reward") if c in top.columns]
        lines += ["Top children by reward:", "",
                  table([*cols, "arch"], ([num(r[c], "d" if c == "index" else ".4f") for c in cols] + [f"`{r['arch']}`"]
                                          for _, r in top.iterrows())), ""]
    failed = trials[~trials["status"].isin(["ok", *UNTRAINED])]
    if len(failed):
        reasons = failed["reason"] if "reason" in failed.columns else pd.Series(["-"] * len(failed))
        lines += ["Children that did not finish:", "",
                  table(("index", "status", "reason"), ((r.get("index", "-"), r["status"], reason)
                                                        for (_, r), reason in zip(failed.iterrows(), reasons))), ""]
    lines.append(source(TRIALS))
    if one_shot:
        lines += ["", *one_shot]
    return "\n".join(lines)
