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
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict

from probes.series import Family, Sample

if TYPE_CHECKING:
    import argparse

    from inventory.model import Ward


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


# A column of the technician's table: (result field, heading, unit: "", "s", "ratio", "B/s").
Column = tuple[str, str, str]


@dataclass(frozen=True)
class ProbeCli:
    """A kind's ``agent.py probe KIND`` subcommand: its help, its arguments, and how the
    parsed arguments become targets and config fields."""

    help: str
    add_arguments: Callable[[argparse.ArgumentParser], None]
    from_arguments: Callable[[argparse.Namespace], tuple[list[str], dict[str, Any]]]
    # --json prints a list (one object per target) rather than one object.
    json_list: bool = False
    # Config fields whose option is not named after them (``port`` from --resolver), so an
    # invalid value names the option the technician typed.
    options: Mapping[str, str] = field(default_factory=dict)

    def option_for(self, config_field: str, given: Iterable[str]) -> str:
        """The option ``config_field`` came from: ``options`` first, then the option of the
        same name among those ``given`` (argparse dests), ``_seconds`` left off
        (``timeout_seconds`` from --timeout); the field's own name when none matches."""
        if config_field in self.options:
            return self.options[config_field]
        dests = set(given)
        for dest in (config_field, config_field.removesuffix("_seconds")):
            if dest in dests:
                return "--" + dest.replace("_", "-")
        return config_field


@dataclass(frozen=True)
class ProbeKind:
    """Everything about one probe kind, declared once in its module and read by the agent,
    the technician's command line, the collector, the API description and provisioning."""

    name: str
    config_type: type[ProbeConfig]
    result_type: type[ProbeResult]
    run: Callable[[str, Any, float], Awaitable[ProbeResult]]
    # The metric families its series belong to, and its series from one result.
    families: tuple[Family, ...]
    series: Callable[[str, Any, Ward], list[Sample]]
    # A failed result of the kind's own type for ``(target, error)``: a config that
    # cannot be built, a probe that raised.
    failed: Callable[[str, str], ProbeResult]
    # How long one round may take with this config, sub-timeouts and retries included.
    budget_seconds: Callable[[Any], float]
    columns: Sequence[Column]
    cli: ProbeCli


def timeout_budget(config: ProbeConfig) -> float:
    """The budget of a kind whose probe takes one ``timeout_seconds`` at most."""
    return config.timeout_seconds + 1
