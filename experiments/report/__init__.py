"""The run report: `build_report(run_dir)` writes `report.md` and `plots/*.png` from the files a run
directory holds (search trials, references, NetAdapt history, final model, export record)."""

from experiments.report.build import build_report

__all__ = ["build_report"]
