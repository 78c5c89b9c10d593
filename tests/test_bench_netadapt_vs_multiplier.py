"""benchmarks/netadapt_vs_multiplier.py's retrain phase: each seed's NetAdapt arch trained from scratch with
the recipe, seed and steps its multiplier got, from a finished comparison's results.csv alone, kept and
read back rather than trained twice."""

from __future__ import annotations

import argparse
from pathlib import Path
from types import ModuleType

import pandas as pd
import pytest
from benchmark_script import load_benchmark

ROOT = Path(__file__).resolve().parents[1]
TINY = "stem_c8_hs-ir_k3_m16_c8_s2_re-head_c16_h32_hs"
TINIER = "stem_c8_hs-ir_k3_m8_c8_s2_re-head_c16_h32_hs"


@pytest.fixture()
def script(monkeypatch) -> ModuleType:
    module = load_benchmark("netadapt_vs_multiplier")
    data = (ROOT / module.DATA).resolve()
    if not (data / "cifar10.npz").is_file():
        pytest.skip(f"CIFAR-10 not found at {data} (../shared/data/cifar10, see its README)")
    monkeypatch.chdir(ROOT)  # the script's data path is relative to the repository root
    return module


def finished_comparison() -> pd.DataFrame:
    rows = [("netadapt", 0, TINY, 9, 0.5), ("multiplier", 0, TINIER, 3, 0.49),
            ("netadapt", 1, TINIER, 8, 0.4), ("multiplier", 1, TINY, 4, 0.41)]
    return pd.DataFrame([{"method": m, "seed": s, "width": 0.5 if m == "multiplier" else float("nan"), "arch": a,
                          "test_accuracy": 0.1, "test10k_accuracy": 0.1, "steps": n, "live_ms": ms}
                         for m, s, a, n, ms in rows])


def test_retrain_trains_netadapt_arch_with_the_multiplier_steps_and_reuses_it(script, tmp_path, monkeypatch) -> None:
    args = argparse.Namespace(out=tmp_path, seeds=2, netadapt_run=None, train_steps=8000, finetune_steps=200,
                              final_steps=4000, max_iterations=50, latency_resolution=224, cpus=2)
    frame = script.retrain_netadapt(finished_comparison(), args)
    retrained = frame[frame.method == "netadapt_retrained"].set_index("seed")
    assert list(retrained.index) == [0, 1]
    assert retrained.loc[0, "arch"] == TINY and retrained.loc[1, "arch"] == TINIER  # NetAdapt's archs
    assert retrained.loc[0, "steps"] == 3 and retrained.loc[1, "steps"] == 4  # the multipliers' steps, not NetAdapt's
    assert retrained.loc[0, "live_ms"] == 0.5  # NetAdapt's own live figure, timed beside the multiplier
    assert all(0.0 <= a <= 1.0 for a in retrained.test10k_accuracy)
    assert (tmp_path / "netadapt-retrained-s1" / "metrics.json").is_file()
    assert len(frame) == 6

    def no_training(*_args, **_kwargs):
        raise AssertionError("a finished retraining was trained again")

    monkeypatch.setattr(script, "train_arch", no_training)
    again = script.retrain_netadapt(frame, args)  # its own output as input: the retrained rows replaced, not doubled
    pd.testing.assert_frame_equal(again.reset_index(drop=True), frame.reset_index(drop=True))
