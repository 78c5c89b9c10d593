"""NAS-Bench-201 as a tabular search space: six named decisions of five operations, looked up, not trained.

A NAS-Bench-201 cell (Dong & Yang, ICLR 2020) has four nodes; every edge j -> i (j < i) carries one
of `OPS`. The six decisions are named ``node<i>_from<j>`` in the order of the benchmark's arch
string ``|op~0|+|op~0|op~1|+|op~0|op~1|op~2|``. A choice vector holds one op index per decision.

`NasBench201Space` has the interface the search algorithms use (`decisions`, `decode`, `encode`,
`values`, `sample`, `size`); `decode` gives a `Cell` whose `code` (the choice vector read as a
base-5 number) indexes the arrays of `NasBench201Table`. The table is read from the two CSV files
of ``../shared/data/nasbench201/`` (or any tables with the same columns): `accuracy.csv` with
``index, cell, <dataset>_val, <dataset>_test, ...`` (top-1 %) and `latency_ms.csv` with ``index``
and one column per device (ms). A child's "training" is `table.accuracy(cell)`, its latency
`table.latency(cell, device)`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from search.space import Decision, SpaceError

OPS = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")
EDGES = ((1, 0), (2, 0), (2, 1), (3, 0), (3, 1), (3, 2))  # (to node, from node), in arch-string order
SPLITS = ("val", "test")


@dataclass(frozen=True)
class Cell:
    """One NAS-Bench-201 cell: the op on each edge, in `EDGES` order."""

    ops: tuple[str, ...]

    @property
    def code(self) -> int:
        """The choice vector as a base-5 number: a row position in `NasBench201Table`'s arrays."""
        code = 0
        for op in self.ops:
            code = code * len(OPS) + OPS.index(op)
        return code

    def to_str(self) -> str:
        """The benchmark's arch string, e.g. ``|nor_conv_3x3~0|+|none~0|skip_connect~1|+|...|``."""
        nodes, pos = [], 0
        for node in range(1, 4):
            nodes.append("|" + "|".join(f"{self.ops[pos + j]}~{j}" for j in range(node)) + "|")
            pos += node
        return "+".join(nodes)

    @classmethod
    def from_str(cls, text: str) -> Cell:
        nodes = text.split("+")
        if len(nodes) != 3:
            raise SpaceError(f"NAS-Bench-201 cell {text!r}: expected 3 nodes joined by '+', got {len(nodes)}")
        ops = []
        for node, part in enumerate(nodes, start=1):
            edges = [e for e in part.strip("|").split("|")]
            if len(edges) != node:
                raise SpaceError(f"NAS-Bench-201 cell {text!r}: node {node} needs {node} inputs, got {len(edges)}")
            for j, edge in enumerate(edges):
                op, _, source = edge.partition("~")
                if op not in OPS or source != str(j):
                    raise SpaceError(f"NAS-Bench-201 cell {text!r}: edge {edge!r} must be '<op>~{j}' with op one "
                                     f"of {', '.join(OPS)}")
                ops.append(op)
        return cls(tuple(ops))


class NasBench201Space:
    """The 5**6 = 15,625 cells as six decisions named ``node<i>_from<j>``."""

    def __init__(self) -> None:
        self.decisions = tuple(Decision(f"node{i}_from{j}", OPS) for i, j in EDGES)

    def size(self) -> int:
        return math.prod(len(d.choices) for d in self.decisions)

    def sample(self, rng: np.random.Generator) -> list[int]:
        """A uniformly random choice vector."""
        return [int(rng.integers(len(d.choices))) for d in self.decisions]

    def values(self, choices: Sequence[int]) -> dict[str, object]:
        """Decision name -> op name."""
        self._check(choices)
        return {d.name: d.choices[int(c)] for d, c in zip(self.decisions, choices)}

    def decode(self, choices: Sequence[int]) -> Cell:
        self._check(choices)
        return Cell(tuple(OPS[int(c)] for c in choices))

    def encode(self, cell: Cell) -> list[int]:
        return [OPS.index(op) for op in cell.ops]

    def _check(self, choices: Sequence[int]) -> None:
        if len(choices) != len(self.decisions):
            raise SpaceError(f"a NAS-Bench-201 choice vector needs {len(self.decisions)} entries, got {len(choices)}")
        for decision, c in zip(self.decisions, choices):
            if not (isinstance(c, (int, np.integer)) and 0 <= c < len(OPS)):
                raise SpaceError(f"{decision.name}: choice {c!r} must be an op index 0..{len(OPS) - 1} of {list(OPS)}")


