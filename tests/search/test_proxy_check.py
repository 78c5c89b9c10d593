"""`hwnas proxy-check`: random archs scored by the proxy and by longer training (real Ray tasks on the
embedded data), Kendall tau against scipy's, the CSV, plot and report section, resuming without
retraining, the one-shot supernet as the proxy, and bad flags refused with exit code 2."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import yaml
from scipy.stats import kendalltau
from search_job import tiny_config
from test_search_cli_resume import TINY_SPACE

from experiments.cli import main
from experiments.config.errors import ConfigError
from experiments.config.schema import Config, validate_config
from experiments.config.spaces import resolve_space
from experiments.data import DataBundle, load_data
from experiments.phases.proxy_check import (
    PROXY_COLUMNS,
    budgets,
    random_archs,
    run_proxy_check,
)
from experiments.phases.search import run_search
from experiments.ray_jobs.runtime import RayRuntime
from experiments.report import build_report
from experiments.rundir import layout
from experiments.rundir.run_dir import RunDir
from latency.fidelity import kendall_tau_interval
from latency.predict import MaddsLatency

LATENCY = MaddsLatency(32, num_classes=10)
ARCHS = 4


def check_config(tmp_path, **search) -> dict:
    """The search tests' tiny config on a two-stage space (fast trainings, many distinct archs)."""
    data = tiny_config(tmp_path)
    space = tmp_path / "tiny-space.yaml"
    space.write_text(yaml.safe_dump(TINY_SPACE))
    data["space"] = str(space)
    data["search"]["child_training"].update(steps=2, torch_threads=1)
    data["search"].update(search)
    return data


def fresh_check(tmp_path) -> tuple[Config, RunDir, DataBundle]:
    """The tiny config, a new run directory for it and its data."""
    cfg = validate_config(check_config(tmp_path))
    return cfg, RunDir.create(cfg), load_data(cfg.data, cfg.seed)


def same_tau(ours: float, theirs: float) -> bool:
    return (math.isnan(ours) and math.isnan(theirs)) or ours == pytest.approx(theirs, abs=1e-12)


def test_tau_and_its_interval_match_scipy_with_ties() -> None:
    rng = np.random.default_rng(0)
    a, b = rng.integers(0, 4, 15).astype(float), rng.normal(size=15)
    stats = kendall_tau_interval(a, b, resamples=300, seed=1)
    assert same_tau(stats["value"], kendalltau(a, b).statistic)
    lo, hi = stats["ci95"]
    assert -1 <= lo <= stats["value"] <= hi <= 1 and stats["n"] == 15
    assert kendall_tau_interval(a, b, resamples=300, seed=1) == stats  # seeded: the report reprints the same
    assert kendall_tau_interval(a, -a)["value"] == pytest.approx(-1.0)


def test_budgets_are_four_times_the_child_budget_unless_long_steps_is_given(tmp_path) -> None:
    cfg = validate_config(check_config(tmp_path))
    assert budgets(cfg.search.child_training, None) == ({"steps": 2, "epochs": None}, {"steps": 8, "epochs": None})
    assert budgets(cfg.search.child_training, 5)[1] == {"steps": 5, "epochs": None}
    by_epochs = cfg.search.child_training.model_copy(update={"steps": None, "epochs": 0.5})
    assert budgets(by_epochs, None) == ({"steps": None, "epochs": 0.5}, {"steps": None, "epochs": 2.0})


