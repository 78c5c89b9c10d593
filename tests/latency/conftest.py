"""Fixtures of the latency tests (the helpers they build on live in latency_helpers.py)."""

from __future__ import annotations

import pytest
from latency_helpers import FAST, FakeMeasurer


@pytest.fixture
def fake_measurer() -> FakeMeasurer:
    return FakeMeasurer()


@pytest.fixture
def device() -> dict:
    return FAST.fingerprint()
