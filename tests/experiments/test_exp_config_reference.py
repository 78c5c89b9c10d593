"""docs/config.md is the rendering of the schema: regenerate it when a config field changes."""

from __future__ import annotations

from pathlib import Path

from experiments.config.reference import document

DOC = Path(__file__).resolve().parents[2] / "docs" / "config.md"


def test_config_reference_is_current() -> None:
    assert DOC.read_text() == document(), (
        "docs/config.md is stale: run `.venv/bin/python -m experiments.config.reference > docs/config.md`")


def test_reference_names_every_section_and_a_nested_key() -> None:
    text = document()
    for section in ("data", "train", "search", "search.reward", "netadapt", "latency", "ray", "export", "pipeline"):
        assert f"## `{section}`" in text
    assert "| `search.reward.w` | float | < 0 |" in text
