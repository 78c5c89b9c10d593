"""NetAdapt proposals, selection rules and the resumable loop, with deterministic stand-ins for
latency (analytic multiply-adds) and fine-tuning (a fixed function of the arch)."""

from __future__ import annotations

from pathlib import Path

import pytest

from models.counting import count_madds
from models.references import REFERENCES
from models.spec import ArchSpec
from netadapt.history import history_frame, trajectory_frame
from netadapt.loop import Job, LoopConfig, NetAdaptLoop
from netadapt.proposals import generate, with_group_width, with_mid
from netadapt.selection import score, select

SMALL = REFERENCES["mobilenetv3-small"]
LARGE = REFERENCES["mobilenetv3-large"]


def madds_ms(spec: ArchSpec) -> float:
    """A stand-in latency: 1 ms per 10 M multiply-adds at 32x32 input."""
    return count_madds(spec, 32, 10) / 1e7


def fake_acc(arch: str) -> float:
    """Accuracy that falls with lost capacity, deterministic in the arch."""
    spec = ArchSpec.from_str(arch)
    return 0.5 + 0.4 * count_madds(spec, 32, 10) / count_madds(SMALL, 32, 10) - 0.001 * (len(arch) % 7)


def test_proposals_cut_at_least_delta_with_the_largest_width() -> None:
    now = madds_ms(SMALL)
    delta = 0.01 * now
    proposals, skipped = generate(SMALL, madds_ms, delta)
    assert {p.kind for p in proposals} == {"mid", "group"}
    assert any(s.index == 0 and "no expansion" in s.reason for s in skipped)
    for p in proposals:
        assert p.latency_after <= now - delta
        assert p.width_after % 8 == 0 and p.width_after < p.width_before
        # the next wider multiple of 8 would not have cut enough (or is the current width)
        wider = p.width_after + 8
        if wider < p.width_before:
            if p.kind == "mid":
                assert madds_ms(with_mid(SMALL, p.index, wider)) > now - delta
            else:
                group = next(g for g in SMALL.residual_groups() if g.blocks[0] == p.index)
                assert madds_ms(with_group_width(SMALL, group, wider)) > now - delta
        for group in p.spec.residual_groups():  # every intermediate spec keeps its groups equal
            assert all(p.spec.blocks[i].out == group.width for i in group.blocks)


def test_width_is_bisected_with_log_many_lookups() -> None:
    """A wide layer costs about log2(widths) look-ups (each may be a live measurement), and the width
    found is the one a scan of every width finds."""
    index = max(range(len(LARGE.blocks)), key=lambda i: LARGE.blocks[i].mid)  # a 960-wide expansion
    priced: list[int] = []

    def counting(spec: ArchSpec) -> float:
        priced.append(spec.blocks[index].mid)
        return madds_ms(spec)

    delta = 0.05 * madds_ms(LARGE)  # 960 -> 648: a scan from the top would price 40 widths
    found = next(p for p in generate(LARGE, counting, delta)[0] if p.kind == "mid" and p.index == index)
    scan = max(w for w in range(8, LARGE.blocks[index].mid, 8)
               if madds_ms(with_mid(LARGE, index, w)) <= madds_ms(LARGE) - delta)
    assert found.width_after == scan < LARGE.blocks[index].mid - 8
    widths = [w for w in priced if w != LARGE.blocks[index].mid]
    assert 3 <= len(widths) <= 8, widths  # of 119 candidate widths


def test_group_proposal_on_the_stem_group_moves_the_stem_and_keeps_mid_eq_in() -> None:
    group = LARGE.residual_groups()[0]
    spec = with_group_width(LARGE, group, 8)
    assert spec.stem.out == 8 and spec.blocks[0].out == 8 and spec.blocks[0].mid == 8


