"""Strict settings dataclasses of the search room (policy, one-shot): one check and one dict reader.

Each settings class validates its fields in `__post_init__` with `check_settings`, naming every bad
field with its value and the rule, and is read from a config mapping with `settings_from_dict`,
which rejects unknown keys by name.
"""

from __future__ import annotations

from dataclasses import fields
from typing import Any, TypeVar

T = TypeVar("T")


def check_settings(what: str, settings: object, checks: dict[str, bool], rules: str) -> None:
    """Raise one ValueError naming every field whose check failed, with its value and `rules`."""
    bad = [f"{name}={getattr(settings, name)!r}" for name, ok in checks.items() if not ok]
    if bad:
        raise ValueError(f"invalid {what} settings {', '.join(bad)}: {rules}")


def settings_from_dict(cls: type[T], data: dict[str, Any], what: str) -> T:
    """`cls(**data)`, refusing keys that are not fields of the dataclass `cls`."""
    known = {f.name for f in fields(cls)}  # type: ignore[arg-type]
    unknown = sorted(set(data) - known)
    if unknown:
        raise ValueError(f"unknown {what} settings {unknown}; allowed: {', '.join(sorted(known))}")
    return cls(**data)
