"""Readable lookup-table keys derived from the spec, never from a module.

A key names everything that sets a piece's latency within one table:
``kind|in_size|in_channels|token`` for stems (``s``) and blocks (``b``), and
``h|in_size|in_channels|token|classes`` for heads, whose classifier width is part of the piece;
e.g. ``b|112|16|ir_k3_m16_c16_s2_se_re`` or ``h|7|96|head_c576_h1024_hs|10``. Kernel, stride, SE,
activation and widths live in the token. What is the same for every entry of a table (device,
threads, XNNPACK, dtype, runtime and converter versions) lives in its metadata and is checked
against the run (`latency.metadata.check_table`).
"""

from __future__ import annotations

from functools import lru_cache

from latency.errors import LatencyError
from latency.pieces import Piece
from models.spec import IN_CHANNELS, ArchSpec, BlockSpec, HeadSpec, SpecError, StemSpec

KEY_EXAMPLE = "b|112|16|ir_k3_m16_c16_s2_se_re"
HEAD_EXAMPLE = "h|7|96|head_c576_h1024_hs|10"
_PARSERS = {"s": StemSpec.from_str, "b": BlockSpec.from_str, "h": HeadSpec.from_str}


def piece_key(piece: Piece) -> str:
    key = f"{piece.kind}|{piece.in_size}|{piece.in_channels}|{_token(piece.spec)}"
    return f"{key}|{piece.classes}" if piece.kind == "h" else key


@lru_cache(maxsize=1 << 16)
def _token(spec: StemSpec | BlockSpec | HeadSpec) -> str:
    return spec.to_str()


def arch_keys(spec: ArchSpec, resolution: int, num_classes: int) -> list[str]:
    """One key per stem, block and head of `spec` at `resolution` with `num_classes` classes, in
    network order (the keys of `arch_pieces(spec, resolution, num_classes)`, built without the pieces)."""
    sizes = spec.feature_sizes(resolution)
    keys = [f"s|{resolution}|{IN_CHANNELS}|{_token(spec.stem)}"]
    keys += [f"b|{size}|{cin}|{_token(block)}" for size, cin, block in zip(sizes, spec.in_channels(), spec.blocks)]
    keys.append(f"h|{sizes[-1]}|{spec.blocks[-1].out}|{_token(spec.head)}|{num_classes}")
    return keys


def parse_key(key: str) -> Piece:
    """The piece a key names; a malformed key is a `LatencyError` showing a valid one."""
    parts = key.split("|") if isinstance(key, str) else []
    fields = 5 if parts[:1] == ["h"] else 4
    if len(parts) != fields or parts[0] not in _PARSERS or not all(p.isdigit() for p in parts[1:3] + parts[4:]):
        raise LatencyError(f"latency key {key!r} is malformed; expected kind|in_size|in_channels|token, kind s or b "
                           f"(e.g. {KEY_EXAMPLE!r}), or h|in_size|in_channels|token|classes (e.g. {HEAD_EXAMPLE!r})")
    try:
        spec = _PARSERS[parts[0]](parts[3])
    except SpecError as err:
        raise LatencyError(f"latency key {key!r}: {err}") from err
    return Piece(int(parts[1]), int(parts[2]), spec, int(parts[4]) if fields == 5 else 0)
