"""The block search space: shipped YAMLs, decode/encode, strict parsing, LUT coverage."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from experiments.config.spaces import resolve_space, space_names
from models.counting import count_madds
from models.references import REFERENCES
from models.spec import IN_CHANNELS, ArchSpec, BlockSpec
from search.space import Decision, SearchSpace, SpaceError

SEEDS = {"mnv3-small": "mobilenetv3-small", "mnv3-large": "mobilenetv3-large"}


def arch_layers(arch: ArchSpec, resolution: int) -> set[tuple[int, int, object]]:
    sizes = arch.feature_sizes(resolution)
    layers = {(resolution, IN_CHANNELS, arch.stem)}
    layers.update((sizes[i], cin, b) for i, (cin, b) in enumerate(zip(arch.in_channels(), arch.blocks)))
    layers.add((sizes[-1], arch.blocks[-1].out, arch.head))
    return layers


def tiny_space() -> dict:
    return {
        "stem": "stem_c16_hs",
        "head": "head_c64_h128_hs",
        "choices": {"kernel": [3, 5], "expand": [3, 6], "se": [False], "depth": [0, 1], "width": [1.0, 1.5]},
        "stages": [
            {"out": 16, "depth": 1, "stride": 2, "act": "re", "kernel": 3, "expand": 1, "se": False,
             "choices": {"expand": [1, 3]}},
            {"out": 24, "depth": 1, "stride": 1, "act": "hs", "kernel": 5, "expand": 6, "se": False},
        ],
    }


def test_shipped_spaces_are_named() -> None:
    assert set(SEEDS) <= set(space_names())


@pytest.mark.parametrize("name", sorted(SEEDS))
def test_decisions_have_stable_names_and_size_is_their_product(name: str) -> None:
    space = resolve_space(name)
    names = [d.name for d in space.decisions]
    assert names[:5] == ["s1_kernel", "s1_expand", "s1_se", "s1_depth", "s1_width"]
    assert len(names) == 5 * len(space.stages) == len(set(names))
    assert space.decisions[0] == Decision("s1_kernel", (3, 5, 7))
    assert space.size() == math.prod(len(d.choices) for d in space.decisions)
    assert space.size() > 10**9


@pytest.mark.parametrize("name", sorted(SEEDS))
def test_seed_choices_reproduce_the_reference_frame(name: str) -> None:
    space = resolve_space(name)
    ref = REFERENCES[SEEDS[name]]
    arch = space.decode(space.seed_choices())
    assert arch.stem == ref.stem and arch.head == ref.head
    assert len(arch.blocks) == len(ref.blocks)
    for got, want in zip(arch.blocks, ref.blocks):
        assert (got.kernel, got.out, got.stride, got.se, got.act, got.residual) == \
            (want.kernel, want.out, want.stride, want.se, want.act, want.residual)
        assert abs(got.mid - want.mid) <= 0.5 * want.mid
    assert count_madds(arch) == pytest.approx(count_madds(ref), rel=0.05)


@pytest.mark.parametrize("name", sorted(SEEDS))
def test_encode_inverts_decode_and_decode_is_deterministic(name: str) -> None:
    space = resolve_space(name)
    rng = np.random.default_rng(7)
    for _ in range(300):
        choices = space.sample(rng)
        arch = space.decode(choices)
        assert space.encode(arch) == choices
        assert space.decode(list(choices)) == arch
        assert ArchSpec.from_str(arch.to_str()) == arch
    assert space.sample(np.random.default_rng(3)) == space.sample(np.random.default_rng(3))


def test_repeated_blocks_follow_the_mnasnet_convention() -> None:
    space = resolve_space("mnv3-small")
    values = {"s3_kernel": 7, "s3_expand": 4, "s3_se": False, "s3_depth": 1, "s3_width": 0.75}
    choices = space.seed_choices()
    for i, d in enumerate(space.decisions):
        if d.name in values:
            choices[i] = d.choices.index(values[d.name])
    blocks = space.decode(choices).blocks[3:7]  # s1 has 1 block, s2 has 2, s3 now 4
    assert blocks[0] == BlockSpec(7, 4 * 24, 32, 2, False, "hs", False)  # ratio of the input width 24
    assert set(blocks[1:]) == {BlockSpec(7, 4 * 32, 32, 1, False, "hs", True)}
    assert space.values(choices)["s3_width"] == 0.75


@pytest.mark.parametrize("name", sorted(SEEDS))
def test_layer_variants_cover_every_decoded_layer(name: str) -> None:
    space = resolve_space(name)
    variants = space.layer_variants(224)
    rng = np.random.default_rng(11)
    for _ in range(300):
        assert arch_layers(space.decode(space.sample(rng)), 224) <= variants


def test_layer_variants_are_exactly_the_reachable_layers() -> None:
    space = SearchSpace.from_dict(tiny_space())
    reachable: set = set()
    for choices in itertools.product(*(range(len(d.choices)) for d in space.decisions)):
        reachable |= arch_layers(space.decode(list(choices)), 96)
    assert space.layer_variants(96) == reachable


@pytest.mark.parametrize(("edit", "decision"), [
    (lambda b: b.__setitem__(4, BlockSpec(3, 240, 40, 1, True, "hs", True)), "s3_kernel"),
    (lambda b: b.__setitem__(5, BlockSpec(5, 200, 40, 1, True, "hs", True)), "s3_expand"),
    (lambda b: b.__setitem__(0, BlockSpec(3, 16, 8, 2, True, "re", False)), "s1_width"),
    (lambda b: b.extend([BlockSpec(5, 576, 96, 1, True, "hs", True)] * 2), "s5_depth"),
    (lambda b: b.__setitem__(1, BlockSpec(3, 72, 24, 2, False, "re", False)), "s2_expand"),
])
def test_encode_names_the_decision_that_rejects(edit, decision: str) -> None:
    space = resolve_space("mnv3-small")
    seed = space.decode(space.seed_choices())
    blocks = list(seed.blocks)
    edit(blocks)
    with pytest.raises(SpaceError, match=decision):
        space.encode(ArchSpec(seed.stem, tuple(blocks), seed.head))


def test_encode_rejects_a_foreign_head_and_too_few_blocks() -> None:
    space = resolve_space("mnv3-small")
    with pytest.raises(SpaceError, match="head"):
        space.encode(REFERENCES["mobilenetv3-large"])
    seed = space.decode(space.seed_choices())
    with pytest.raises(SpaceError, match="s5_depth"):
        space.encode(ArchSpec(seed.stem, seed.blocks[:8], seed.head))


def test_decode_rejects_bad_vectors_naming_the_decision() -> None:
    space = resolve_space("mnv3-small")
    with pytest.raises(SpaceError, match="25 entries"):
        space.decode([0] * 3)
    bad = space.seed_choices()
    bad[2] = 2
    with pytest.raises(SpaceError, match=r"s1_se: index 2 is out of range; choose 0..1"):
        space.decode(bad)


def test_parsing_reports_every_problem_with_key_value_and_fix() -> None:
    data = tiny_space()
    data["colour"] = "red"
    data["stages"][0]["kernal"] = 3
    data["stages"][1]["stride"] = 3
    data["stages"][1]["choices"] = {"kernel": [3, 9]}
    with pytest.raises(SpaceError) as info:
        SearchSpace.from_dict(data)
    message = str(info.value)
    assert "unknown keys ['colour']" in message
    assert "stages[0] (s1): unknown keys ['kernal']" in message
    assert "stages[1] (s2).stride: 3 is not allowed; use one of [1, 2]" in message
    assert "stages[1] (s2).choices.kernel: [9] not allowed; use kernels from [3, 5, 7]" in message


@pytest.mark.parametrize(("edit", "fragment"), [
    (lambda d: d["choices"].update(width=[0.75, 1.0]), "multipliers 0.75 and 1.0 both give 16 channels"),
    (lambda d: d["choices"].update(depth=[-1, 0]), "can empty the stage; use [0]"),
    (lambda d: d["stages"][1].update(act="re", out=16), "could not be told apart"),
    (lambda d: d["stages"][0].update(kernel=7), "seed value 7 is not among its choices [3, 5]"),
    (lambda d: d["stages"][0]["choices"].update(expand=[1, 1.1]), "ratios 1 and 1.1 both give mid 16"),
])
def test_parsing_rejects_spaces_where_two_vectors_decode_alike(edit, fragment: str) -> None:
    data = tiny_space()
    edit(data)
    with pytest.raises(SpaceError) as info:
        SearchSpace.from_dict(data)
    assert fragment in str(info.value)


def test_resolve_space_by_path_and_unknown_name(tmp_path) -> None:
    path = tmp_path / "tiny.yaml"
    path.write_text("stem: stem_c16_hs\nhead: head_c64_h128_hs\nstages:\n"
                    "  - {out: 40, depth: 2, stride: 2, act: re, kernel: 3, expand: 3, se: false}\n")
    assert len(resolve_space(path).decisions) == 5
    with pytest.raises(SpaceError, match="mnv3-large, mnv3-small"):
        resolve_space("mnv3-tiny")
    with pytest.raises(SpaceError, match="does not exist"):
        resolve_space(tmp_path / "missing.yaml")
    path.write_text("stem: [unclosed\n")
    with pytest.raises(SpaceError, match="not valid YAML"):
        resolve_space(path)
