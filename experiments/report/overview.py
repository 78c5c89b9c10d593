"""The report's opening: which run, made how, and which phases have outputs (done / not run)."""

from __future__ import annotations

from experiments.report.markdown import num, source, table
from experiments.rundir import layout
from experiments.rundir.run_dir import RunDir

PHASES = (
    ("search", (layout.TRIALS,)),
    ("references", (layout.REFERENCES,)),
    ("seed", (layout.SEED_METRICS,)),
    ("netadapt", (layout.RESULT,)),
    ("final training", (layout.FINAL_METRICS,)),
    ("export", (layout.FINAL_EXPORT,)),
)


def overview(run: RunDir) -> str:
    name = run.setting("name", default=run.root.name)
    manifest = run.json(layout.MANIFEST) or {}
    phases = run.json(layout.PHASES) or {}
    lines = [f"# Run report: {name}", ""]
    facts = [("run directory", f"`{run.root}`"), ("created", manifest.get("created", "-")),
             ("git", (manifest.get("git") or {}).get("commit") or "-"),
             ("device", (manifest.get("device") or {}).get("cpu_model") or "-"),
             ("data", f"{run.setting('data', 'kind', default='-')} at "
                      f"{run.setting('data', 'resolution', default='-')} px"),
             ("latency", f"{run.setting('latency', 'source', default='-')} / {run.setting('latency', 'backend', default='-')}, "
                         f"{run.setting('latency', 'threads', default='-')} thread(s)")]
    lines += [table(("", ""), facts), "", source(layout.CONFIG, layout.MANIFEST), "", "## Phases", ""]
    rows = []
    for phase, files in PHASES:
        present = all(run.has(f) for f in files)
        seconds = (phases.get(phase.split()[0]) or {}).get("seconds")
        rows.append((phase, "done" if present else "not run", num(seconds, ".0f"), ", ".join(f"`{f}`" for f in files)))
    lines += [table(("phase", "status", "seconds", "output"), rows), "",
              source(layout.PHASES, *(f for _, files in PHASES for f in files))]
    return "\n".join(lines)
