"""NetAdapt's calibration around the seed it shrinks (`experiments.phases.netadapt.around_seed`):
fitted on the seed and its narrowings with their whole models timed in the rounds of their pieces,
kept in netadapt/calibration.json and reused, the table's own calibration left as it was; left alone
for a table already centred on the seed, an uncalibrated one and a state resumed without the file."""

from __future__ import annotations

import pytest
from latency_helpers import FakeLive, FakeMeasurer

import experiments.phases.netadapt as phase
from experiments.config.schema import validate_config
from experiments.rundir import layout
from experiments.rundir.run_dir import RunDir
from latency.calibration import Calibration
from latency.pieces import arch_pieces
from latency.predict import TableLatency
from latency.table import LatencyTable
from models.references import REFERENCES
from netadapt.proposals import narrowed

SEED = REFERENCES["mobilenetv3-small"]
CONFIG = {"name": "na", "seed": 0, "output_dir": "runs", "space": "mnv3-small",
          "data": {"kind": "embedded", "resolution": 32, "train_size": 64, "val_size": 32, "test_size": 32},
          "netadapt": {"target_ratio": 0.8, "channel_divisor": 8}, "latency": {"live_span_s": 0, "live_max_span_s": 0}}


def _whole_ms(spec) -> float:
    """A whole model: 1.3 x its pieces as FakeMeasurer times them (a ratio unlike the table's fit)."""
    return 1.3 * sum(0.01 * p.in_channels for p in arch_pieces(spec, 32, 10))


@pytest.fixture
def setting(tmp_path, device, monkeypatch):
    cfg = validate_config({**CONFIG, "output_dir": str(tmp_path / "runs")})
    run = RunDir.create(cfg)
    table = LatencyTable.create(tmp_path / "t.json", device, 10, FakeMeasurer().settings.to_dict())
    table.calibration["32"] = Calibration(0.9, 0.0, 5, 10.0, 8.0, ("elsewhere",), (1.0,)).to_dict()
    table.save()
    model = TableLatency(table, 32, FakeMeasurer())
    lives: list[FakeLive] = []

    def live(*args):
        lives.append(FakeLive(_whole_ms, log=[]))
        return lives[-1]

    monkeypatch.setattr(phase, "live_checker", live)
    return cfg, run, model, lives


def test_netadapt_prices_through_a_calibration_fitted_around_its_seed(setting) -> None:
    cfg, run, model, lives = setting
    model.calibration = Calibration(0.9, 0.0, 5, 10.0, 8.0, (SEED.to_str(), "random"), (1.0, 2.0))  # seed among others
    local = phase.around_seed(cfg, run, model, SEED, 10, resumed=False, log=lambda _: None)
    assert isinstance(local, TableLatency) and local.table is model.table
    assert local.calibration.archs[0] == SEED.to_str() and len(local.calibration.archs) == 1 + len(phase.AROUND_SEED)
    assert local.calibration.scale == pytest.approx(1.3, rel=0.05)  # the seed's own ratio, not the table's 0.9
    assert local(SEED) == pytest.approx(_whole_ms(SEED), rel=0.05)
    assert model.calibration.scale == 0.9 and model.table.calibration["32"]["archs"] == ["elsewhere"]
    assert not lives[0].timed_here  # whole models timed in the rounds of their pieces
    saved = run.read_json(layout.CALIBRATION)
    again = phase.around_seed(cfg, run, model, SEED, 10, resumed=True, log=lambda _: None)
    assert again.calibration == Calibration.from_dict(saved) and len(lives) == 1  # reused, nothing timed


