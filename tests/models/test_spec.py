"""ArchSpec forms, validation messages and residual groups."""

from __future__ import annotations

import dataclasses
import random

import pytest
from random_specs import random_arch

from models.references import REFERENCES, resolve_arch
from models.spec import ArchSpec, BlockSpec, SpecError, make_divisible

SMALL = REFERENCES["mobilenetv3-small"]
LARGE = REFERENCES["mobilenetv3-large"]


@pytest.mark.parametrize("name", sorted(REFERENCES))
def test_round_trips_on_references(name: str) -> None:
    spec = REFERENCES[name]
    assert ArchSpec.from_str(spec.to_str()) == spec
    assert ArchSpec.from_dict(spec.to_dict()) == spec
    assert ArchSpec.from_yaml(spec.to_yaml()) == spec


def test_round_trips_on_random_specs() -> None:
    rng = random.Random(7)
    for _ in range(200):
        spec = random_arch(rng)
        assert ArchSpec.from_str(spec.to_str()) == spec
        assert ArchSpec.from_dict(spec.to_dict()) == spec


def test_spec_is_immutable_and_hashable() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        SMALL.blocks[0].mid = 8  # type: ignore[misc]
    assert len({SMALL, LARGE, ArchSpec.from_str(SMALL.to_str())}) == 2


def test_compact_block_token() -> None:
    block = BlockSpec.from_str("ir_k5_m72_c40_s2_se_re")
    assert block == BlockSpec(kernel=5, mid=72, out=40, stride=2, se=True, act="re")
    assert BlockSpec.from_str("ir_k3_m88_c24_s1_re_res").residual


@pytest.mark.parametrize(
    "token, words",
    [
        ("ir_k4_m72_c40_s2_se_re", ["kernel 4", "[3, 5, 7]", "ir_k5_m72_c40_s2_se_re"]),
        ("ir_k5_m72_c40_s3_se_re", ["stride 3", "[1, 2]"]),
        ("ir_k5_m72_c40_s2_se_re_junk", ["'_junk'", "ir_k5_m72_c40_s2_se_re"]),
        ("ir_k5_m72_c40_s2_xx_re", ["unknown token 'xx'", "ir_k5_m72_c40_s2_se_re"]),
        ("ir_k5_m72_c40_s2_se_sw", ["unknown token 'sw'", "activation, one of ['re', 'hs']"]),
        ("ir_k5_m0_c40_s2_se_re", ["mid", "positive"]),
        ("conv_k3", ["unknown token 'conv'", "ir_k5_m72_c40_s2_se_re"]),
    ],
)
def test_malformed_block_tokens_name_the_problem(token: str, words: list[str]) -> None:
    with pytest.raises(SpecError) as err:
        BlockSpec.from_str(token)
    for word in words:
        assert word in str(err.value)


def test_malformed_arch_strings() -> None:
    with pytest.raises(SpecError, match="'stem_c16_hs_x'.*stem_c16_hs"):
        ArchSpec.from_str("stem_c16_hs_x-ir_k3_m16_c16_s2_re-head_c8_h8_hs")
    with pytest.raises(SpecError, match="stem, at least one block and a head"):
        ArchSpec.from_str("stem_c16_hs-head_c8_h8_hs")
    with pytest.raises(SpecError, match="unknown token|malformed"):
        ArchSpec.from_str("stem_c16_hs-ir_k3_m16_c16_s2_re-bogus-head_c8_h8_hs")
    with pytest.raises(SpecError, match="unknown keys \\['extra'\\]"):
        ArchSpec.from_dict({**SMALL.to_dict(), "extra": 1})


def test_residual_group_with_unequal_widths_is_rejected() -> None:
    # block 2 of V3-Small adds its input (24 wide) to its output: narrowing it alone breaks the add
    text = SMALL.to_str().replace("ir_k3_m88_c24_s1_re_res", "ir_k3_m88_c16_s1_re_res")
    with pytest.raises(SpecError) as err:
        ArchSpec.from_str(text)
    message = str(err.value)
    assert "block 2" in message and "24" in message and "16" in message and "residual" in message


def test_residual_needs_stride_one() -> None:
    with pytest.raises(SpecError, match="stride 1"):
        BlockSpec.from_str("ir_k3_m88_c24_s2_re_res")


def test_residual_groups_of_references() -> None:
    small = [(g.stem, g.blocks, g.width) for g in SMALL.residual_groups()]
    assert small == [(False, (0,), 16), (False, (1, 2), 24), (False, (3, 4, 5), 40), (False, (6, 7), 48),
                     (False, (8, 9, 10), 96)]
    large = [(g.stem, g.blocks, g.width) for g in LARGE.residual_groups()]
    assert large[0] == (True, (0,), 16)  # the first Large block adds the stem's output
    assert large[1:] == [(False, (1, 2), 24), (False, (3, 4, 5), 40), (False, (6, 7, 8, 9), 80),
                         (False, (10, 11), 112), (False, (12, 13, 14), 160)]


def test_make_divisible() -> None:
    assert make_divisible(12) == 16
    assert make_divisible(72 * 0.75) == 56
    assert make_divisible(240 / 4) == 64
    assert make_divisible(3) == 8
    assert make_divisible(81) == 80  # 80 >= 0.9 * 81


def test_resolve_arch_forms(tmp_path) -> None:
    path = tmp_path / "arch.yaml"
    path.write_text(SMALL.to_yaml())
    assert resolve_arch(str(path)) == SMALL
    assert resolve_arch(SMALL.to_str()) == SMALL
    assert resolve_arch("mobilenetv3-small") == SMALL
    with pytest.raises(SpecError, match="neither a reference name"):
        resolve_arch("mobilenetv3-tiny")
    with pytest.raises(SpecError, match="does not exist"):
        resolve_arch(str(tmp_path / "missing.yaml"))
    bad = tmp_path / "bad.yaml"
    bad.write_text("stem: stem_c16_hs\nblocks: [ir_k3_m16_c16_s2_re]\n")
    with pytest.raises(SpecError, match="missing keys \\['head'\\]"):
        resolve_arch(str(bad))
