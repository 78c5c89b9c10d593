"""Checks the report applies to what it reads from a run directory (`RunDir`'s readers)."""

from __future__ import annotations

import pandas as pd

from experiments.rundir.run_dir import SourceError


def require_columns(frame: pd.DataFrame, rel: str, columns: tuple[str, ...]) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise SourceError(f"`{rel}` has no column(s) {', '.join(missing)} (it has: {', '.join(map(str, frame.columns))})")
