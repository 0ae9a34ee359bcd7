"""The agent's spool: what goes in comes out oldest first, bounded, and survives reopening."""

from __future__ import annotations

import time
import uuid
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ward_agent.spool import Spool


def report(measured_at: float | None = None, payload: str = "x") -> dict[str, Any]:
    return {"id": uuid.uuid4().hex, "measured_at": measured_at or time.time(),
            "kind": "icmp", "target": "t", "ward": "10001", "result": {"p": payload}}


def test_reports_come_out_oldest_first_and_leave_only_when_acknowledged(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "s.sqlite3", 1 << 20, 3600)
    reports = [report() for _ in range(5)]
    for r in reports:
        spool.put(r)
    batch = spool.oldest(3)
    assert [b.id for b in batch] == [r["id"] for r in reports[:3]]
    spool.acknowledge([batch[1].id])
    assert [b.id for b in spool.oldest(10)] == [reports[i]["id"] for i in (0, 2, 3, 4)]


def test_the_spool_survives_reopening(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite3"
    spool = Spool(path, 1 << 20, 3600)
    kept = [report() for _ in range(3)]
    for r in kept:
        spool.put(r)
    spool.close()
    assert [b.body for b in Spool(path, 1 << 20, 3600).oldest(10)] == kept


def test_when_full_the_oldest_are_dropped_and_counted(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "s.sqlite3", 64 * 1024, 3600)
    reports = [report(payload="y" * 1000) for _ in range(200)]
    for r in reports:
        spool.put(r)
    kept = spool.oldest(1000)
    assert spool.size_bytes() <= 64 * 1024
    assert spool.dropped == 200 - len(kept)
    # The newest are the ones kept, in order.
    assert [k.id for k in kept] == [r["id"] for r in reports[-len(kept):]]


def test_reports_older_than_the_age_bound_are_dropped_and_counted(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "s.sqlite3", 1 << 20, 60)
    spool.put(report(measured_at=time.time() - 3600))
    spool.put(report())
    assert len(spool) == 1
    assert spool.dropped == 1


@settings(max_examples=50, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.dictionaries(st.text(min_size=1, max_size=10),
                                st.one_of(st.integers(), st.floats(allow_nan=False,
                                                                   allow_infinity=False),
                                          st.text(max_size=50), st.booleans(), st.none()),
                                max_size=5),
                min_size=1, max_size=20))
def test_any_report_body_round_trips_through_the_spool(
    tmp_path: Path, results: list[dict[str, Any]]
) -> None:
    spool = Spool(tmp_path / f"{uuid.uuid4().hex}.sqlite3", 1 << 22, 86400)
    reports = [{**report(), "result": r} for r in results]
    for r in reports:
        spool.put(r)
    assert [b.body for b in spool.oldest(100)] == reports
    spool.close()


class FullDiskSpool(Spool):
    """A spool whose disk refuses every write, as a full file system does."""

    def _insert(self, report: dict[str, Any], body: str) -> None:
        import sqlite3

        raise sqlite3.OperationalError("database or disk is full")


def test_a_full_disk_keeps_reports_in_memory_until_delivered(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "s.sqlite3", 1 << 20, 3600)
    before = report()
    spool.put(before)
    spool.__class__ = FullDiskSpool  # the disk fills up while the agent runs
    during = [report() for _ in range(3)]
    for r in during:
        spool.put(r)  # never raises: probing goes on
    assert len(spool) == 4
    assert [b.id for b in spool.oldest(10)] == [before["id"], *(r["id"] for r in during)]
    spool.acknowledge([before["id"], during[0]["id"]])
    assert [b.id for b in spool.oldest(10)] == [r["id"] for r in during[1:]]
    assert spool.dropped == 0
