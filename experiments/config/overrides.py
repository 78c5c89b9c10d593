"""`key=value` command-line overrides: dotted YAML paths, values parsed as YAML scalars or lists.

    search.reward.w=-0.15     ->  {"search": {"reward": {"w": -0.15}}}
    ray.address=null          ->  {"ray": {"address": None}}
    export.formats=[onnx]     ->  {"export": {"formats": ["onnx"]}}
"""

from __future__ import annotations

import copy
import re
from typing import Any

import yaml

from experiments.config.errors import ConfigError

_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*")


def parse_override(text: str) -> tuple[list[str], Any]:
    """Split `a.b.c=value` into (["a", "b", "c"], yaml-typed value); raises ValueError naming the fix."""
    key, sep, raw = text.partition("=")
    key = key.strip()
    if not sep or not _KEY.fullmatch(key):
        raise ValueError(f"override {text!r} is not key=value with a dotted key (e.g. search.reward.w=-0.15)")
    try:
        value = yaml.safe_load(raw) if raw.strip() else ""
    except yaml.YAMLError as err:
        raise ValueError(f"override {text!r}: the value is not valid YAML ({err.__class__.__name__})") from None
    return key.split("."), value


def apply_overrides(data: dict[str, Any], overrides: list[str] | tuple[str, ...], source: str) -> dict[str, Any]:
    """A copy of `data` with every override applied; all malformed overrides are reported together."""
    result = copy.deepcopy(data)
    problems = []
    for text in overrides:
        try:
            keys, value = parse_override(text)
        except ValueError as err:
            problems.append(f"<override>: {err}")
            continue
        node = result
        for depth, key in enumerate(keys[:-1]):
            child = node.get(key)
            if child is None:
                child = node[key] = {}
            if not isinstance(child, dict):
                where = ".".join(keys[: depth + 1])
                problems.append(f"{where}: override {text!r} goes below {where}, which holds {child!r}, not a mapping")
                break
            node = child
        else:
            node[keys[-1]] = value
    if problems:
        raise ConfigError(source, problems)
    return result
