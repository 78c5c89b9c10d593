"""The one error class of the latency room: bad user input, missing entries, foreign tables."""

from __future__ import annotations


class LatencyError(ValueError):
    """A latency request that cannot be served; the message names the problem and the fix."""
