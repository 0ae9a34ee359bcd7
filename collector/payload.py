"""What agents push: a batch of reports, each one probe result, validated strictly.

The result inside a report is checked against the very type the probe produced,
so the collector accepts exactly what probes can say and nothing else. A batch
is all or nothing: one bad report rejects the whole batch, with every reason.
"""

from __future__ import annotations

import time
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from probes import PROBES, report_bounds
from probes.base import ProbeResult

MAX_BATCH = 1000
MAX_FUTURE_SECONDS = 300.0
MAX_AGE_SECONDS = 30 * 86400.0


class Report(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, frozen=True)

    id: str = Field(pattern=r"^[A-Za-z0-9_-]{8,64}$")
    ward: str = Field(pattern=r"^[0-9]{5}$")
    measured_at: float = Field(gt=0)
    # One of PROBES: the validator below refuses any other before the field is read.
    kind: str
    # A target becomes a label value: printable, no control characters.
    target: str = Field(min_length=1, max_length=200, pattern=r"^[^\x00-\x1f\x7f]+$")
    result: ProbeResult

    @model_validator(mode="before")
    @classmethod
    def _result_of_its_kind(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        kind = data.get("kind")
        if not isinstance(kind, str) or kind not in PROBES:
            raise ValueError(f"kind must be one of {', '.join(sorted(PROBES))}, got {kind!r}")
        raw = data.get("result")
        if isinstance(raw, dict):
            # Strict: "up": "yes" or "1" is not a boolean, "5" is not a count.
            data = {**data,
                    "result": PROBES[kind].result_type.model_validate(raw, strict=True)}
        return data


class AgentStatus(BaseModel):
    """What the agent says about itself alongside its reports."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    dropped_reports_total: int = Field(default=0, ge=0, le=2**53)
    spooled_reports: int = Field(default=0, ge=0, le=2**53)


class ReportBatch(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    reports: list[Report] = Field(min_length=1, max_length=MAX_BATCH)
    agent: AgentStatus | None = None


def _json_integers(data: Any) -> Any:
    """``data`` with every integral float (``5.0``) as an int, as JSON Schema counts it.

    Validation is strict, so ``"up": "yes"`` or ``"sent": "5"`` is refused; but JSON has
    one number type, and a count written as ``5.0`` is still the count 5. (Depth is
    already bounded by ``report_bounds``.)"""
    if (isinstance(data, float) and data.is_integer()
            and report_bounds.MIN_INTEGER <= data <= report_bounds.MAX_INTEGER):
        return int(data)
    if isinstance(data, dict):
        return {key: _json_integers(value) for key, value in data.items()}
    if isinstance(data, list):
        return [_json_integers(value) for value in data]
    return data


class PayloadError(Exception):
    """Why a batch was refused, one reason per problem."""

    def __init__(self, reasons: list[str]):
        self.reasons = reasons
        super().__init__("; ".join(reasons))


def parse_batch(data: Any, now: float | None = None) -> ReportBatch:
    """The batch in ``data`` (parsed JSON), or ``PayloadError`` with every reason."""
    out_of_bounds = report_bounds.problems(data)
    if out_of_bounds:
        raise PayloadError(out_of_bounds)
    try:
        batch = ReportBatch.model_validate(_json_integers(data), strict=True)
    except ValidationError as exc:
        raise PayloadError([
            f"{'.'.join(str(p) for p in e['loc']) or 'body'}: {e['msg']}"
            for e in exc.errors(include_url=False)
        ]) from None
    now = time.time() if now is None else now
    reasons = []
    seen: set[str] = set()
    for index, report in enumerate(batch.reports):
        if report.measured_at > now + MAX_FUTURE_SECONDS:
            reasons.append(f"reports.{index}.measured_at: more than {MAX_FUTURE_SECONDS:.0f} s "
                           "in the future (check the agent's clock)")
        elif report.measured_at < now - MAX_AGE_SECONDS:
            reasons.append(f"reports.{index}.measured_at: older than "
                           f"{MAX_AGE_SECONDS / 86400:.0f} days")
        if report.id in seen:
            reasons.append(f"reports.{index}.id: repeated within the batch")
        seen.add(report.id)
    if reasons:
        raise PayloadError(reasons)
    return batch
