"""NAS-Bench-201 as a tabular space: cell strings, codes, table loading and its errors, ground-truth scoring."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from search.nasbench201 import OPS, Cell, NasBench201Space, NasBench201Table
from search.space import SpaceError
from search.tabular_score import GroundTruth

DATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "nasbench201"
SPACE = NasBench201Space()


def synthetic_tables(tmp_path: Path, shuffle: bool = True) -> tuple[Path, Path, pd.DataFrame]:
    """Every cell with made-up accuracies and latencies; the latency table in another row order."""
    cells = [Cell(ops) for ops in itertools.product(OPS, repeat=6)]
    rng = np.random.default_rng(0)
    acc = pd.DataFrame({"index": np.arange(len(cells)) + 100, "cell": [c.to_str() for c in cells],
                        "cifar10_val": rng.uniform(10, 90, len(cells)), "cifar10_test": rng.uniform(10, 90, len(cells))})
    lat = pd.DataFrame({"index": acc["index"], "phone": rng.uniform(1, 30, len(cells))})
    if shuffle:
        lat = lat.sample(frac=1.0, random_state=1)
    acc.sample(frac=1.0, random_state=2).to_csv(tmp_path / "acc.csv", index=False)
    lat.to_csv(tmp_path / "lat.csv", index=False)
    return tmp_path / "acc.csv", tmp_path / "lat.csv", acc.merge(lat, on="index")


def test_cell_strings_codes_and_choice_vectors_round_trip() -> None:
    text = "|nor_conv_3x3~0|+|none~0|skip_connect~1|+|avg_pool_3x3~0|nor_conv_1x1~1|nor_conv_3x3~2|"
    cell = Cell.from_str(text)
    assert cell.to_str() == text
    choices = SPACE.encode(cell)
    assert SPACE.decode(choices) == cell and choices == [3, 0, 1, 4, 2, 3]
    assert cell.code == int("".join(map(str, choices)), 5)
    assert SPACE.values(choices)["node2_from1"] == "skip_connect"
    assert [d.name for d in SPACE.decisions] == ["node1_from0", "node2_from0", "node2_from1", "node3_from0",
                                                 "node3_from1", "node3_from2"]
    assert SPACE.size() == 15625 and len({Cell(o).code for o in itertools.product(OPS, repeat=6)}) == 15625


@pytest.mark.parametrize(("text", "match"), [
    ("|conv~0|+|none~0|none~1|+|none~0|none~1|none~2|", "edge 'conv~0'"),
    ("|none~0|+|none~0|+|none~0|none~1|none~2|", "node 2 needs 2 inputs"),
    ("|none~1|+|none~0|none~1|+|none~0|none~1|none~2|", "must be '<op>~0'"),
])
def test_bad_cell_strings_name_the_problem(text: str, match: str) -> None:
    with pytest.raises(SpaceError, match=match):
        Cell.from_str(text)


def test_bad_choice_vectors_name_the_decision() -> None:
    with pytest.raises(SpaceError, match="node3_from2: choice 5"):
        SPACE.decode([0, 0, 0, 0, 0, 5])
    with pytest.raises(SpaceError, match="needs 6 entries"):
        SPACE.values([0, 0])


def test_tables_are_aligned_by_index_and_cell(tmp_path: Path) -> None:
    acc_csv, lat_csv, merged = synthetic_tables(tmp_path)
    table = NasBench201Table.from_csv(acc_csv, lat_csv)
    assert table.datasets == ("cifar10",) and table.devices == ("phone",)
    for row in merged.sample(20, random_state=3).itertuples():
        cell = Cell.from_str(row.cell)
        assert table.accuracy(cell) == pytest.approx(row.cifar10_val / 100)
        assert table.accuracy(cell, split="test") == pytest.approx(row.cifar10_test / 100)
        assert table.latency(cell, "phone") == pytest.approx(row.phone)
    with pytest.raises(SpaceError, match="no latency column 'gpu'; devices: phone"):
        table.latencies("gpu")


def test_broken_tables_are_rejected(tmp_path: Path) -> None:
    acc_csv, lat_csv, _ = synthetic_tables(tmp_path)
    acc = pd.read_csv(acc_csv)
    acc.iloc[:-1].to_csv(tmp_path / "short.csv", index=False)
    with pytest.raises(SpaceError, match="each of the 15625 cells once; got 15624 rows"):
        NasBench201Table.from_csv(tmp_path / "short.csv", lat_csv)
    lat = pd.read_csv(lat_csv)
    lat.assign(index=lat["index"] + 1).to_csv(tmp_path / "shifted.csv", index=False)
    with pytest.raises(SpaceError, match="latency table's `index`"):
        NasBench201Table.from_csv(acc_csv, tmp_path / "shifted.csv")
    acc.drop(columns="cell").to_csv(tmp_path / "nocell.csv", index=False)
    with pytest.raises(SpaceError, match=r"lacks column\(s\) \['cell'\]"):
        NasBench201Table.from_csv(tmp_path / "nocell.csv", lat_csv)


def test_ground_truth_regret_top1_and_hit(tmp_path: Path) -> None:
    table = NasBench201Table.from_csv(*synthetic_tables(tmp_path)[:2])
    truth = GroundTruth(table, "cifar10", "phone")
    val, lat = table.column("cifar10", "val"), table.latencies("phone")
    assert truth.target_ms == pytest.approx(np.median(lat))
    feasible = np.flatnonzero(lat <= truth.target_ms)
    best = int(feasible[np.argmax(val[feasible])])
    assert truth.score(best).regret_val == 0 and truth.score(best).top1 and truth.score(best).feasible
    ranked = feasible[np.argsort(-val[feasible])]
    top = int(np.ceil(0.01 * len(feasible)))
    assert truth.score(int(ranked[top - 1])).top1 and not truth.score(int(ranked[top])).top1
    slow = int(np.argmax(lat))
    assert not truth.score(slow).feasible and not truth.score(slow).top1 and not truth.score(slow).hit
    near = int(feasible[np.argmax(lat[feasible])])  # the slowest feasible cell: just under the target
    assert truth.score(near).hit
    assert truth.score(near).regret_val == pytest.approx(100 * (val[best] - val[near]))


@pytest.mark.skipif(not DATA.is_dir(), reason=f"NAS-Bench-201 tables not found at {DATA.resolve()} "
                    "(../shared/data/nasbench201 from the repository root)")
def test_the_shared_tables_load_with_every_dataset_and_device() -> None:
    table = NasBench201Table.from_csv(DATA / "accuracy.csv", DATA / "latency_ms.csv")
    assert table.datasets == ("cifar10", "cifar100", "imagenet16")
    assert set(table.devices) == {"raspi4", "fpga", "eyeriss", "gold_6226", "titan_rtx_1", "samsung_a50"}
    first = pd.read_csv(DATA / "accuracy.csv", nrows=2).iloc[1]
    cell = Cell.from_str(first["cell"])
    assert table.accuracy(cell) == pytest.approx(first["cifar10_val"] / 100)
    assert 0 < table.column("cifar10", "test").max() < 0.9  # the short-schedule table: best test 89.16
