"""A one-shot search prices nearly every layer of its space, so its stage first times every layer the
table lacks in one quiet batch (`experiments.phases.one_shot.fill_space`): afterwards any arch of the
space is priced from the table alone, a second call times nothing, and a model that cannot fill (no
measurer, or not a table) is left alone."""

from __future__ import annotations

import numpy as np
from latency_helpers import FakeMeasurer

from experiments.phases.one_shot import fill_space
from latency.predict import MaddsLatency, TableLatency
from latency.table import LatencyTable
from search.space import SearchSpace

TINY_SPACE = {
    "stem": "stem_c16_hs",
    "head": "head_c96_h128_hs",
    "choices": {"kernel": [3, 5], "expand": [3, 6], "se": [False, True], "depth": [0, 1], "width": [0.75, 1.0]},
    "stages": [
        {"out": 16, "depth": 1, "stride": 2, "act": "re", "kernel": 3, "expand": 3, "se": False,
         "choices": {"width": [1.0]}},
        {"out": 32, "depth": 1, "stride": 2, "act": "hs", "kernel": 3, "expand": 3, "se": False},
    ],
}


def test_the_whole_space_is_timed_in_one_batch_before_the_search(tmp_path, device) -> None:
    space = SearchSpace.from_dict(TINY_SPACE)
    measurer = FakeMeasurer()
    model = TableLatency(LatencyTable.create(tmp_path / "t.json", device, 10, measurer.settings.to_dict()), 32,
                         measurer, calibrated=False)
    lines: list[str] = []
    fill_space(model, space, lines.append)
    timed = len(measurer.calls)
    assert timed == len(model.table) == len(space.layer_variants(32)), "every layer of the space, each once"
    assert sum(b["keys"] for b in model.table.metadata["batches"]) == timed  # the fill's chunks, saved as they end
    assert any(f"timing {timed} of the space's {timed} layers" in line for line in lines), lines
    rng = np.random.default_rng(0)
    for _ in range(50):  # every arch of the space now prices from the table alone
        assert not model.needs_timing(space.decode(space.sample(rng)))
    fill_space(model, space, lines.append)
    assert len(measurer.calls) == timed, "a complete table times nothing"


def test_models_that_cannot_fill_are_left_alone(tmp_path, device) -> None:
    space = SearchSpace.from_dict(TINY_SPACE)
    table = LatencyTable.create(tmp_path / "t.json", device, 10, FakeMeasurer().settings.to_dict())
    lines: list[str] = []
    fill_space(TableLatency(table, 32, None, calibrated=False), space, lines.append)
    fill_space(MaddsLatency(32, num_classes=10), space, lines.append)
    assert not lines and not len(table)
