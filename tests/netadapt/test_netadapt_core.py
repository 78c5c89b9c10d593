"""NetAdapt proposals, selection rules and the resumable loop, with deterministic stand-ins for
latency (analytic multiply-adds) and fine-tuning (a fixed function of the arch)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from models.counting import count_madds
from models.references import REFERENCES
from models.spec import ArchSpec
from netadapt.config import LoopConfig
from netadapt.history import history_frame, history_rows, trajectory_frame
from netadapt.loop import CONTROL, Job, NetAdaptLoop, iteration_seed
from netadapt.proposals import (
    generate,
    layers,
    narrowed,
    specs_to_price,
    with_group_width,
    with_mid,
)
from netadapt.selection import Measured, score, select, within_step

SMALL = REFERENCES["mobilenetv3-small"]
LARGE = REFERENCES["mobilenetv3-large"]


def madds_ms(spec: ArchSpec) -> float:
    """A stand-in latency: 1 ms per 10 M multiply-adds at 32x32 input."""
    return count_madds(spec, 32, 10) / 1e7


def fake_acc(arch: str) -> float:
    """Accuracy that falls with lost capacity, deterministic in the arch."""
    spec = ArchSpec.from_str(arch)
    return 0.5 + 0.4 * count_madds(spec, 32, 10) / count_madds(SMALL, 32, 10) - 0.001 * (len(arch) % 7)


def _candidate(kind: str, index: int, width: int) -> ArchSpec:
    if kind == "mid":
        return with_mid(SMALL, index, width)
    group = next(g for g in SMALL.residual_groups() if g.blocks[0] == index)
    return with_group_width(SMALL, group, width)


def test_proposals_cut_at_least_delta_with_the_largest_width() -> None:
    now = madds_ms(SMALL)
    delta = 0.01 * now
    proposals, skipped = generate(SMALL, madds_ms, delta)
    assert {p.kind for p in proposals} == {"mid", "group"}
    assert any(s.index == 0 and "no expansion" in s.reason for s in skipped)
    for p in proposals:
        assert p.latency_after <= now - delta
        assert p.width_after % 8 == 0 and p.width_after < p.width_before
        for wider in range(p.width_after + 8, p.width_before, 8):  # no wider width on the grid cuts delta
            candidate = _candidate(p.kind, p.index, wider)
            if candidate.expands() == SMALL.expands():  # (a width that drops an expansion conv is no candidate)
                assert madds_ms(candidate) > now - delta
        for group in p.spec.residual_groups():  # every intermediate spec keeps its groups equal
            assert all(p.spec.blocks[i].out == group.width for i in group.blocks)


def test_every_width_on_the_grid_is_priced() -> None:
    """Every multiple of the grid step below a layer's width that keeps its expansion conv is
    priced, and listed by specs_to_price before any pricing happens."""
    index = max(range(len(LARGE.blocks)), key=lambda i: LARGE.blocks[i].mid)  # a 960-wide expansion
    cin = LARGE.in_channels()[index]
    priced: list[int] = []

    def counting(spec: ArchSpec) -> float:
        priced.append(spec.blocks[index].mid)
        return madds_ms(spec)

    for step in (8, 16):
        priced.clear()
        delta = 0.05 * madds_ms(LARGE)
        found = next(p for p in generate(LARGE, counting, delta, step)[0] if p.kind == "mid" and p.index == index)
        grid = [w for w in range(step, LARGE.blocks[index].mid, step) if w != cin]
        assert sorted(set(priced) - {LARGE.blocks[index].mid}) == grid
        goal = madds_ms(LARGE) - delta
        assert found.width_after == max(w for w in grid if madds_ms(with_mid(LARGE, index, w)) <= goal)
        listed = {s.to_str() for s in specs_to_price(LARGE, step)}
        assert LARGE.to_str() in listed
        assert {with_mid(LARGE, index, w).to_str() for w in grid} <= listed


def test_group_proposal_on_the_stem_group_moves_the_stem_and_keeps_mid_eq_in() -> None:
    group = LARGE.residual_groups()[0]
    spec = with_group_width(LARGE, group, 8)
    assert spec.stem.out == 8 and spec.blocks[0].out == 8 and spec.blocks[0].mid == 8


def test_narrowed_moves_every_layer_to_the_grid_width_nearest_the_factor() -> None:
    assert narrowed(SMALL, 1.0) == SMALL
    cut = narrowed(SMALL, 0.75)
    assert cut.expands() == SMALL.expands() and cut.head == SMALL.head  # the structure and the head stay
    before, after = layers(SMALL)[0], {(l.kind, l.index): l.width for l in layers(cut)[0]}
    for layer in before:  # each width moved to within half a grid step of 0.75x (or stayed where that is nearer)
        width = after.get((layer.kind, layer.index), 8)
        assert abs(width - 0.75 * layer.width) <= 4 or width == layer.width, (layer, width)
    assert sum(b.mid for b in cut.blocks) < 0.8 * sum(b.mid for b in SMALL.blocks)
    assert madds_ms(narrowed(SMALL, 0.5)) < madds_ms(cut) < madds_ms(SMALL)
    with pytest.raises(ValueError, match="narrowing factor"):
        narrowed(SMALL, 1.5)


def test_selection_rules_pick_differently_on_hand_computed_values() -> None:
    # control 0.80. A: acc 0.78, saves 1.0 ms -> -0.02/ms. B: acc 0.79, saves 0.2 ms -> -0.05/ms.
    results = [Measured(0.78, 10.0, 9.0), Measured(0.79, 10.0, 9.8)]
    assert score("mobilenetv3", 0.80, results[0]) == pytest.approx(-0.02)
    assert score("mobilenetv3", 0.80, results[1]) == pytest.approx(-0.05)
    assert select("mobilenetv3", 0.80, results) == 0
    assert select("netadapt", 0.80, results) == 1
    with pytest.raises(ValueError, match="unknown selection rule"):
        select("greedy", 0.8, results)


def test_a_step_far_beyond_delta_competes_only_with_steps_as_coarse_as_itself() -> None:
    # delta 0.04 ms, control 0.44. A cuts 0.041 ms at 0.41 (-0.73/ms); B, a coarse grid's smallest step,
    # 0.085 ms (2.1x delta) at 0.40 (-0.47/ms: by the ratio alone the giant step wins); C 0.05 ms at 0.40 (-0.8/ms).
    results = [Measured(0.41, 0.60, 0.559), Measured(0.40, 0.60, 0.515), Measured(0.40, 0.60, 0.55)]
    cuts = [r.latency_before - r.latency_after for r in results]
    assert select("mobilenetv3", 0.44, results) == 1
    assert within_step(cuts, 0.04, 2.0) == [0, 2]
    assert [0, 2][select("mobilenetv3", 0.44, [results[0], results[2]])] == 0
    assert within_step([0.085, 0.09], 0.04, 2.0) == [0, 1]  # none within 0.08: those within 0.085 + 0.04
    assert within_step([0.2058, 0.1999, 0.3789], 0.0988, 2.0) == [0, 1]  # the searched seed's: <= 0.2987, not 3.84x
    assert within_step([0.09, 0.13], 0.04, 2.0) == [0, 1] and within_step([0.09, 0.131], 0.04, 2.0) == [0]
    assert within_step(cuts, 0.04, None) == [0, 1, 2]
    with pytest.raises(ValueError, match="max_step_ratio"):
        LoopConfig(target_ms=1.0, delta_ms=0.1, max_step_ratio=0.5)


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
    cfg = LoopConfig(target_ms=0.7 * seed_ms, delta_ms=0.01 * seed_ms, delta_decay=0.96, selection=rule, seed=3)
    return NetAdaptLoop(tmp, madds_ms, runner, lambda arch, weights: fake_acc(arch), cfg)


def test_loop_reaches_target_with_valid_steps(tmp_path: Path) -> None:
    jobs: list[Job] = []

    def recording(batch: list[Job]):
        jobs.extend(batch)
        return run_fake_jobs(batch)

    loop = make_loop(tmp_path, recording)
    state = loop.run(loop.start(SMALL, tmp_path / "seed.pt"))
    assert state.status == "met"
    assert state.current.latency_ms <= loop.config.target_ms
    history = history_frame(state)
    chosen = history[history.chosen]
    assert len(chosen) == state.iteration >= 2
    for _, row in history.iterrows():  # delta decays by 0.96 per iteration, and every proposal cuts it
        assert row.delta_ms == pytest.approx(0.01 * madds_ms(SMALL) * 0.96 ** row.iteration)
        assert row.latency_cut >= row.delta_ms - 1e-12
    for _, row in chosen.iterrows():
        ArchSpec.from_str(row.arch)  # valid: residual groups equal
    trajectory = trajectory_frame(state)
    assert list(trajectory.iteration) == [-1, *range(state.iteration)]
    assert trajectory.latency_ms.is_monotonic_decreasing
    assert Path(state.current.weights).exists()
    unchosen = history[~history.chosen]
    assert not any(Path(tmp_path / f"iter{r.iteration:03d}" / f"{r.kind}{r['index']}.pt").exists()
                   for _, r in unchosen.iterrows())
    assert not list(tmp_path.glob(f"iter*/{CONTROL}.pt"))
    # each iteration fine-tunes the control (the current net) and every proposal with one seed
    for it in state.iterations:
        batch = [j for j in jobs if j.iteration == it.iteration]
        assert {j.seed for j in batch} == {it.seed} == {iteration_seed(3, it.iteration)}
        assert [j.key for j in batch if j.arch == j.parent_arch] == [CONTROL]
        assert len(batch) == len(it.proposals) + 1


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
    assert len(calls) == len(set(calls)), "a finished fine-tune was recomputed"

    def timeless(s):
        return [{**dataclasses.asdict(r), "duration_s": None} for r in history_rows(s)]

    assert timeless(resumed) == timeless(expected)
    assert resumed.current.arch == expected.current.arch


def test_resume_refuses_other_settings(tmp_path: Path) -> None:
    loop = make_loop(tmp_path, run_fake_jobs)
    loop.start(SMALL, tmp_path / "seed.pt")
    with pytest.raises(ValueError, match="resume with the same settings"):
        make_loop(tmp_path, run_fake_jobs, rule="netadapt").resume()
    with pytest.raises(FileExistsError):
        loop.start(SMALL, tmp_path / "seed.pt")
