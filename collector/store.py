"""Durable report history in SQLite, written with group commit.

Every report is inserted once by id (a replayed id is acknowledged, not stored
twice). A report is acknowledged only after the transaction holding it has been
committed with ``synchronous=FULL`` in WAL mode, so an acknowledged report
survives a crash. Concurrent requests share one commit, which is what makes
durable ingest fast.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

# Reports go into a plain rowid table, so each lands at the end of it; only the small
# index on the agent's random ids takes scattered writes. (A WITHOUT ROWID table keyed
# by those ids, with an index per series, cost ~70 µs a report once it held a few hundred
# thousand: every insert touched pages spread over the whole file.) The newest report of
# each series is kept aside in ``latest``, a few thousand rows that stay in the cache,
# so a restart reads those and nothing else.
SCHEMA = """
CREATE TABLE IF NOT EXISTS reports (
    id TEXT NOT NULL,
    ward TEXT NOT NULL,
    kind TEXT NOT NULL,
    target TEXT NOT NULL,
    measured_at REAL NOT NULL,
    received_at REAL NOT NULL,
    result TEXT NOT NULL,
    UNIQUE (ward, id)
);
CREATE INDEX IF NOT EXISTS reports_by_time ON reports (measured_at);
CREATE TABLE IF NOT EXISTS latest (
    ward TEXT NOT NULL,
    kind TEXT NOT NULL,
    target TEXT NOT NULL,
    id TEXT NOT NULL,
    measured_at REAL NOT NULL,
    result TEXT NOT NULL,
    PRIMARY KEY (ward, kind, target)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS readiness (
    day TEXT NOT NULL,
    ward TEXT NOT NULL,
    ready INTEGER NOT NULL,
    PRIMARY KEY (day, ward)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS changes (
    ward TEXT NOT NULL,
    at REAL NOT NULL,
    subject TEXT NOT NULL,
    before TEXT,
    after TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS changes_by_ward ON changes (ward, at);
CREATE INDEX IF NOT EXISTS changes_by_subject ON changes (ward, subject, at);
CREATE INDEX IF NOT EXISTS icmp_history ON reports (ward, measured_at) WHERE kind = 'icmp';
CREATE INDEX IF NOT EXISTS bandwidth_history ON reports (ward, measured_at)
    WHERE kind = 'bandwidth';
"""

# The first layout (reports keyed by id WITHOUT ROWID, no ``latest``): moved over once.
_FIRST_LAYOUT_MARK = "WITHOUT ROWID"
# The second layout made report ids unique across all wards, so one ward's agent could
# have another ward's report taken for a duplicate: ids are now unique per ward.
_GLOBAL_IDS_MARK = "id TEXT NOT NULL UNIQUE"
# A ward's page draws its latency, loss and bandwidth history from ``reports``: the partial
# indexes above cover only those two kinds (one or two of a round's ten reports), so a page
# reads one ward's rows of a window without scanning the whole city's, and the other
# kinds' inserts pay nothing for them. (SQLite uses a partial index only when the query
# repeats its condition word for word, hence one index per kind.) ``changes`` holds each
# check's and each verdict's state changes (``state.VERDICT`` is the verdict's subject),
# for the page's list of changes and its availability figures.
_INSERT = ("INSERT OR IGNORE INTO reports (id, ward, kind, target, measured_at, received_at, "
           "result) VALUES (?, ?, ?, ?, ?, ?, ?)")
_KEEP_LATEST = (
    "INSERT INTO latest VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (ward, kind, target) DO UPDATE "
    "SET id = excluded.id, measured_at = excluded.measured_at, result = excluded.result "
    "WHERE excluded.measured_at >= latest.measured_at"
)

MAX_REPORTS_PER_COMMIT = 5000


@dataclass(frozen=True, slots=True)
class StoredReport:
    id: str
    ward: str
    kind: str
    target: str
    measured_at: float
    result_json: str


class StoreUnavailable(Exception):
    """The store could not commit (disk full, I/O error); nothing was acknowledged."""


_Pending = tuple[Sequence[StoredReport], asyncio.Future[list[bool]]]


class ReportStore:
    def __init__(self, path: Path | str):
        self.path = str(path)
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        # The write-ahead log is copied into the database by housekeeping (``checkpoint``),
        # every few seconds, not by whichever commit happens to fill it: that copy cost
        # ingest a third of its time per report, and pages written many times between two
        # checkpoints are copied once.
        self._db.execute("PRAGMA wal_autocheckpoint=0")
        self._move_first_layout()
        self._scope_ids_to_wards()
        self._db.executescript(SCHEMA)
        # Reads go through their own connection so they never see a half-written batch.
        self._reader = sqlite3.connect(self.path, check_same_thread=False)
        # Housekeeping (readiness history, retention) writes through a third one.
        self._history = sqlite3.connect(self.path, check_same_thread=False,
                                        isolation_level=None, timeout=30)
        self._history_lock = threading.Lock()
        self._queue: asyncio.Queue[_Pending] = asyncio.Queue()
        self._writer: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._writer = asyncio.create_task(self._write_loop(), name="report-store-writer")

    async def close(self) -> None:
        if self._writer is not None:
            self._writer.cancel()
            try:
                await self._writer
            except asyncio.CancelledError:
                pass
        self._reader.close()
        self._history.close()
        self._db.close()

    async def add(self, reports: Sequence[StoredReport]) -> list[bool]:
        """Store ``reports``; for each, True when new, False when its id was seen before."""
        future: asyncio.Future[list[bool]] = asyncio.get_running_loop().create_future()
        await self._queue.put((reports, future))
        return await future

    async def _write_loop(self) -> None:
        while True:
            pending = [await self._queue.get()]
            count = len(pending[0][0])
            while not self._queue.empty() and count < MAX_REPORTS_PER_COMMIT:
                item = self._queue.get_nowait()
                pending.append(item)
                count += len(item[0])
            try:
                outcomes = await asyncio.to_thread(self._commit, [p[0] for p in pending])
            except sqlite3.Error as exc:
                for _, future in pending:
                    if not future.done():
                        future.set_exception(StoreUnavailable(str(exc)))
                continue
            for (_, future), outcome in zip(pending, outcomes, strict=True):
                if not future.done():
                    future.set_result(outcome)

    def _reports_table_sql(self) -> str | None:
        row = self._db.execute(
            "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'reports'").fetchone()
        return None if row is None else str(row[0])

    @contextlib.contextmanager
    def _moving(self) -> Iterator[None]:
        """One transaction for a move to a newer layout: all of it, or none of it."""
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield
            self._db.execute("COMMIT")
        except BaseException:
            if self._db.in_transaction:
                self._db.execute("ROLLBACK")
            raise

    def _move_first_layout(self) -> None:
        """A database from before ``latest`` existed: copy its reports into the new layout."""
        if _FIRST_LAYOUT_MARK not in (self._reports_table_sql() or ""):
            return
        with self._moving():
            self._db.execute("ALTER TABLE reports RENAME TO reports_first_layout")
            self._db.execute("DROP INDEX IF EXISTS reports_by_series")
            self._db.execute("DROP INDEX IF EXISTS reports_by_time")
            for statement in SCHEMA.split(";"):
                self._db.execute(statement)
            self._db.execute(
                "INSERT INTO reports (id, ward, kind, target, measured_at, received_at, result) "
                "SELECT id, ward, kind, target, measured_at, received_at, result "
                "FROM reports_first_layout ORDER BY received_at")
            self._db.execute(
                "INSERT INTO latest SELECT ward, kind, target, id, max(measured_at), result "
                "FROM reports GROUP BY ward, kind, target")
            self._db.execute("DROP TABLE reports_first_layout")

    def _scope_ids_to_wards(self) -> None:
        """A database whose report ids were unique city-wide: rebuild the table with ids
        unique per ward (SQLite cannot drop a constraint in place)."""
        if _GLOBAL_IDS_MARK not in (self._reports_table_sql() or ""):
            return
        with self._moving():
            self._db.execute("ALTER TABLE reports RENAME TO reports_global_ids")
            self._db.execute("DROP INDEX IF EXISTS reports_by_time")
            # The schema's first statement creates ``reports``; the index follows later.
            self._db.execute(SCHEMA.split(";")[0])
            self._db.execute("INSERT INTO reports SELECT * FROM reports_global_ids ORDER BY rowid")
            self._db.execute("DROP TABLE reports_global_ids")

    def _commit(self, batches: list[Sequence[StoredReport]]) -> list[list[bool]]:
        received_at = time.time()
        outcomes: list[list[bool]] = []
        newest: dict[tuple[str, str, str], StoredReport] = {}
        cursor = self._db.cursor()
        cursor.execute("BEGIN IMMEDIATE")
        try:
            for batch in batches:
                flags = []
                for r in batch:
                    cursor.execute(_INSERT, (r.id, r.ward, r.kind, r.target, r.measured_at,
                                             received_at, r.result_json))
                    is_new = cursor.rowcount == 1
                    flags.append(is_new)
                    key = (r.ward, r.kind, r.target)
                    if is_new and (key not in newest or r.measured_at >= newest[key].measured_at):
                        newest[key] = r
                outcomes.append(flags)
            cursor.executemany(_KEEP_LATEST, [
                (r.ward, r.kind, r.target, r.id, r.measured_at, r.result_json)
                for r in newest.values()
            ])
            cursor.execute("COMMIT")
        except BaseException:
            cursor.execute("ROLLBACK")
            raise
        return outcomes

    def latest_per_series(self) -> Iterator[StoredReport]:
        """The newest report (by measurement time) of every (ward, kind, target), a ward's
        rows together."""
        rows = self._reader.execute(
            "SELECT id, ward, kind, target, measured_at, result FROM latest ORDER BY ward")
        for row in rows:
            yield StoredReport(*row)

    def record_readiness(self, entries: dict[tuple[str, str], bool]) -> None:
        """Each ward's verdict at the end of each day seen (the last one written wins)."""
        if not entries:
            return
        with self._history_lock:
            self._history.execute("BEGIN IMMEDIATE")
            self._history.executemany(
                "INSERT INTO readiness VALUES (?, ?, ?) "
                "ON CONFLICT(day, ward) DO UPDATE SET ready = excluded.ready",
                [(day, ward, int(ready)) for (day, ward), ready in entries.items()],
            )
            self._history.execute("COMMIT")

    def record_changes(self, changes: Sequence[tuple[str, float, str, str | None, str]]
                       ) -> None:
        """State changes: (ward, at, subject, state before or None, state after) rows."""
        if not changes:
            return
        with self._history_lock:
            self._history.execute("BEGIN IMMEDIATE")
            self._history.executemany("INSERT INTO changes VALUES (?, ?, ?, ?, ?)", changes)
            self._history.execute("COMMIT")

    def last_states(self) -> dict[tuple[str, str], str]:
        """(ward, subject) -> the state its newest recorded change left it in."""
        rows = self._reader.execute(
            "SELECT ward, subject, after, max(at) FROM changes GROUP BY ward, subject")
        return {(ward, subject): after for ward, subject, after, _ in rows}

    def checkpoint(self) -> None:
        """Copy what the write-ahead log holds into the database (never waits for readers)."""
        with self._history_lock:
            self._history.execute("PRAGMA wal_checkpoint(PASSIVE)")

    def readiness_history(self) -> list[tuple[str, str, bool]]:
        """(day, ward, ready) rows, oldest day first."""
        rows = self._reader.execute("SELECT day, ward, ready FROM readiness ORDER BY day")
        return [(day, ward, bool(ready)) for day, ward, ready in rows]

    def prune(self, older_than: float) -> int:
        """Delete reports measured before ``older_than``; the newest of each series stays.

        State changes older than that go too, but each (ward, subject)'s newest stays: it
        says what state a window starting before it opened in."""
        with self._history_lock:
            cursor = self._history.execute(
                "DELETE FROM reports WHERE measured_at < ? AND NOT EXISTS (SELECT 1 FROM latest "
                "WHERE latest.ward = reports.ward AND latest.id = reports.id)",
                (older_than,),
            )
            self._history.execute(
                "DELETE FROM changes WHERE at < ? AND rowid NOT IN "
                "(SELECT max(rowid) FROM changes GROUP BY ward, subject)", (older_than,))
            return cursor.rowcount

    def count(self, ward: str | None = None) -> int:
        if ward is None:
            return int(self._reader.execute("SELECT count(*) FROM reports").fetchone()[0])
        return int(
            self._reader.execute("SELECT count(*) FROM reports WHERE ward = ?", (ward,))
            .fetchone()[0]
        )

    def ids(self, ward: str) -> set[str]:
        rows = self._reader.execute("SELECT id FROM reports WHERE ward = ?", (ward,))
        return {row[0] for row in rows}
