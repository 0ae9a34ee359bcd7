"""The agent's spool: what goes in comes out oldest first, bounded, and survives reopening."""

from __future__ import annotations

import json
import logging
import sqlite3
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ward_agent.spool import MEMORY_LIMIT, Spool


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


def same_size_reports(count: int) -> list[dict[str, Any]]:
    """Reports whose stored bodies are all of one size: same fields, same lengths."""
    now = float(int(time.time()))
    return [report(measured_at=now, payload="z" * 500) for _ in range(count)]


def stored_size(r: dict[str, Any], tmp_path: Path) -> int:
    spool = Spool(tmp_path / "measure.sqlite3", 1 << 20, 3600)
    spool.put(r)
    return spool.size_bytes()


def test_over_its_byte_limit_the_spool_keeps_exactly_the_newest_reports_that_fit(
    tmp_path: Path,
) -> None:
    reports = same_size_reports(25)
    size = stored_size(reports[0], tmp_path)
    # Room for exactly ten: a spool that is exactly full drops nothing more.
    spool = Spool(tmp_path / "s.sqlite3", 10 * size, 3600)
    for r in reports:
        spool.put(r)
    assert [k.id for k in spool.oldest(100)] == [r["id"] for r in reports[-10:]]
    assert spool.size_bytes() == 10 * size
    assert spool.dropped == 15


def test_on_a_full_disk_memory_holds_at_most_its_cap_and_drops_the_oldest(
    tmp_path: Path,
) -> None:
    spool = FullDiskSpool(tmp_path / "s.sqlite3", 1 << 20, 3600)
    reports = [report() for _ in range(MEMORY_LIMIT + 5)]
    for r in reports:
        spool.put(r)
    assert len(spool) == MEMORY_LIMIT
    assert spool.dropped == 5
    assert [b.id for b in spool.oldest(3)] == [r["id"] for r in reports[5:8]]


