"""Named search spaces shipped with hwnas (`experiments/configs/spaces/*.yaml`) and their resolver."""

from __future__ import annotations

from pathlib import Path

from search.space import SearchSpace, SpaceError

SPACES_DIR = Path(__file__).resolve().parents[1] / "configs" / "spaces"


def space_names() -> tuple[str, ...]:
    """Names of the shipped spaces (the YAML file stems), sorted."""
    return tuple(sorted(p.stem for p in SPACES_DIR.glob("*.yaml")))


def resolve_space(name_or_path: str | Path) -> SearchSpace:
    """A shipped space by name (e.g. 'mnv3-small') or a path to a space YAML file."""
    text = str(name_or_path).strip()
    if text in space_names():
        return SearchSpace.from_yaml(SPACES_DIR / f"{text}.yaml")
    path = Path(text)
    if path.suffix in (".yaml", ".yml"):
        if not path.is_file():
            raise SpaceError(f"search space file {text!r} does not exist; or use a shipped space: "
                             f"{', '.join(space_names())}")
        return SearchSpace.from_yaml(path)
    raise SpaceError(f"unknown search space {text!r}; use one of {', '.join(space_names())} or a path to a "
                     f"space YAML file (see experiments/configs/spaces/mnv3-small.yaml)")