class NasBench201Table:
    """Accuracies (fractions) and device latencies (ms) of every cell, as arrays indexed by `Cell.code`."""

    def __init__(self, accuracy: dict[str, np.ndarray], latency: dict[str, np.ndarray]) -> None:
        self.space = NasBench201Space()
        self._accuracy = accuracy
        self._latency = latency
        self.datasets = tuple(sorted({name.rsplit("_", 1)[0] for name in accuracy}))
        self.devices = tuple(latency)

    @classmethod
    def from_csv(cls, accuracy_csv: str | Path, latency_csv: str | Path) -> NasBench201Table:
        """Read the two tables; every cell must appear once in each, with the same `index`."""
        acc = pd.read_csv(accuracy_csv)
        lat = pd.read_csv(latency_csv)
        for name, frame, needed in (("accuracy", acc, {"index", "cell"}), ("latency", lat, {"index"})):
            missing = needed - set(frame.columns)
            if missing:
                raise SpaceError(f"{name} table lacks column(s) {sorted(missing)}; it has {list(frame.columns)}")
        size = len(OPS) ** len(EDGES)
        codes = np.array([Cell.from_str(text).code for text in acc["cell"]])
        if len(codes) != size or len(set(codes.tolist())) != size:
            raise SpaceError(f"accuracy table must list each of the {size} cells once; got {len(codes)} rows, "
                             f"{len(set(codes.tolist()))} distinct cells")
        position = pd.Series(np.arange(len(lat)), index=lat["index"])
        if not position.index.is_unique or set(position.index) != set(acc["index"]):
            raise SpaceError("the latency table's `index` column must hold the accuracy table's indices, once each")
        rows = position.loc[acc["index"]].to_numpy()
        order = np.empty(size, dtype=np.int64)
        order[codes] = np.arange(size)  # code -> accuracy-table row
        accuracy = {col: acc[col].to_numpy(dtype=float)[order] / 100.0
                    for col in acc.columns if col.rsplit("_", 1)[-1] in SPLITS}
        latency = {col: lat[col].to_numpy(dtype=float)[rows][order] for col in lat.columns if col != "index"}
        if not accuracy or not latency:
            raise SpaceError("the tables need at least one <dataset>_val/_test accuracy column and one device column")
        return cls(accuracy, latency)

    def column(self, dataset: str, split: str) -> np.ndarray:
        """Accuracy (fraction) of every cell by code, e.g. `column("cifar10", "val")`."""
        name = f"{dataset}_{split}"
        if name not in self._accuracy:
            raise SpaceError(f"no accuracy column {name!r}; datasets: {', '.join(self.datasets)}")
        return self._accuracy[name]

    def latencies(self, device: str) -> np.ndarray:
        """Latency (ms) of every cell by code on `device`."""
        if device not in self._latency:
            raise SpaceError(f"no latency column {device!r}; devices: {', '.join(self.devices)}")
        return self._latency[device]

    def accuracy(self, cell: Cell, dataset: str = "cifar10", split: str = "val") -> float:
        return float(self.column(dataset, split)[cell.code])

    def latency(self, cell: Cell, device: str) -> float:
        return float(self.latencies(device)[cell.code])
