"""Report section: proxy fidelity, from `proxy_check.csv` when `hwnas proxy-check` wrote one; else, for a
one-shot search, from its own archs: the top_k's shared-weight accuracies in the final supernet
(`one_shot_topk.csv`) against their stand-alone trainings' (`trials.csv`); left out otherwise.
Kendall's tau and its interval are recomputed from the table, with the same function and resampling
seed as the command, so both print the same figures."""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from experiments.report.markdown import image, num, source, table
from experiments.report.sources import require_columns
from experiments.rundir.layout import (
    ONE_SHOT_TOPK,
    PROXY_CHECK,
    PROXY_CHECK_PLOT,
    TRIALS,
)
from experiments.rundir.run_dir import RunDir
from latency.fidelity import kendall_tau_interval

SEED_COLUMN = "long_accuracy_seed"  # + the seed: one column per long-training seed
LIKELIHOOD_COLUMN = "proxy_likelihood"  # a one-shot proxy's shared-weight exp(-cross-entropy)
TITLE = "## Proxy fidelity: the search's score against longer training"


def proxy_tau(frame: pd.DataFrame) -> dict[str, Any]:
    """Kendall's tau-b of proxy against long accuracy with its bootstrap 95% interval, over the rows
    where both scores exist (a diverged training is NaN)."""
    return column_tau(frame, "proxy_accuracy")


def column_tau(frame: pd.DataFrame, column: str) -> dict[str, Any]:
    """Kendall's tau-b of `column` against long accuracy with its interval, over the rows where both exist."""
    both = frame[[column, "long_accuracy"]].apply(pd.to_numeric, errors="coerce").dropna()
    return kendall_tau_interval(both[column].to_numpy(float), both["long_accuracy"].to_numpy(float))


def likelihood_tau(frame: pd.DataFrame) -> dict[str, Any] | None:
    """Kendall's tau-b of a one-shot proxy's shared-weight likelihood (`proxy_likelihood`, the quality the
    search's reward takes by default) against long accuracy, with its interval; None without the column."""
    return column_tau(frame, LIKELIHOOD_COLUMN) if LIKELIHOOD_COLUMN in frame.columns else None


def seed_columns(frame: pd.DataFrame) -> list[str]:
    """The per-seed long accuracies (`long_accuracy_seed<s>`) of a check run with `--long-seeds`, in order."""
    return [c for c in frame.columns if c.startswith(SEED_COLUMN)]


def reference_tau(frame: pd.DataFrame) -> dict[str, Any] | None:
    """Kendall's tau-b of the first two long-training seeds' accuracies (`long_accuracy_seed<s>` columns, written
    by `hwnas proxy-check --long-seeds`) against each other, over the rows where both exist, with its bootstrap
    interval: the reference's own repeatability; None with fewer than two seeds."""
    columns = seed_columns(frame)[:2]
    if len(columns) < 2:
        return None
    both = frame[columns].apply(pd.to_numeric, errors="coerce").dropna()
    return kendall_tau_interval(both[columns[0]].to_numpy(float), both[columns[1]].to_numpy(float))


def tau_text(stats: dict[str, Any]) -> str:
    """'0.61 (95% bootstrap interval 0.30 to 0.85, 12 archs)'."""
    lo, hi = stats["ci95"]

    def fmt(v: float) -> str:
        return "n/a" if math.isnan(v) else f"{v:.2f}"

    return f"{fmt(stats['value'])} (95% bootstrap interval {fmt(lo)} to {fmt(hi)}, {stats['n']} archs)"


def one_shot_section(run: RunDir) -> str:
    """The one-shot search's own pairs: each top_k arch's supernet accuracy against its stand-alone
    validation accuracy ("" without both files)."""
    top, trials = run.csv(ONE_SHOT_TOPK), run.csv(TRIALS)
    if top is None or trials is None or top.empty:
        return ""
    require_columns(top, ONE_SHOT_TOPK, ("arch", "supernet_accuracy", "images"))
    require_columns(trials, TRIALS, ("arch", "stage", "status", "accuracy", "latency_ms"))
    alone = trials[(trials["stage"] == "standalone") & (trials["status"] == "ok")]
    pairs = top.merge(alone[["arch", "accuracy", "latency_ms"]], on="arch")
    frame = pd.DataFrame({"arch": pairs["arch"], "proxy_accuracy": pairs["supernet_accuracy"],
                          "long_accuracy": pairs["accuracy"], "latency_ms": pairs["latency_ms"]})
    stats = proxy_tau(frame)
    lines = [TITLE, "", f"The one-shot search's top {len(top)} archs: proxy = the final supernet's shared weights on "
             f"{int(top['images'].iloc[0])} validation images; longer training = each arch trained stand-alone "
             f"(`search.child_training`), validation accuracy.", "",
             f"Kendall tau (supernet vs stand-alone): **{tau_text(stats)}**. Over this few archs the interval is "
             f"wide; `hwnas proxy-check` scores more archs with longer training.", "",
             table(("supernet accuracy", "stand-alone accuracy", "latency (ms)", "arch"),
                   ([num(r["proxy_accuracy"]), num(r["long_accuracy"]), num(r["latency_ms"]), f"`{r['arch']}`"]
                    for _, r in frame.sort_values("long_accuracy", ascending=False).iterrows())), "",
             source(ONE_SHOT_TOPK, TRIALS)]
    return "\n".join(lines)


def proxy_section(run: RunDir) -> str:
    frame = run.csv(PROXY_CHECK)
    if frame is None:
        return one_shot_section(run)
    require_columns(frame, PROXY_CHECK, ("arch", "proxy_accuracy", "long_accuracy", "latency_ms", "proxy_budget",
                                         "long_budget"))
    stats = proxy_tau(frame)
    lines = [TITLE, "", f"Proxy: {frame['proxy_budget'].iloc[0]}; longer training: {frame['long_budget'].iloc[0]} "
             f"(same recipe and seed for every arch).", "",
             f"Kendall tau (proxy vs longer training): **{tau_text(stats)}**. A tau near 1 means the proxy orders "
             f"archs as longer training does; an interval reaching 0 means this many archs cannot tell the proxy "
             f"from a random ranking.", ""]
    likelihood = likelihood_tau(frame)
    if likelihood is not None:
        lines += [f"By the paths' shared-weight likelihood exp(-cross-entropy) instead, the quality the one-shot "
                  f"search's reward takes by default (`search.one_shot.quality`): Kendall tau "
                  f"**{tau_text(likelihood)}**.", ""]
    reference = reference_tau(frame)
    if reference is not None:
        seeds = [c.removeprefix(SEED_COLUMN) for c in seed_columns(frame)]
        lines += [f"Longer training repeated with {len(seeds)} seeds ({', '.join(seeds)}); its mean is the reference. "
                  f"The reference against itself (seed {seeds[0]} vs seed {seeds[1]}): Kendall tau "
                  f"**{tau_text(reference)}**: no proxy can be expected to rank the archs much better than the "
                  f"longer training repeats its own ranking.", ""]
    if run.has(PROXY_CHECK_PLOT):
        lines += [image(PROXY_CHECK_PLOT, "proxy vs longer training"), ""]
    rows = frame.sort_values("long_accuracy", ascending=False)
    lines += [table(("proxy accuracy", "long accuracy", "latency (ms)", "arch"),
                    ([num(r["proxy_accuracy"]), num(r["long_accuracy"]), num(r["latency_ms"]), f"`{r['arch']}`"]
                     for _, r in rows.iterrows())), "", source(PROXY_CHECK)]
    return "\n".join(lines)
