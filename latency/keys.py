"""Readable lookup-table keys derived from the spec, never from a module.

A key is ``kind|in_size|in_channels|token``: kind ``s`` (stem), ``b`` (block) or ``h`` (head), the
square input size and input channels the piece sees, and the piece's compact token, e.g.
``b|112|16|ir_k3_m16_c16_s2_se_re``. Kernel, stride, SE, activation and widths live in the token.
"""

from __future__ import annotations

from functools import lru_cache

from latency.errors import LatencyError
from latency.pieces import Piece
from models.spec import IN_CHANNELS, ArchSpec, BlockSpec, HeadSpec, SpecError, StemSpec

KEY_EXAMPLE = "b|112|16|ir_k3_m16_c16_s2_se_re"
_PARSERS = {"s": StemSpec.from_str, "b": BlockSpec.from_str, "h": HeadSpec.from_str}


def piece_key(piece: Piece) -> str:
    return f"{piece.kind}|{piece.in_size}|{piece.in_channels}|{_token(piece.spec)}"


@lru_cache(maxsize=1 << 16)
def _token(spec: StemSpec | BlockSpec | HeadSpec) -> str:
    return spec.to_str()


def arch_keys(spec: ArchSpec, resolution: int) -> list[str]:
    """One key per stem, block and head of `spec` at `resolution`, in network order (the same
    keys as `piece_key` of each of `arch_pieces(spec, resolution)`, built without the pieces)."""
    sizes = spec.feature_sizes(resolution)
    keys = [f"s|{resolution}|{IN_CHANNELS}|{_token(spec.stem)}"]
    keys += [f"b|{size}|{cin}|{_token(block)}" for size, cin, block in zip(sizes, spec.in_channels(), spec.blocks)]
    keys.append(f"h|{sizes[-1]}|{spec.blocks[-1].out}|{_token(spec.head)}")
    return keys


def parse_key(key: str) -> Piece:
    """The piece a key names; a malformed key is a `LatencyError` showing a valid one."""
    parts = key.split("|") if isinstance(key, str) else []
    if len(parts) != 4 or parts[0] not in _PARSERS or not parts[1].isdigit() or not parts[2].isdigit():
        raise LatencyError(f"latency key {key!r} is malformed; expected kind|in_size|in_channels|token, "
                           f"kind one of s, b, h (e.g. {KEY_EXAMPLE!r})")
    try:
        spec = _PARSERS[parts[0]](parts[3])
    except SpecError as err:
        raise LatencyError(f"latency key {key!r}: {err}") from err
    return Piece(int(parts[1]), int(parts[2]), spec)
