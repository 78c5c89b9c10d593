"""The one-shot part of the search section: from the `stage == one_shot` rows of `trials.csv` (one per
path the controller sampled and the supernet scored), the reward's moving average and the controller's
entropy over the samples (plot and first/last figures), and, when the search wrote
`one_shot_uniform.csv`, the last samples' mean reward against uniform paths scored by the final
supernet (the controller learned something only if its late choices beat chance)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from experiments.report import plots
from experiments.report.markdown import image, num, source, table
from experiments.rundir.layout import ONE_SHOT_UNIFORM, PLOTS_DIR, TRIALS, join
from experiments.rundir.run_dir import RunDir

PLOT = join(PLOTS_DIR, "one_shot.png")


def window_of(n: int) -> int:
    """Moving-average window: 1/20 of the samples, at least 10."""
    return max(10, n // 20)


def _mean(values: pd.Series) -> float:
    return float(pd.to_numeric(values, errors="coerce").mean())


def one_shot_lines(run: RunDir, rows: pd.DataFrame) -> list[str]:
    """Markdown lines for the one-shot samples `rows` (the trials table's one_shot rows, in sampling order)."""
    rows = rows.sort_values("index", kind="stable") if "index" in rows.columns else rows
    reward = pd.to_numeric(rows["reward"], errors="coerce").to_numpy(dtype=float)
    entropy = pd.to_numeric(rows.get("entropy", pd.Series(np.nan, index=rows.index)), errors="coerce").to_numpy(float)
    window = window_of(len(rows))
    plots.one_shot_learning(reward, entropy, window, run.root / PLOT)
    head, tail = slice(0, window), slice(len(rows) - window, len(rows))
    lines = ["### One-shot stage: the controller learning on the supernet", "",
             f"{len(rows)} paths sampled by the controller and scored with the supernet's shared weights "
             f"({rows['arch'].nunique()} distinct). Moving average over {window} samples: reward "
             f"{num(np.nanmean(reward[head]))} at the start, {num(np.nanmean(reward[tail]))} at the end; controller "
             f"entropy {num(np.nanmean(entropy[head]), '.2f')} -> {num(np.nanmean(entropy[tail]), '.2f')} nats.", "",
             image(PLOT, "one-shot reward and entropy over samples"), ""]
    uniform = run.csv(ONE_SHOT_UNIFORM)
    if uniform is None:
        lines += [f"No uniform baseline (`{ONE_SHOT_UNIFORM}` is missing): the search did not finish, or predates it.",
                  "", source(TRIALS)]
        return lines
    last = rows.tail(int((uniform["sample"] == "uniform").sum()))  # as many late samples as uniform paths
    sets = [(f"last {len(last)} samples, as recorded during the search", last),
            (f"last {len(last)} samples, re-scored by the final supernet", uniform[uniform["sample"] == "last"]),
            ("uniform paths, scored by the final supernet", uniform[uniform["sample"] == "uniform"])]
    lines += ["Late samples against uniform paths of the same space (re-scored pairs share a validation batch):", "",
              table(("paths", "n", "mean reward", "mean accuracy", "mean latency (ms)"),
                    ([name, len(s), num(_mean(s["reward"])), num(_mean(s["accuracy"])), num(_mean(s["latency_ms"]))]
                     for name, s in sets)), ""]
    above = _mean(sets[1][1]["reward"]) > _mean(sets[2][1]["reward"])
    lines += [f"The final supernet scores the controller's late choices **{'above' if above else 'not above'}** "
              f"uniform ones.", "", source(TRIALS, ONE_SHOT_UNIFORM)]
    return lines
