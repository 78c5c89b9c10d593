"""Report section (b): accuracy vs latency of every searched child (child recipe) and the Pareto
front, and the final model beside the reference MobileNetV3s trained from scratch with its recipe
and NetAdapt's total steps (`trials.csv`, `references.csv`, `final/metrics.json`, `netadapt/result.json`)."""

from __future__ import annotations

import pandas as pd

from experiments.report import plots
from experiments.report.markdown import image, not_run, num, source, table
from experiments.report.pareto import pareto_front
from experiments.report.sources import require_columns
from experiments.rundir.layout import FINAL_METRICS, PLOTS_DIR, REFERENCES, RESULT, TRIALS, join
from experiments.rundir.run_dir import RunDir

PLOT = join(PLOTS_DIR, "pareto.png")
TITLE = "## Accuracy vs latency: searched children, Pareto front, references"
EQUAL_COMPUTE = ("References are trained from scratch with the final model's recipe (`train`) for the {steps} "
                 "steps NetAdapt spent on the final model (seed training, every control and proposal fine-tune, "
                 "the final phase; the search's compute is not counted): compare them with the final model, "
                 "not with the children, whose accuracy is the short child recipe's.")
WHAT_EACH_NUMBER_IS = ("`val_accuracy` is on the validation split and `test_accuracy` on the test split, for the "
                       "references and the final model alike; `latency_ms` is the run's latency model (the table, "
                       "or live runs with `latency.source: live`) for every row, the final model's included.")


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
    final = final_point(run)
    plots.pareto(lat, acc, front, refs["name"].astype(str).tolist(),
                 pd.to_numeric(refs["latency_ms"], errors="coerce").to_numpy(dtype=float),
                 pd.to_numeric(refs["val_accuracy"], errors="coerce").to_numpy(dtype=float), run.root / PLOT,
                 final=None if final is None else (final["latency_ms"], final["val_accuracy"]))
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
        lines += reference_lines(refs, final)
    lines.append(source(*(f for f, d in ((TRIALS, trials), (REFERENCES, refs)) if d is not None and run.has(f)),
                        *(f for f in (FINAL_METRICS, RESULT) if final is not None)))
    return "\n".join(lines)


def final_point(run: RunDir) -> dict | None:
    """The final model's accuracy and its latency by the run's latency model (as the references')."""
    metrics, result = run.json(FINAL_METRICS), run.json(RESULT)
    if metrics is None or result is None:
        return None
    return {"name": "final model", "val_accuracy": metrics["val_accuracy"], "test_accuracy": metrics["test_accuracy"],
            "latency_ms": result["table_ms"], "params": metrics.get("params"), "madds": metrics.get("madds")}


def reference_lines(refs: pd.DataFrame, final: dict | None) -> list[str]:
    """The references beside the final model, with what their training was."""
    rows = refs.to_dict("records") + ([final] if final is not None else [])
    cols = [c for c in ("val_accuracy", "test_accuracy", "latency_ms", "params", "madds") if c in refs.columns]
    steps = sorted({int(s) for s in refs["steps"]}) if "steps" in refs.columns else []
    recipes = sorted(set(refs["recipe"].dropna().astype(str))) if "recipe" in refs.columns else []
    lines = [EQUAL_COMPUTE.format(steps="/".join(map(str, steps)) or "(unrecorded)"), "",
             *([f"Reference recipe: {'; '.join(recipes)}.", ""] if recipes else []),
             WHAT_EACH_NUMBER_IS, "",
             table(["name", *cols], ([r["name"]] + [num(r.get(c), "," if c in ("params", "madds") else ".4f")
                                                    for c in cols] for r in rows)), ""]
    if final is not None:
        for r in refs.to_dict("records"):
            lines.append(f"- final model vs {r['name']}: test accuracy {final['test_accuracy'] - r['test_accuracy']:+.4f}, "
                         f"latency {final['latency_ms'] - r['latency_ms']:+.4f} ms "
                         f"({final['latency_ms'] / r['latency_ms'] - 1:+.1%})")
        lines.append("")
    return lines
