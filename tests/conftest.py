"""Shared fixtures: a fixed batch of random valid architectures."""

from __future__ import annotations

import random

import pytest
from random_specs import random_arch

from models.spec import ArchSpec


@pytest.fixture
def random_archs() -> list[ArchSpec]:
    rng = random.Random(1234)
    return [random_arch(rng) for _ in range(20)]