@pytest.mark.ray
def test_standalone_proxy_check_writes_csv_plot_and_report_and_resumes_without_retraining(tmp_path) -> None:
    cfg, run, data = fresh_check(tmp_path)
    lines: list[str] = []
    with RayRuntime(cfg.ray, log=lambda _: None, log_to_driver=False):
        result = run_proxy_check(cfg, run, data, LATENCY, archs=ARCHS, long_steps=6, log=lines.append)
        frame = pd.read_csv(run.path(layout.PROXY_CHECK))
        assert tuple(frame.columns) == PROXY_COLUMNS and "likelihood" not in result  # stand-alone: accuracy only
        assert len(frame) == ARCHS == frame.arch.nunique()
        assert set(frame.proxy_budget) == {"2 steps"} and set(frame.long_budget) == {"6 steps"}
        assert frame[["proxy_accuracy", "long_accuracy"]].stack().between(0, 1).all()
        assert same_tau(result["value"], kendalltau(frame.proxy_accuracy, frame.long_accuracy).statistic)
        assert math.isnan(result["value"]) or -1 <= result["value"] <= 1
        assert "8 to run" in lines[0]
        # one more arch: the seeded draw extends the first four, whose trainings are kept
        lines.clear()
        again = run_proxy_check(cfg, run, data, LATENCY, archs=ARCHS + 1, long_steps=6, log=lines.append)
    assert "8 trainings done before, 2 to run" in lines[0]
    assert list(again["rows"].arch[:ARCHS]) == list(frame.arch)
    assert list(again["rows"].long_accuracy[:ARCHS]) == pytest.approx(list(frame.long_accuracy))
    assert run.path(layout.PROXY_CHECK_PLOT).stat().st_size > 0
    report = build_report(run.root).read_text()
    assert "## Proxy fidelity" in report and "proxy_check.png" in report
    tau = again["value"]
    assert (f"**{tau:.2f} (95% bootstrap" if not math.isnan(tau) else "**n/a (95% bootstrap") in report


@pytest.mark.ray
def test_long_seeds_average_the_reference_and_print_its_own_repeatability(tmp_path) -> None:
    cfg, run, data = fresh_check(tmp_path)
    lines: list[str] = []
    with RayRuntime(cfg.ray, log=lambda _: None, log_to_driver=False):
        one = run_proxy_check(cfg, run, data, LATENCY, archs=3, long_steps=6, log=lambda _: None)
        assert "reference" not in one and not any(c.startswith("long_accuracy_seed") for c in one["rows"].columns)
        # a second seed: the first seed's trainings (and the proxy's) are kept, only seed 1's run
        two = run_proxy_check(cfg, run, data, LATENCY, archs=3, long_steps=6, long_seeds=2, log=lines.append)
    assert "6 steps x 2 seeds; 6 trainings done before, 3 to run" in lines[0]
    frame = pd.read_csv(run.path(layout.PROXY_CHECK))
    assert tuple(frame.columns) == (*PROXY_COLUMNS, "long_accuracy_seed0", "long_accuracy_seed1")
    assert list(frame.long_accuracy_seed0) == pytest.approx(list(one["rows"].long_accuracy))
    assert list(frame.long_accuracy) == pytest.approx(list((frame.long_accuracy_seed0 + frame.long_accuracy_seed1) / 2))
    keys = run.json(layout.PROXY_CHECK_STATE)["results"]
    assert sum(k.startswith("long|6 steps|seed 1|") for k in keys) == 3
    reference = two["reference"]
    assert same_tau(reference["value"], kendalltau(frame.long_accuracy_seed0, frame.long_accuracy_seed1).statistic)
    assert same_tau(two["value"], kendalltau(frame.proxy_accuracy, frame.long_accuracy).statistic)
    report = build_report(run.root).read_text()
    assert "The reference against itself (seed 0 vs seed 1)" in report


class Stopped(Exception):
    """Raised from the log line of a finished training: the check stops there, as a killed one does."""


@pytest.mark.slow  # 17 s; the resume of a whole check runs in make test
def test_a_check_stopped_after_two_trainings_holds_the_first_archs_pair(tmp_path) -> None:
    settings = check_config(tmp_path)
    settings["ray"]["max_concurrent_trials"] = 1
    cfg = validate_config(settings)
    run = RunDir.create(cfg)
    finished: list[str] = []

    def log(line: str) -> None:
        if line.startswith("proxy-check: ["):
            finished.append(line)
            if len(finished) == 2:
                raise Stopped

    with RayRuntime(cfg.ray, log=lambda _: None, log_to_driver=False), pytest.raises(Stopped):
        run_proxy_check(cfg, run, load_data(cfg.data, cfg.seed), LATENCY, archs=ARCHS, long_steps=6, log=log)
    space = resolve_space(cfg.space)
    first = space.decode(random_archs(space, ARCHS, cfg.seed)[0]).to_str()
    assert sorted(run.json(layout.PROXY_CHECK_STATE)["results"]) == [f"long|6 steps|seed 0|{first}",
                                                                      f"proxy|2 steps|seed 0|{first}"]


def test_the_report_leaves_proxy_fidelity_out_without_a_check(tmp_path) -> None:
    run = RunDir.create(validate_config(check_config(tmp_path)))
    assert "Proxy fidelity" not in build_report(run.root).read_text()


