"""What a push may hold, rule by rule: each test names the rule it protects, at its edge.

The validator is the collector's first line: a rule quietly loosened here lets a ward
store what no page, rule or restart can read. (Scored by ``python -m tools.mutate
collector/payload.py``; see docs/testing.md.)
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from collector.payload import (
    MAX_AGE_SECONDS,
    MAX_BATCH,
    MAX_FUTURE_SECONDS,
    PayloadError,
    Report,
    parse_batch,
)

NOW = 1_750_000_000.0


def report(**fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "id": uuid.uuid4().hex, "ward": "10001", "measured_at": NOW, "kind": "icmp",
        "target": "core",
        "result": {"up": True, "host": "core", "sent": 5, "received": 5, "loss_ratio": 0.0},
    }
    return {**base, **fields}


def snmp_report(interfaces: list[dict[str, Any]]) -> dict[str, Any]:
    return report(kind="snmp", target="sw1", result={
        "up": True, "target": "sw1", "version": "2c", "interfaces": interfaces})


def accepted(*reports: dict[str, Any], **batch: Any) -> bool:
    try:
        parse_batch({"reports": list(reports), **batch}, now=NOW)
    except PayloadError:
        return False
    return True


def reasons(*reports: dict[str, Any], **batch: Any) -> list[str]:
    with pytest.raises(PayloadError) as refused:
        parse_batch({"reports": list(reports), **batch}, now=NOW)
    assert str(refused.value) == "; ".join(refused.value.reasons)
    return refused.value.reasons


def test_a_plain_report_is_accepted() -> None:
    assert accepted(report())


@pytest.mark.parametrize("report_id,ok", [
    ("a" * 8, True), ("a" * 64, True), ("A-b_9" * 2, True),
    ("a" * 7, False), ("a" * 65, False), ("abcdefg!", False),
    ("!!abcdefgh", False), ("abcdefgh!!", False),
])
def test_report_ids_are_8_to_64_safe_characters_whole(report_id: str, ok: bool) -> None:
    assert accepted(report(id=report_id)) is ok


@pytest.mark.parametrize("ward,ok", [("10001", True), ("123456", False), ("x12345", False),
                                     ("1234a", False), ("1234", False)])
def test_ward_codes_are_five_digits_whole(ward: str, ok: bool) -> None:
    assert accepted(report(ward=ward)) is ok


@pytest.mark.parametrize("target,ok", [
    ("a", True), ("x" * 200, True), ("", False), ("x" * 201, False),
    ("\tcore", False), ("core\t", False), ("co\tre", False), ("co\nre", False),
])
def test_targets_are_label_values_without_control_characters(target: str, ok: bool) -> None:
    assert accepted(report(target=target)) is ok


def test_an_unknown_kind_is_refused_by_name_never_a_crash() -> None:
    for kind in ("nope", 5, None):
        assert any("kind must be one of" in r for r in reasons(report(kind=kind)))


def test_a_report_that_is_not_an_object_is_refused_never_a_crash() -> None:
    for odd in ([1, 2], "text", 5):
        assert reasons(odd)  # type: ignore[arg-type]


def test_unknown_fields_are_refused_on_the_report_the_batch_and_the_agent() -> None:
    assert any("extra" in r.lower() for r in reasons(report(colour="red")))
    assert not accepted(report(), colour="red")
    assert not accepted(report(), agent={"dropped_reports_total": 0, "colour": "red"})


@pytest.mark.parametrize("count,ok", [(0, True), (2**53, True), (-1, False), (2**53 + 1, False)])
def test_the_agents_counts_are_whole_and_bounded(count: int, ok: bool) -> None:
    assert accepted(report(), agent={"dropped_reports_total": count}) is ok
    assert accepted(report(), agent={"spooled_reports": count}) is ok


def test_a_batch_holds_one_to_max_batch_reports() -> None:
    assert not accepted()
    assert accepted(*(report() for _ in range(MAX_BATCH)))
    assert not accepted(*(report() for _ in range(MAX_BATCH + 1)))


def test_a_report_from_the_future_beyond_the_clock_allowance_is_refused() -> None:
    assert accepted(report(measured_at=NOW + MAX_FUTURE_SECONDS))
    assert any("in the future" in r
               for r in reasons(report(measured_at=NOW + MAX_FUTURE_SECONDS + 0.5)))


def test_a_report_older_than_thirty_days_is_refused() -> None:
    assert accepted(report(measured_at=NOW - MAX_AGE_SECONDS))
    assert any("older than 30 days" in r
               for r in reasons(report(measured_at=NOW - MAX_AGE_SECONDS - 0.5)))


def test_an_id_repeated_within_a_batch_is_refused() -> None:
    first = report()
    assert reasons(first, {**report(), "id": first["id"]}) == [
        "reports.1.id: repeated within the batch"]


@pytest.mark.parametrize("field,value", [("up", "yes"), ("up", 1), ("sent", "5"),
                                         ("loss_ratio", "0.5")])
def test_types_are_strict_in_the_result(field: str, value: Any) -> None:
    assert not accepted(report(result={**report()["result"], field: value}))


def test_types_are_strict_on_the_report_itself() -> None:
    assert not accepted(report(measured_at=str(NOW)))


def test_a_whole_number_written_with_a_point_still_counts_everywhere_it_is_nested() -> None:
    assert accepted(report(result={**report()["result"], "sent": 5.0, "received": 5.0}))
    assert accepted(snmp_report([{"index": 1.0, "name": "eth0", "oper_up": True,
                                  "in_bytes_total": 10.0}]))
    # The smallest integer a report may hold, written as a float, is still that integer.
    assert accepted(snmp_report([{"index": -(2.0**63), "name": "eth0", "oper_up": True}]))
    assert not accepted(snmp_report([{"index": 1.5, "name": "eth0", "oper_up": True}]))


def test_a_number_beyond_what_the_store_and_prometheus_hold_is_refused() -> None:
    huge = snmp_report([{"index": 1, "name": "eth0", "oper_up": True,
                         "in_bytes_total": 10**400}])
    assert any("integer outside" in r for r in reasons(huge))


def test_reasons_name_the_field_and_carry_no_documentation_links() -> None:
    found = reasons(report(ward="1"))
    assert found[0].startswith("reports.0.ward:")
    assert not any("pydantic" in r for r in found)


def test_an_accepted_report_cannot_be_changed_afterwards() -> None:
    batch = parse_batch({"reports": [report()]}, now=NOW)
    with pytest.raises(ValueError):
        batch.reports[0].ward = "99999"  # type: ignore[misc]
    with pytest.raises(ValueError):
        batch.reports = []  # type: ignore[misc]
    assert isinstance(batch.reports[0], Report)


def test_the_limits_agents_and_the_store_rely_on() -> None:
    # The agent sends at most 200 reports a batch; the store keeps report ids 35 days,
    # so a report older than 30 can never be stored twice; 5 minutes covers a ward PC's
    # clock that NTP has not yet corrected (the clock check pages at 1 s).
    assert (MAX_BATCH, MAX_FUTURE_SECONDS, MAX_AGE_SECONDS) == (1000, 300.0, 30 * 86400.0)


def test_the_agents_counts_default_to_zero_and_cannot_be_changed() -> None:
    batch = parse_batch({"reports": [report()], "agent": {}}, now=NOW)
    assert batch.agent is not None
    assert (batch.agent.dropped_reports_total, batch.agent.spooled_reports) == (0, 0)
    with pytest.raises(ValueError):
        batch.agent.dropped_reports_total = 5  # type: ignore[misc]


def test_without_a_clock_given_the_collectors_own_is_used() -> None:
    import time

    fresh = report(measured_at=time.time())
    assert parse_batch({"reports": [fresh]}).reports[0].id == fresh["id"]
    with pytest.raises(PayloadError):
        parse_batch({"reports": [report(measured_at=time.time() + 3600)]})
