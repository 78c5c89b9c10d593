"""NetAdapt history as tables: one row per proposal per iteration, and the trajectory (the kept
model's latency and accuracy after each iteration, starting from the seed)."""

from __future__ import annotations

import pandas as pd

HISTORY_COLUMNS = ["iteration", "kind", "index", "width_before", "width_after", "latency_before",
                   "latency_after", "acc_before", "acc_after", "chosen", "duration_s", "arch"]


def history_frame(state: dict) -> pd.DataFrame:
    return pd.DataFrame(state["history"], columns=HISTORY_COLUMNS)


def trajectory_frame(state: dict) -> pd.DataFrame:
    """Columns: iteration (-1 for the seed), latency_ms, acc, arch."""
    seed = state["seed"]
    first_acc = state["history"][0]["acc_before"] if state["history"] else state["current"]["acc"]
    rows = [{"iteration": -1, "latency_ms": seed["latency_ms"], "acc": first_acc, "arch": seed["arch"]}]
    for row in state["history"]:
        if row["chosen"]:
            rows.append({"iteration": row["iteration"], "latency_ms": row["latency_after"],
                         "acc": row["acc_after"], "arch": row["arch"]})
    return pd.DataFrame(rows, columns=["iteration", "latency_ms", "acc", "arch"])