@pytest.mark.ray
@pytest.mark.slow
def test_one_shot_proxy_is_the_supernets_shared_weight_accuracy(tmp_path, monkeypatch) -> None:
    data_cfg = check_config(tmp_path, strategy="one_shot", one_shot={
        "steps": 6, "samples_per_step": 2, "batch_size": 16, "val_batch_size": 16, "top_k": 1,
        "uniform_samples": 10})
    data_cfg["data"]["val_size"] = 64
    cfg = validate_config(data_cfg)
    run = RunDir.create(cfg)
    data = load_data(cfg.data, cfg.seed)
    with pytest.raises(Exception, match="run `hwnas search`"):
        run_proxy_check(cfg, run, data, LATENCY, archs=2, log=lambda _: None)

    def no_tune(cfg, run, data, searcher, attempt) -> None:
        while searcher.suggest("t") not in (None, "FINISHED"):
            searcher.on_trial_complete("t", {"accuracy": 0.1})

    monkeypatch.setattr("experiments.phases.search.tune_children", no_tune)
    run_search(cfg, run, data, LATENCY, log=lambda _: None)
    uniform = pd.read_csv(run.path(layout.ONE_SHOT_UNIFORM))
    assert (uniform["sample"] == "uniform").sum() == 10 and (uniform["sample"] == "last").sum() == 2 * (6 - 2)
    with RayRuntime(cfg.ray, log=lambda _: None, log_to_driver=False):
        result = run_proxy_check(cfg, run, data, LATENCY, archs=3, long_steps=2, log=lambda _: None)
    rows = result["rows"]
    assert set(rows.proxy_budget) == {"one-shot supernet"} and len(rows) == 3
    # 64 validation images in batches of 16: each accuracy is a mean of 4 batch accuracies (multiples of 1/16)
    assert ((rows.proxy_accuracy * 64).round(6) % 1 == 0).all()
    assert rows.proxy_likelihood.between(0, 1).all() and rows.proxy_likelihood.nunique() == 3  # exp(-loss): not 0/1
    assert same_tau(result["likelihood"]["value"], kendalltau(rows.proxy_likelihood, rows.long_accuracy).statistic)
    assert "By the paths' shared-weight likelihood" in build_report(run.root).read_text()
    state = yaml.safe_load(run.path(layout.PROXY_CHECK_STATE).read_text())
    assert len(state["results"]) == 3 and all(k.startswith("long|") for k in state["results"])


@pytest.mark.parametrize("flags, message", [
    (["--archs", "1"], "argument --archs: expected a whole number >= 2, got 1"),
    (["--archs", "many"], "argument --archs: expected a whole number >= 2, got 'many'"),
    (["--long-steps", "0"], "argument --long-steps: expected a whole number >= 1, got 0"),
    (["--long-seeds", "0"], "argument --long-seeds: expected a whole number >= 1, got 0"),
])
def test_bad_flags_exit_2_with_what_is_allowed(tmp_path, capsys, flags, message) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(check_config(tmp_path)))
    with pytest.raises(SystemExit) as exit_:
        main(["proxy-check", str(path), *flags])
    assert exit_.value.code == 2 and message in capsys.readouterr().err


def test_a_config_without_a_search_section_exits_2(tmp_path, capsys) -> None:
    data = check_config(tmp_path)
    del data["search"]
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(data))
    assert main(["proxy-check", str(path)]) == 2
    assert "`hwnas proxy-check` needs a search section" in capsys.readouterr().err


def test_more_distinct_archs_than_the_space_holds_are_refused(tmp_path) -> None:
    space = resolve_space(validate_config(check_config(tmp_path)).space)
    assert len({space.decode(c).to_str() for c in random_archs(space, 6, 0)}) == 6
    assert random_archs(space, 6, 0)[:3] == random_archs(space, 3, 0)
    two = tmp_path / "two-archs.yaml"
    two.write_text(yaml.safe_dump({
        "stem": "stem_c16_hs", "head": "head_c96_h128_hs",
        "choices": {"kernel": [3, 5], "expand": [3], "se": [False], "depth": [0], "width": [1.0]},
        "stages": [{"out": 16, "depth": 1, "stride": 2, "act": "re", "kernel": 3, "expand": 3, "se": False}]}))
    with pytest.raises(ConfigError, match="--archs: got 3; the space has only 2 distinct archs"):
        random_archs(resolve_space(str(two)), 3, 0)
