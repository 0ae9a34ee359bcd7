"""The report store: each id once, the newest report of each series kept aside for a
restart, retention that never drops a series' newest report, and a database from the
first layout moved over without losing a report."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

from collector.store import ReportStore, StoredReport

FIRST_LAYOUT = """
CREATE TABLE reports (
    id TEXT PRIMARY KEY, ward TEXT NOT NULL, kind TEXT NOT NULL, target TEXT NOT NULL,
    measured_at REAL NOT NULL, received_at REAL NOT NULL, result TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX reports_by_series ON reports (ward, kind, target, measured_at);
CREATE INDEX reports_by_time ON reports (measured_at);
CREATE TABLE readiness (day TEXT NOT NULL, ward TEXT NOT NULL, ready INTEGER NOT NULL,
    PRIMARY KEY (day, ward)) WITHOUT ROWID;
"""


def report(n: int, ward: str = "26968", target: str = "core", at: float = 1000.0
           ) -> StoredReport:
    return StoredReport(f"report-{n:04d}", ward, "icmp", target, at, f'{{"n": {n}}}')


async def add(store: ReportStore, *batches: list[StoredReport]) -> list[list[bool]]:
    await store.start()
    try:
        return list(await asyncio.gather(*(store.add(b) for b in batches)))
    finally:
        await store.close()


def test_each_id_once_and_the_newest_of_each_series_kept(tmp_path: Path) -> None:
    path = tmp_path / "store.sqlite3"
    outcomes = asyncio.run(add(
        ReportStore(path),
        [report(1, at=1000), report(2, at=1060), report(3, target="gateway", at=1000)],
        # A replayed older report, a repeated id and a newer one, in one push.
        [report(4, at=900), report(2, at=1060), report(5, at=1120)],
    ))
    assert outcomes == [[True, True, True], [True, False, True]]
    store = ReportStore(path)
    latest = {(r.ward, r.kind, r.target): (r.id, r.measured_at, r.result_json)
              for r in store.latest_per_series()}
    assert latest == {("26968", "icmp", "core"): ("report-0005", 1120.0, '{"n": 5}'),
                      ("26968", "icmp", "gateway"): ("report-0003", 1000.0, '{"n": 3}')}
    assert store.count() == 5 and store.count("26968") == 5
    # Retention keeps each series' newest report however old it is.
    assert store.prune(older_than=2000) == 3
    assert store.ids("26968") == {"report-0005", "report-0003"}


def test_a_first_layout_database_is_moved_over(tmp_path: Path) -> None:
    path = tmp_path / "store.sqlite3"
    db = sqlite3.connect(path)
    db.executescript(FIRST_LAYOUT)
    rows = [report(1, at=1000), report(2, at=1060), report(3, ward="26969", at=500)]
    db.executemany("INSERT INTO reports VALUES (?, ?, ?, ?, ?, ?, ?)",
                   [(r.id, r.ward, r.kind, r.target, r.measured_at, 5.0, r.result_json)
                    for r in rows])
    db.execute("INSERT INTO readiness VALUES ('2026-11-27', '26968', 1)")
    db.commit()
    db.close()

    store = ReportStore(path)
    assert store.count() == 3
    assert sorted((r.id, r.measured_at) for r in store.latest_per_series()) == [
        ("report-0002", 1060.0), ("report-0003", 500.0)]
    assert store.readiness_history() == [("2026-11-27", "26968", True)]
    # And it goes on working: the moved ids are still known.
    outcomes = asyncio.run(add(store, [report(2, at=1060), report(4, at=1200)]))
    assert outcomes == [[False, True]]
    assert ReportStore(path).count() == 4
