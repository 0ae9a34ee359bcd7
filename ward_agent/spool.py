"""The agent's on-disk spool: every result is kept here until the collector acknowledges it.

SQLite in WAL mode with full fsync, so a result written survives a crash of the
agent or the machine. Bounded by bytes and by age: when over, the oldest are
dropped first and counted, and the count itself is reported.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import time
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

log = logging.getLogger("sansang.agent.spool")

# Reports kept in memory while the disk refuses writes (about 10 MB at most).
MEMORY_LIMIT = 10_000

SCHEMA = """
CREATE TABLE IF NOT EXISTS spool (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    measured_at REAL NOT NULL,
    body TEXT NOT NULL,
    size INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
"""


@dataclass(frozen=True, slots=True)
class SpooledReport:
    id: str
    body: dict[str, Any]


class Spool:
    def __init__(self, path: Path | str, max_bytes: int, max_age_seconds: float):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.max_bytes = max_bytes
        self.max_age_seconds = max_age_seconds
        self._db = sqlite3.connect(self.path, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(SCHEMA)
        self._memory: OrderedDict[str, dict[str, Any]] = OrderedDict()
        self._memory_dropped = 0

    def close(self) -> None:
        self._db.close()

    def put(self, report: dict[str, Any]) -> None:
        body = json.dumps(report, separators=(",", ":"))
        try:
            self._insert(report, body)
        except sqlite3.Error as exc:
            # A full or failing disk must not stop the agent: keep the report in memory,
            # bounded, until it is delivered (it is lost only if the agent dies meanwhile).
            if not self._memory:
                log.error("cannot write the spool %s (%s); keeping reports in memory",
                          self.path, exc)
            self._memory[report["id"]] = report
            while len(self._memory) > MEMORY_LIMIT:
                self._memory.popitem(last=False)
                self._memory_dropped += 1

    def _insert(self, report: dict[str, Any], body: str) -> None:
        with self._transaction():
            self._db.execute(
                "INSERT OR IGNORE INTO spool (id, measured_at, body, size) VALUES (?, ?, ?, ?)",
                (report["id"], report["measured_at"], body, len(body)),
            )
            self._enforce_bounds()

    def oldest(self, limit: int) -> list[SpooledReport]:
        rows = self._db.execute(
            "SELECT seq, id, body FROM spool ORDER BY seq LIMIT ?", (limit,)
        ).fetchall()
        spooled, unreadable = [], []
        for seq, rid, body in rows:
            report = _report_from(body)
            if report is None:
                unreadable.append(seq)
            else:
                spooled.append(SpooledReport(rid, report))
        if unreadable:
            # A row the disk (or a hand) damaged can never be sent: set it aside, counted,
            # rather than stop the pusher for good.
            log.error("dropping %d unreadable report(s) from the spool %s",
                      len(unreadable), self.path)
            self._drop_unreadable(unreadable)
        # Reports held in memory (the disk refused them) are newer: they follow.
        held = [SpooledReport(rid, body)
                for rid, body in list(self._memory.items())[:limit - len(spooled)]]
        return spooled + held

    def _drop_unreadable(self, seqs: list[int]) -> None:
        with self._transaction():
            self._db.executemany("DELETE FROM spool WHERE seq = ?", [(q,) for q in seqs])
            self._db.execute(
                "INSERT INTO counters VALUES ('dropped', ?) "
                "ON CONFLICT(name) DO UPDATE SET value = value + excluded.value",
                (len(seqs),),
            )

    def acknowledge(self, ids: list[str], delivered: bool = True) -> None:
        """Delete ``ids``. A delivered report that the bounds dropped while it was on its way
        to the collector was not lost after all, so it comes off the dropped count again."""
        unique = set(ids)
        for report_id in list(unique):
            if self._memory.pop(report_id, None) is not None:
                unique.discard(report_id)
        if not unique:
            return
        with self._transaction():
            removed = self._db.executemany("DELETE FROM spool WHERE id = ?",
                                           [(i,) for i in unique]).rowcount
            if delivered and removed < len(unique):
                self._db.execute(
                    "UPDATE counters SET value = max(0, value - ?) WHERE name = 'dropped'",
                    (len(unique) - removed,),
                )

    def __len__(self) -> int:
        stored = int(self._db.execute("SELECT count(*) FROM spool").fetchone()[0])
        return stored + len(self._memory)

    def size_bytes(self) -> int:
        return int(self._db.execute("SELECT coalesce(sum(size), 0) FROM spool").fetchone()[0])

    @property
    def dropped(self) -> int:
        row = self._db.execute("SELECT value FROM counters WHERE name = 'dropped'").fetchone()
        return (int(row[0]) if row else 0) + self._memory_dropped

    def _enforce_bounds(self) -> None:
        too_old = time.time() - self.max_age_seconds
        dropped = self._db.execute("DELETE FROM spool WHERE measured_at < ?", (too_old,)).rowcount
        total = self.size_bytes()
        while total > self.max_bytes:
            row = self._db.execute("SELECT seq, size FROM spool ORDER BY seq LIMIT 1").fetchone()
            if row is None:
                break
            self._db.execute("DELETE FROM spool WHERE seq = ?", (row[0],))
            total -= row[1]
            dropped += 1
        if dropped:
            self._db.execute(
                "INSERT INTO counters VALUES ('dropped', ?) "
                "ON CONFLICT(name) DO UPDATE SET value = value + excluded.value",
                (dropped,),
            )

    def _transaction(self) -> _Transaction:
        return _Transaction(self._db)


def _report_from(body: object) -> dict[str, Any] | None:
    """A spooled report as stored (JSON text of an object), or None when it is not one."""
    try:
        report = json.loads(body) if isinstance(body, str | bytes) else None
    except (ValueError, RecursionError):
        return None
    return report if isinstance(report, dict) else None


class _Transaction:
    def __init__(self, db: sqlite3.Connection):
        self._db = db

    def __enter__(self) -> None:
        self._db.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type: object, *_: object) -> None:
        if exc_type is None:
            self._db.execute("COMMIT")
        elif self._db.in_transaction:
            self._db.execute("ROLLBACK")