def test_a_full_disk_is_logged_once_not_for_every_report(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    spool = FullDiskSpool(tmp_path / "s.sqlite3", 1 << 20, 3600)
    with caplog.at_level(logging.ERROR, logger="sansang.agent.spool"):
        for _ in range(3):
            spool.put(report())
    assert [r.name for r in caplog.records] == ["sansang.agent.spool"]
    assert "keeping reports in memory" in caplog.records[0].getMessage()


def test_oldest_never_returns_more_than_its_limit(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "s.sqlite3", 1 << 20, 3600)
    on_disk = [report() for _ in range(3)]
    for r in on_disk:
        spool.put(r)
    spool.__class__ = FullDiskSpool
    in_memory = [report() for _ in range(3)]
    for r in in_memory:
        spool.put(r)
    ids = [r["id"] for r in on_disk + in_memory]
    for limit in range(8):
        assert [b.id for b in spool.oldest(limit)] == ids[:limit]


def test_a_report_dropped_on_its_way_and_then_delivered_is_not_counted_as_dropped(
    tmp_path: Path,
) -> None:
    reports = same_size_reports(9)
    size = stored_size(reports[0], tmp_path)
    spool = Spool(tmp_path / "s.sqlite3", 4 * size, 3600)
    for r in reports[:6]:
        spool.put(r)  # two dropped for good
    in_flight = spool.oldest(4)  # the pusher sends these ...
    for r in reports[6:]:
        spool.put(r)  # ... while the bounds drop three of them
    assert spool.dropped == 5
    # The collector acknowledges all four: three were dropped, one is still spooled.
    spool.acknowledge([b.id for b in in_flight])
    assert spool.dropped == 2
    assert [b.id for b in spool.oldest(10)] == [r["id"] for r in reports[6:]]


def test_a_report_dropped_on_its_way_and_not_delivered_stays_counted(tmp_path: Path) -> None:
    reports = same_size_reports(4)
    size = stored_size(reports[0], tmp_path)
    spool = Spool(tmp_path / "s.sqlite3", 2 * size, 3600)
    spool.put(reports[0])
    in_flight = spool.oldest(1)
    for r in reports[1:3]:
        spool.put(r)
    assert spool.dropped == 1
    spool.acknowledge([b.id for b in in_flight], delivered=False)
    assert spool.dropped == 1


def test_acknowledging_reports_held_in_memory_leaves_the_dropped_count_alone(
    tmp_path: Path,
) -> None:
    reports = same_size_reports(3)
    size = stored_size(reports[0], tmp_path)
    spool = Spool(tmp_path / "s.sqlite3", 2 * size, 3600)
    for r in reports:
        spool.put(r)
    assert spool.dropped == 1
    spool.__class__ = FullDiskSpool
    held = report()
    spool.put(held)
    spool.acknowledge([held["id"]])
    assert spool.dropped == 1
    assert len(spool) == 2


def test_reports_held_in_memory_are_delivered_while_the_disk_stays_locked(
    tmp_path: Path,
) -> None:
    path = tmp_path / "s.sqlite3"
    spool = Spool(path, 1 << 20, 3600)
    spool.__class__ = FullDiskSpool
    held = [report() for _ in range(2)]
    for r in held:
        spool.put(r)
    # Another writer holds the database: acknowledging what only memory holds must not
    # wait for it, nor fail.
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        spool.acknowledge([r["id"] for r in held])
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert len(spool) == 0
    spool.close()


class FailingDiskSpool(Spool):
    """A spool whose disk fails once in the middle of a write, after the row went in."""

    failures = 1

    def _enforce_bounds(self) -> None:
        if self.failures:
            self.failures -= 1
            raise sqlite3.OperationalError("disk I/O error")
        super()._enforce_bounds()


def test_a_write_that_fails_halfway_is_undone_and_the_next_one_reaches_the_disk(
    tmp_path: Path,
) -> None:
    path = tmp_path / "s.sqlite3"
    spool = FailingDiskSpool(path, 1 << 20, 3600)
    failed, after = report(), report()
    spool.put(failed)  # kept in memory, not half on disk
    spool.put(after)
    spool.close()
    assert [b.id for b in Spool(path, 1 << 20, 3600).oldest(10)] == [after["id"]]


def test_the_spool_creates_its_folder(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "var" / "lib" / "sansang" / "s.sqlite3", 1 << 20, 3600)
    spool.put(report())
    assert len(spool) == 1


def test_the_spool_is_write_ahead_logged_synced_in_full_and_whole_once_closed(
    tmp_path: Path,
) -> None:
    path = tmp_path / "s.sqlite3"
    spool = Spool(path, 1 << 20, 3600)
    spool.put(report())
    other = sqlite3.connect(path)
    assert other.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    other.close()
    # synchronous is a setting of the connection, so it is read from the spool's own.
    assert spool._db.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    assert path.with_name("s.sqlite3-wal").exists()
    spool.close()
    # Closed, the database is one file again: it can be copied or moved as it is.
    assert not path.with_name("s.sqlite3-wal").exists()


def test_the_spool_syncs_in_full_where_sqlite_would_sync_less(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Some SQLite builds default to synchronous=NORMAL, which can lose the last reports
    # written before a power cut; the spool must not inherit that.
    connect = sqlite3.connect

    def normal_by_default(*args: Any, **kwargs: Any) -> sqlite3.Connection:
        db = connect(*args, **kwargs)
        db.execute("PRAGMA synchronous=NORMAL")
        return db

    monkeypatch.setattr(sqlite3, "connect", normal_by_default)
    spool = Spool(tmp_path / "s.sqlite3", 1 << 20, 3600)
    assert spool._db.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    spool.close()


@settings(max_examples=100, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(bodies=st.lists(st.binary(max_size=40) | st.text(max_size=40)
                       | st.sampled_from(["[]", "1", "null", "[" * 5000, '{"id": "x"}']),
                       min_size=1, max_size=5))
def test_any_damaged_row_is_set_aside_counted_and_never_stops_the_pusher(
        tmp_path_factory: pytest.TempPathFactory, bodies: list[Any]) -> None:
    path = tmp_path_factory.mktemp("spool") / "spool.sqlite3"
    spool = Spool(path, 1 << 20, 3600)
    good = report()
    spool.put(good)
    db = sqlite3.connect(path)
    for index, body in enumerate(bodies):
        db.execute("INSERT INTO spool (id, measured_at, body, size) VALUES (?, ?, ?, ?)",
                   (f"damaged-{index}", time.time(), body, 10))
    db.commit()
    db.close()
    readable = [r.id for r in spool.oldest(100)]
    damaged = sum(1 for b in bodies if not _is_json_object(b))
    assert readable[0] == good["id"] and len(readable) == 1 + len(bodies) - damaged
    assert spool.dropped == damaged and len(spool) == len(readable)
    spool.close()


def _is_json_object(body: Any) -> bool:
    try:
        return isinstance(json.loads(body), dict)
    except (ValueError, RecursionError):
        return False


def test_a_damaged_row_set_aside_is_logged(tmp_path: Path,
                                           caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "spool.sqlite3"
    spool = Spool(path, 1 << 20, 3600)
    db = sqlite3.connect(path)
    db.execute("INSERT INTO spool (id, measured_at, body, size) VALUES ('x', ?, '[', 1)",
               (time.time(),))
    db.commit()
    db.close()
    with caplog.at_level(logging.ERROR, logger="sansang.agent.spool"):
        assert spool.oldest(10) == []
    assert "dropping 1 unreadable report(s)" in caplog.text
    spool.close()
