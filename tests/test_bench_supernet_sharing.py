"""benchmarks/supernet_sharing.py's training paths: a variant draws exactly the decisions it names, every
other decision stays all-on, `no-se` turns SE off, and a misspelt variant is refused by name."""

from __future__ import annotations

import numpy as np
import pytest
from benchmark_script import load_benchmark

from experiments.config.schema import load_config
from experiments.config.spaces import resolve_space
from search.supernet import largest_choices


def test_a_variant_draws_only_its_kinds_and_no_se_turns_se_off() -> None:
    script = load_benchmark("supernet_sharing")
    space = resolve_space(load_config(script.DEMO).space)
    big = largest_choices(space)
    kinds = [d.kind for d in space.decisions]
    for variant, drawn in (("largest", set()), ("expand", {"expand"}), ("kernel+depth", {"kernel", "depth"})):
        draw = script.path_rule(variant, space, np.random.default_rng(0))
        paths = np.array([draw() for _ in range(60)])
        varied = {k for k, column in zip(kinds, paths.T) if len(set(column)) > 1}
        assert varied == drawn, variant
        assert all(column[0] == b for k, b, column in zip(kinds, big, paths.T) if k not in drawn)
    no_se = script.path_rule("expand+no-se", space, np.random.default_rng(0))()
    assert all(not d.choices[c] for d, c in zip(space.decisions, no_se) if d.name.endswith("_se"))
    draw = script.path_rule("uniform", space, np.random.default_rng(1))
    uniform = np.array([draw() for _ in range(60)])
    assert all(len(set(column)) == len(d.choices) for d, column in zip(space.decisions, uniform.T))
    with pytest.raises(SystemExit, match="exapnd"):
        script.path_rule("exapnd", space, np.random.default_rng(0))
