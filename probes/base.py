"""The shared shape of every probe: one async signature and one result base.

A probe is ``async def probe(target: str, config: <Kind>Config, deadline: float) -> <Kind>Result``.
``deadline`` is an absolute ``time.monotonic()`` instant; a probe takes its own
sub-timeouts from what is left and never runs past it. A failed measurement is a
result with ``up=False`` and an ``error`` string; exceptions are kept for bugs.
Results are pydantic models, so the collector validates what agents push with
the very same types the probes produce.
"""

from __future__ import annotations

import math
import time
from typing import Any

from pydantic import BaseModel, ConfigDict


class ProbeConfig(BaseModel):
    """Options common to every probe kind."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    timeout_seconds: float = 5.0


class ProbeResult(BaseModel):
    """What every probe reports, whatever its kind."""

    # Strict on the way in (agents' pushes are validated against these types):
    # unknown fields, NaN and infinities are refused.
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    up: bool
    error: str | None = None
    duration_seconds: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


def remaining(deadline: float) -> float:
    """Seconds left until ``deadline`` (never negative)."""
    return max(0.0, deadline - time.monotonic())


def deadline_in(seconds: float) -> float:
    """The absolute deadline ``seconds`` from now."""
    return time.monotonic() + seconds


def finite_or_none(value: float | None) -> float | None:
    if value is None or not math.isfinite(value):
        return None
    return value
