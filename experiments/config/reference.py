"""The config reference (docs/config.md) rendered from the schema itself, so the documentation of
every key, its type, bounds, default and meaning cannot drift from what `hwnas validate` enforces.

`python -m experiments.config.reference > docs/config.md` regenerates it; a test checks the file is
current.
"""

from __future__ import annotations

import json
import types
import typing
from typing import Any, Literal, Union

from pydantic import BaseModel
from pydantic_core import PydanticUndefined

from experiments.config.schema import Config

HEADER = """# Config reference

Every key of a run config (`experiments/configs/*.yaml`), generated from the schema in
`experiments/config/schema.py` by `python -m experiments.config.reference`. Unknown keys are rejected;
`hwnas validate CONFIG` reports every problem at once with its YAML path; any key can be set on the
command line as `dotted.key=value` (YAML-typed). `hwnas validate CONFIG --print` shows a config with
every default written out.
"""


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    args = typing.get_args(annotation) if typing.get_origin(annotation) in (Union, types.UnionType) else (annotation,)
    return [a for a in args if isinstance(a, type) and issubclass(a, BaseModel)]


def _type_name(annotation: Any) -> str:
    origin = typing.get_origin(annotation)
    if origin is Literal:
        return " \\| ".join(f"`{v}`" for v in typing.get_args(annotation))
    if origin in (Union, types.UnionType):
        return " or ".join(_type_name(a) for a in typing.get_args(annotation))
    if origin is list:
        return f"list of {_type_name(typing.get_args(annotation)[0])}"
    if annotation is type(None):
        return "null"
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return "section"
    return getattr(annotation, "__name__", str(annotation))


def _bounds(metadata: list[Any]) -> str:
    symbols = {"gt": ">", "ge": ">=", "lt": "<", "le": "<=", "pattern": "matches"}
    parts = []
    for item in metadata:
        for attr, symbol in symbols.items():
            value = getattr(item, attr, None)
            if value is not None:
                parts.append(f"{symbol} {value}")
    return ", ".join(parts)


def _default(field: Any) -> str:
    if field.default is PydanticUndefined:
        return "**required**"
    value = field.default.model_dump(mode="json") if isinstance(field.default, BaseModel) else field.default
    text = json.dumps(value, default=str)
    return f"`{text}`" if len(text) <= 40 else "(see section)"


def render(model: type[BaseModel] = Config, path: str = "") -> str:
    """Markdown: one table per section, nested sections after their parent."""
    title = f"## `{path}`" if path else "## top level"
    lines = [title, "", (model.__doc__ or "").strip().splitlines()[0] if model.__doc__ else "", "",
             "| key | type | bounds | default | meaning |", "|---|---|---|---|---|"]
    nested = []
    for name, field in model.model_fields.items():
        key = f"{path}.{name}" if path else name
        sub = _models_in(field.annotation)
        if sub:
            nested.append((sub[0], key))
        description = (field.description or "").replace("|", "\\|")
        lines.append(f"| `{key}` | {_type_name(field.annotation)} | {_bounds(field.metadata)} | {_default(field)} | "
                     f"{description} |")
    out = "\n".join(lines) + "\n"
    for sub_model, key in nested:
        out += "\n" + render(sub_model, key)
    return out


def document() -> str:
    return HEADER + "\n" + render()


if __name__ == "__main__":
    print(document(), end="")
