"""User-facing errors of the experiments room, and the translation of pydantic's validation errors
into one line per problem: `<yaml.path>: got <value>; <what is allowed>`."""

from __future__ import annotations

import difflib
import types
import typing
from typing import Any

from pydantic import BaseModel, ValidationError


class ConfigError(ValueError):
    """A config that does not validate. Holds every problem, one line each, with its YAML path."""

    def __init__(self, source: str, problems: list[str]) -> None:
        self.source = source
        self.problems = problems
        count = f"{len(problems)} problem{'s' if len(problems) != 1 else ''}"
        super().__init__(f"config {source} has {count}:\n" + "\n".join(f"  {p}" for p in problems))


class ConfigIssue(ValueError):
    """Raised inside a section's validator to blame one of its keys (`key` is relative to it)."""

    def __init__(self, key: str, value: Any, message: str) -> None:
        self.key = key
        self.value = value
        self.message = message
        super().__init__(message)


class DataError(ValueError):
    """Missing, corrupt or inconsistent data; the message names the file and the fix."""


class RunDirError(ValueError):
    """A run directory that cannot be created or resumed as asked."""


def _submodel(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        for arg in typing.get_args(annotation):
            found = _submodel(arg)
            if found is not None:
                return found
    return None


def _model_at(root: type[BaseModel], loc: tuple[Any, ...]) -> type[BaseModel] | None:
    model: type[BaseModel] | None = root
    for part in loc:
        if model is None or not isinstance(part, str) or part not in model.model_fields:
            return None
        model = _submodel(model.model_fields[part].annotation)
    return model


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _path(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "<root>"


def format_pydantic_errors(err: ValidationError, root: type[BaseModel]) -> list[str]:
    """One line per error: path, offending value and what is allowed (with a did-you-mean for typos)."""
    lines = []
    for e in err.errors(include_url=False):
        loc = tuple(e["loc"])
        cause = (e.get("ctx") or {}).get("error")
        if isinstance(cause, ConfigIssue):
            lines.append(f"{_path(loc + (cause.key,))}: got {_show(cause.value)}; {cause.message}")
            continue
        kind = e["type"]
        if kind == "extra_forbidden":
            parent = _model_at(root, loc[:-1])
            allowed = sorted(parent.model_fields) if parent else []
            hint = difflib.get_close_matches(str(loc[-1]), allowed, n=1)
            line = f"{_path(loc)}: unknown key (value {_show(e['input'])}); allowed keys here: {', '.join(allowed)}"
            lines.append(line + (f"; did you mean {hint[0]!r}?" if hint else ""))
            continue
        if kind == "missing":
            parent = _model_at(root, loc[:-1])
            field = parent.model_fields.get(str(loc[-1])) if parent else None
            what = f" ({field.description})" if field is not None and field.description else ""
            lines.append(f"{_path(loc)}: missing; this key is required{what}")
            continue
        msg = e["msg"].removeprefix("Value error, ").replace("Input should be", "must be")
        parent = _model_at(root, loc[:-1])
        field = parent.model_fields.get(str(loc[-1])) if parent and loc else None
        if field is not None and field.description and kind != "value_error":
            msg += f" ({field.description})"
        lines.append(f"{_path(loc)}: got {_show(e['input'])}; {msg}")
    return lines
