"""Report section (b): accuracy vs latency of every searched child, the Pareto front, and the
reference MobileNetV3s trained with the child recipe (`trials.csv`, `references.csv`)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from experiments.report import plots
from experiments.report.markdown import image, not_run, num, source, table
from experiments.report.pareto import pareto_front
from experiments.report.sources import require_columns
from experiments.rundir.layout import PLOTS_DIR, REFERENCES, TRIALS, join
from experiments.rundir.run_dir import RunDir

PLOT = join(PLOTS_DIR, "pareto.png")
TITLE = "## Accuracy vs latency: searched children, Pareto front, references"


def pareto_section(run: RunDir) -> str:
    trials, refs = run.csv(TRIALS), run.csv(REFERENCES)
    if trials is None and refs is None:
        (run.root / PLOT).unlink(missing_ok=True)
        return "\n".join([TITLE, "", not_run("the search and the reference phase", [TRIALS, REFERENCES])])
    lines = [TITLE, ""]
    children = pd.DataFrame(columns=["accuracy", "latency_ms", "arch"])
    if trials is None:
        lines += [not_run("the search", [TRIALS]), ""]
    else:
        require_columns(trials, TRIALS, ("status", "accuracy", "latency_ms", "arch"))
        stand_alone = trials["stage"] != "one_shot" if "stage" in trials.columns else True  # not shared weights
        children = trials[(trials["status"] == "ok") & stand_alone].reset_index(drop=True)
    lat = pd.to_numeric(children["latency_ms"], errors="coerce").to_numpy(dtype=float)
    acc = pd.to_numeric(children["accuracy"], errors="coerce").to_numpy(dtype=float)
    front = pareto_front(lat.tolist(), acc.tolist())
    if refs is None:
        lines += [not_run("the reference phase", [REFERENCES]), ""]
        refs = pd.DataFrame(columns=["name", "val_accuracy", "latency_ms"])
    else:
        require_columns(refs, REFERENCES, ("name", "val_accuracy", "latency_ms"))
    plots.pareto(lat, acc, front, refs["name"].astype(str).tolist(),
                 pd.to_numeric(refs["latency_ms"], errors="coerce").to_numpy(dtype=float),
                 pd.to_numeric(refs["val_accuracy"], errors="coerce").to_numpy(dtype=float), run.root / PLOT)
    lines += [image(PLOT, "accuracy vs latency"), "",
              f"Accuracy is the validation accuracy after the child training recipe; latency is the configured "
              f"latency model's figure. {len(children)} finished children, {len(front)} on the Pareto front.", ""]
    if front:
        rows = children.iloc[front]
        cols = [c for c in ("index", "accuracy", "latency_ms", "reward") if c in rows.columns]
        lines += ["Pareto front (fastest first):", "",
                  table([*cols, "arch"], ([num(r[c], "d" if c == "index" else ".4f") for c in cols] + [f"`{r['arch']}`"]
                                          for _, r in rows.iterrows())), ""]
    if len(refs):
        cols = [c for c in ("val_accuracy", "test_accuracy", "latency_ms", "params", "madds") if c in refs.columns]
        lines += ["References trained with the child recipe:", "",
                  table(["name", *cols], ([r["name"]] + [num(r[c], "," if c in ("params", "madds") else ".4f")
                                                         for c in cols] for _, r in refs.iterrows())), ""]
        best_lat = np.nanmin(pd.to_numeric(refs["latency_ms"], errors="coerce"))
        beats = [i for i in front if lat[i] <= best_lat]
        lines += [f"{len(beats)} front point(s) are at most as slow as the fastest reference ({best_lat:.3f} ms).", ""]
    lines.append(source(*(f for f, d in ((TRIALS, trials), (REFERENCES, refs)) if d is not None and run.has(f))))
    return "\n".join(lines)
