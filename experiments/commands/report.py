"""`hwnas report RUN_DIR`: rebuild a run directory's `report.md` and `plots/*.png` from its files."""

from __future__ import annotations

import argparse

from experiments.rundir import layout

EXAMPLES = """examples:
  hwnas report runs/demo
  hwnas report runs/my-search-run
"""


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("report", help="rebuild report.md and plots of a run directory",
                            description="Rebuild <RUN_DIR>/report.md and <RUN_DIR>/plots/*.png from the files the "
                            "run wrote (trials, references, NetAdapt history, final model, export). Phases that "
                            "did not run are listed as 'not run'.",
                            epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run_dir", metavar="RUN_DIR", help="a run directory made by `hwnas run`, e.g. runs/demo")
    parser.set_defaults(func=run_report)


def run_report(args: argparse.Namespace) -> int:
    from experiments.report import (
        build_report,  # matplotlib and pandas: only when a report is built
    )

    path = build_report(args.run_dir)
    folder = path.parent / layout.PLOTS_DIR
    plots = sorted(p.name for p in folder.glob("*.png"))
    print(f"wrote {path} and {len(plots)} plot(s) in {folder}: {', '.join(plots) or 'none'}")
    return 0