def test_a_fit_around_the_seed_whose_slope_disagrees_with_the_tables_prices_with_a_scale_only(setting,
                                                                                            monkeypatch) -> None:
    cfg, run, model, _ = setting
    # whole models nearly flat in their pieces (noise on a busy machine): slope ~0.3 against the table's 0.9
    flat = FakeLive(lambda spec: 0.3 * _whole_ms(spec) / 1.3 + 0.5, log=[])
    monkeypatch.setattr(phase, "live_checker", lambda *args: flat)
    lines: list[str] = []
    local = phase.around_seed(cfg, run, model, SEED, 10, resumed=False, log=lines.append)
    specs = [SEED, *(narrowed(SEED, f) for f in phase.AROUND_SEED)]
    summed = [model.summed_ms(s) for s in specs]
    measured = [r.median_ms for r in flat.measure_many(specs)]
    # the level from these archs, no offset: sum(s/m) / sum((s/m)^2), by hand
    ratios = [s / m for s, m in zip(summed, measured)]
    assert local.calibration.offset_ms == 0.0
    assert local.calibration.scale == pytest.approx(sum(ratios) / sum(r * r for r in ratios))
    # cuts priced in proportion to the summed pieces, not at the affine fit's 0.3 x summed
    assert local(specs[1]) / local(SEED) == pytest.approx(summed[1] / summed[0])
    assert run.read_json(layout.CALIBRATION)["offset_ms"] == 0.0
    assert [line for line in lines if line.startswith("warning: netadapt: the affine fit around the seed (0.30")
            and "x0.33 of the table's own fit" in line and "scale only" in line]


def test_a_slope_agrees_within_2x_of_the_tables(setting) -> None:
    # the measured cases: a noisy host's fit (x0.36, disagrees), the demo's on the same host (x0.74), the bounds
    table = Calibration(0.9226, 0.0, 5, 21.4, 19.8)
    assert not phase.slope_agrees(Calibration(0.3307, 0.9252, 3, 29.4, 8.6), table)
    assert "x0.36" in phase.slope_warning(Calibration(0.3307, 0.9252, 3, 29.4, 8.6), table)
    assert phase.slope_agrees(Calibration(0.6852, 0.1615, 3, 31.1, 0.6), table)
    assert phase.slope_agrees(Calibration(1.3, 0.0, 3, 5.0, 1.0), Calibration(0.9, 0.0, 5, 10.0, 8.0))
    assert not phase.slope_agrees(Calibration(1.9, 0.0, 3, 5.0, 1.0), Calibration(0.9, 0.0, 5, 10.0, 8.0))


def test_netadapt_keeps_the_tables_model_where_it_already_fits(setting) -> None:
    cfg, run, model, lives = setting
    assert phase.around_seed(cfg, run, model, SEED, 10, resumed=True, log=lambda _: None) is model  # old state
    around = (SEED, *(narrowed(SEED, f) for f in phase.AROUND_SEED))
    fitted_here = model.with_calibration(Calibration(1.1, 0.0, 3, 5.0, 2.0, tuple(s.to_str() for s in around),
                                                     (1.0, 0.9, 0.8, 0.6)))
    assert phase.around_seed(cfg, run, fitted_here, SEED, 10, resumed=False, log=lambda _: None) is fitted_here
    uncalibrated = TableLatency(model.table, 32, FakeMeasurer(), calibrated=False)
    assert phase.around_seed(cfg, run, uncalibrated, SEED, 10, resumed=False, log=lambda _: None) is uncalibrated
    assert not lives and not run.has(layout.CALIBRATION)


def test_the_live_check_is_also_anchored_on_the_seeds_live_figures(setting) -> None:
    _, _, model, _ = setting
    centred = model.with_calibration(Calibration(1.02, 0.0, 3, 5.0, 2.0, (SEED.to_str(), "x"), (0.754, 0.6)))
    live = {"median_ms": 0.3902, "seed_median_ms": 0.5845}  # the machine 22% faster than at calibration
    anchored = phase._anchored(centred, SEED.to_str(), 0.5087, live)
    assert anchored["seed_live_at_calibration_ms"] == 0.754
    assert anchored["rel_error_anchored"] == pytest.approx(0.3902 * 0.754 / 0.5845 / 0.5087 - 1)  # -1.1%, raw -23%
    assert phase._anchored(model, SEED.to_str(), 0.5087, live) == {}  # the table's fit never timed this seed