def test_selection_rules_pick_differently_on_hand_computed_values() -> None:
    # acc_before 0.80. A: acc 0.78, saves 1.0 ms -> -0.02/ms. B: acc 0.79, saves 0.2 ms -> -0.05/ms.
    results = [(0.78, 10.0, 9.0), (0.79, 10.0, 9.8)]
    assert score("mobilenetv3", 0.80, *results[0]) == pytest.approx(-0.02)
    assert score("mobilenetv3", 0.80, *results[1]) == pytest.approx(-0.05)
    assert select("mobilenetv3", 0.80, results) == 0
    assert select("netadapt", 0.80, results) == 1
    with pytest.raises(ValueError, match="unknown selection rule"):
        select("greedy", 0.8, results)


def run_fake_jobs(jobs: list[Job], fail_after: int | None = None, calls: list[str] | None = None):
    for n, job in enumerate(jobs):
        if fail_after is not None and n >= fail_after:
            raise KeyboardInterrupt("killed")
        Path(job.weights_out).parent.mkdir(parents=True, exist_ok=True)
        Path(job.weights_out).write_text(job.arch)
        if calls is not None:
            calls.append(f"{job.iteration}/{job.key}")
        yield job, fake_acc(job.arch)


def make_loop(tmp: Path, runner, rule: str = "mobilenetv3") -> NetAdaptLoop:
    seed_ms = madds_ms(SMALL)
    cfg = LoopConfig(target_ms=0.7 * seed_ms, delta_ms=0.01 * seed_ms, decay=0.96, rule=rule, seed=3)
    return NetAdaptLoop(tmp, madds_ms, runner, lambda arch, weights: fake_acc(arch), cfg)


def test_loop_reaches_target_with_valid_steps(tmp_path: Path) -> None:
    loop = make_loop(tmp_path, run_fake_jobs)
    state = loop.run(loop.start(SMALL, tmp_path / "seed.pt"))
    assert state["status"] == "met"
    assert state["current"]["latency_ms"] <= loop.config.target_ms
    history = history_frame(state)
    chosen = history[history.chosen]
    assert len(chosen) == state["iteration"] >= 2
    for _, row in chosen.iterrows():
        delta = loop.config.delta_ms * loop.config.decay ** row.iteration
        assert row.latency_before - row.latency_after >= delta - 1e-12
        ArchSpec.from_str(row.arch)  # valid: residual groups equal
    trajectory = trajectory_frame(state)
    assert list(trajectory.iteration) == [-1, *range(state["iteration"])]
    assert trajectory.latency_ms.is_monotonic_decreasing
    assert Path(state["current"]["weights"]).exists()
    unchosen = history[~history.chosen]
    assert not any(Path(tmp_path / f"iter{r.iteration:03d}" / f"{r.kind}{r['index']}.pt").exists()
                   for _, r in unchosen.iterrows())


def test_kill_mid_iteration_and_resume_matches_uninterrupted(tmp_path: Path) -> None:
    reference = make_loop(tmp_path / "ref", run_fake_jobs)
    expected = reference.run(reference.start(SMALL, tmp_path / "seed.pt"))

    calls: list[str] = []
    loop = make_loop(tmp_path / "run", lambda jobs: run_fake_jobs(jobs, None, calls))
    state = loop.start(SMALL, tmp_path / "seed.pt")
    killed = make_loop(tmp_path / "run", lambda jobs: run_fake_jobs(jobs, 3, calls))
    with pytest.raises(KeyboardInterrupt):
        killed.run(state)
    finished = list(calls)
    assert len(finished) == 3
    resumed = loop.run(loop.resume())
    assert len(calls) == len(set(calls)), "a finished proposal was recomputed"
    assert resumed["history"] == [
        {**row, "duration_s": got["duration_s"]} for row, got in zip(expected["history"], resumed["history"])
    ]
    assert resumed["current"]["arch"] == expected["current"]["arch"]


def test_resume_refuses_other_settings(tmp_path: Path) -> None:
    loop = make_loop(tmp_path, run_fake_jobs)
    loop.start(SMALL, tmp_path / "seed.pt")
    with pytest.raises(ValueError, match="resume with the same settings"):
        make_loop(tmp_path, run_fake_jobs, rule="netadapt").resume()
    with pytest.raises(FileExistsError):
        loop.start(SMALL, tmp_path / "seed.pt")
