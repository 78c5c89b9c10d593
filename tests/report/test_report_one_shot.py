"""The search section of a one-shot run: the sampled paths' reward moving average and entropy (plot and
first/last figures), the late samples against the uniform baseline, the stand-alone children apart."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from report_helpers import make_run, trials_rows, write_csv
from test_report_build import assert_png, section

from experiments.report import build_report

SAMPLES = 400  # moving-average window 20


def one_shot_rows() -> list[dict]:
    rng = np.random.default_rng(0)
    return [{"index": i, "stage": "one_shot", "status": "ok", "arch": f"path-{i % 37}", "accuracy": 0.3,
             "latency_ms": 1.0, "reward": 0.1 + 0.001 * i + 0.01 * rng.normal(), "entropy": 6.0 - 0.01 * i}
            for i in range(SAMPLES)]


def uniform_rows(last: float, uniform: float) -> list[dict]:
    return [{"sample": kind, "arch": f"u{i}", "accuracy": 0.2, "quality": 0.3, "latency_ms": 1.5,
             "reward": value + 0.001 * (i % 3 - 1)} for kind, value in (("uniform", uniform), ("last", last))
            for i in range(100)]


def one_shot_run(root: Path, uniform: list[dict] | None) -> Path:
    run = make_run(root, references=False, netadapt=False, final=False, export=False, fidelity=False)
    standalone = [{**r, "stage": "standalone"} for r in trials_rows()]
    write_csv(run / "trials.csv", one_shot_rows() + standalone)
    if uniform is not None:
        write_csv(run / "one_shot_uniform.csv", uniform)
    return run


def test_one_shot_samples_get_a_learning_plot_and_the_uniform_comparison(tmp_path: Path) -> None:
    run = one_shot_run(tmp_path / "run", uniform_rows(last=0.45, uniform=0.30))
    text = section(build_report(run).read_text(), "## Search")
    assert_png(run / "plots" / "one_shot.png")
    assert "(plots/one_shot.png)" in text and "(plots/search.png)" in text
    assert f"{len(trials_rows())} children trained stand-alone recorded" in text
    assert f"{SAMPLES} paths sampled by the controller" in text and "(37 distinct)" in text
    assert "Moving average over 20 samples" in text
    first, last = np.mean([6.0 - 0.01 * i for i in range(20)]), np.mean([6.0 - 0.01 * i for i in range(380, 400)])
    assert f"entropy {first:.2f} -> {last:.2f} nats" in text
    recorded = np.mean([r["reward"] for r in one_shot_rows()[-100:]])
    assert f"| last 100 samples, as recorded during the search | 100 | {recorded:.4f} |" in text
    assert "| uniform paths, scored by the final supernet | 100 | 0.3000 |" in text
    assert "late choices **above** uniform ones" in text
    assert "`one_shot_uniform.csv`" in text
    finished = sum(r["status"] == "ok" for r in trials_rows())  # the Pareto plot leaves shared-weight scores out
    assert f"{finished} finished children" in section(build_report(run).read_text(), "## Accuracy vs latency")


def test_late_samples_below_uniform_are_said_so_and_a_missing_baseline_is_named(tmp_path: Path) -> None:
    below = section(build_report(one_shot_run(tmp_path / "a", uniform_rows(0.2, 0.3))).read_text(), "## Search")
    assert "late choices **not above** uniform ones" in below
    missing = section(build_report(one_shot_run(tmp_path / "b", None)).read_text(), "## Search")
    assert "No uniform baseline (`one_shot_uniform.csv` is missing)" in missing


def test_a_standalone_run_has_no_one_shot_part(tmp_path: Path) -> None:
    run = make_run(tmp_path / "run")
    assert "One-shot stage" not in build_report(run).read_text()
    assert not (run / "plots" / "one_shot.png").exists()


def test_a_one_shot_run_reports_its_top_k_supernet_scores_against_their_stand_alone_training(tmp_path: Path) -> None:
    from experiments.report.proxy_section import proxy_tau

    run = one_shot_run(tmp_path / "run", uniform_rows(0.45, 0.30))
    alone = [r for r in trials_rows() if r["status"] == "ok"][:4]
    supernet = [0.12, 0.10, 0.15, 0.11]
    write_csv(run / "one_shot_topk.csv", [{"rank": i + 1, "arch": r["arch"], "probability": 0.1,
                                           "supernet_accuracy": a, "images": 1024}
                                          for i, (r, a) in enumerate(zip(alone, supernet))])
    text = section(build_report(run).read_text(), "## Proxy fidelity")
    frame = pd.DataFrame({"proxy_accuracy": supernet, "long_accuracy": [r["accuracy"] for r in alone]})
    stats = proxy_tau(frame)
    assert "top 4 archs" in text and "1024 validation images" in text
    assert f"**{stats['value']:.2f} (95% bootstrap interval" in text and "4 archs)" in text
    assert text.count("| `") == 4 and "`one_shot_topk.csv`" in text
    assert "## Proxy fidelity" not in build_report(one_shot_run(tmp_path / "b", None)).read_text()
