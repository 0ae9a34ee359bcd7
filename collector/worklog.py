"""What the NOC does about a ward that is not ready: acknowledged (by whom, until when),
assigned to a technician, notes — the ward's *case*.

Every change is an event (who, when, what) in SQLite, beside the reports, written with
``synchronous=FULL`` before the page answers, so a case survives a restart. A ward's case
is what happened since its last ``close`` (the ward became ready again, or the NOC released
it); the open cases are kept in memory, so pages read them without touching the disk.

Bounded as everything a stranger can send is: texts are cut to their limits and refused
with control characters, a case holds at most ``MAX_EVENTS_PER_CASE`` events, and closed
cases are pruned with the reports' retention.
"""

from __future__ import annotations

import sqlite3
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

Action = Literal["acknowledge", "assign", "note", "release", "close"]
ACTIONS: tuple[Action, ...] = ("acknowledge", "assign", "note", "release", "close")

MAX_AUTHOR_CHARS = 80
MAX_TEXT_CHARS = 500
MAX_EVENTS_PER_CASE = 200
# How long an acknowledgement may last: a forgotten one must not hide a ward for ever.
MAX_ACKNOWLEDGE_SECONDS = 7 * 86400

_SCHEMA = """
CREATE TABLE IF NOT EXISTS ward_events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    ward TEXT NOT NULL,
    at REAL NOT NULL,
    author TEXT NOT NULL,
    action TEXT NOT NULL,
    text TEXT NOT NULL DEFAULT '',
    until REAL
);
CREATE INDEX IF NOT EXISTS ward_events_by_ward ON ward_events (ward, seq);
"""


class CaseError(ValueError):
    """A change the NOC asked for that cannot be made: ``key`` names the reason in
    ``collector.i18n`` (``case.error.<key>``), ``values`` fill it in; ``str()`` is English."""

    def __init__(self, key: str, message: str, **values: object):
        super().__init__(message)
        self.key, self.values = key, values


@dataclass(frozen=True)
class Event:
    ward: str
    at: float
    author: str
    action: Action
    text: str = ""
    until: float | None = None


@dataclass
class Case:
    """A ward's open case, worked out from its events since the last close."""

    ward: str
    opened_at: float
    acknowledged_by: str | None = None
    acknowledged_at: float | None = None
    acknowledged_until: float | None = None
    acknowledge_comment: str = ""
    assignee: str | None = None
    assigned_by: str | None = None
    assigned_at: float | None = None
    notes: list[Event] = field(default_factory=list)
    events: int = 0

    def acknowledged(self, now: float) -> bool:
        return (self.acknowledged_until is not None and self.acknowledged_until > now)

    def apply(self, event: Event) -> None:
        self.events += 1
        if event.action == "acknowledge":
            self.acknowledged_by, self.acknowledged_at = event.author, event.at
            self.acknowledged_until, self.acknowledge_comment = event.until, event.text
        elif event.action == "release":
            self.acknowledged_by = self.acknowledged_at = self.acknowledged_until = None
            self.acknowledge_comment = ""
        elif event.action == "assign":
            self.assignee, self.assigned_by, self.assigned_at = event.text, event.author, event.at
        if event.action in ("note", "acknowledge", "release", "assign"):
            self.notes.append(event)

    def as_json(self, now: float) -> dict[str, object]:
        return {
            "opened_at": self.opened_at,
            "acknowledged": self.acknowledged(now),
            "acknowledged_by": self.acknowledged_by,
            "acknowledged_at": self.acknowledged_at,
            "acknowledged_until": self.acknowledged_until,
            "assignee": self.assignee,
            "assigned_at": self.assigned_at,
            "notes": [{"at": n.at, "author": n.author, "action": n.action, "text": n.text}
                      for n in self.notes],
        }


def clean_text(value: str, what: str, limit: int, *, required: bool) -> str:
    """``value`` stripped, or a ``CaseError`` naming ``what`` when it is empty (and
    required), too long or holds control characters (a line break in a note is allowed)."""
    text = value.strip()
    if required and not text:
        raise CaseError("required", f"{what} is required", what=what)
    if len(text) > limit:
        raise CaseError("too_long", f"{what} is longer than {limit} characters",
                        what=what, limit=limit)
    if any((ord(c) < 32 and c not in "\n\r\t") or 0x7F <= ord(c) < 0xA0 for c in text):
        raise CaseError("control", f"{what} holds control characters", what=what)
    return text


class WorkLog:
    """The wards' cases, durable in the SQLite file at ``path``."""

    def __init__(self, path: Path | str):
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(_SCHEMA)
        self._lock = threading.Lock()
        self._open: dict[str, Case] = {}
        self._load()

    def close(self) -> None:
        self._db.close()

    def _load(self) -> None:
        rows = self._db.execute(
            "SELECT e.ward, e.at, e.author, e.action, e.text, e.until FROM ward_events e "
            "WHERE e.seq > COALESCE((SELECT MAX(c.seq) FROM ward_events c "
            "WHERE c.ward = e.ward AND c.action = 'close'), 0) ORDER BY e.seq").fetchall()
        for ward, at, author, action, text, until in rows:
            if action not in ACTIONS:
                continue  # written by a newer version: not ours to guess at
            self._fold(Event(ward, at, author, action, text, until))

    def _fold(self, event: Event) -> None:
        if event.action == "close":
            self._open.pop(event.ward, None)
            return
        case = self._open.get(event.ward)
        if case is None:
            case = self._open[event.ward] = Case(event.ward, event.at)
        case.apply(event)

    # --- reading

    def case(self, ward: str) -> Case | None:
        return self._open.get(ward)

    def open_cases(self) -> dict[str, Case]:
        return dict(self._open)

    # --- changing (blocking: call through asyncio.to_thread)

    def record(self, event: Event) -> Case | None:
        """Write ``event`` durably, then apply it; the ward's case afterwards."""
        with self._lock:
            case = self._open.get(event.ward)
            if event.action != "close" and case is not None \
                    and case.events >= MAX_EVENTS_PER_CASE:
                raise CaseError("full", f"this ward's case already holds "
                                f"{MAX_EVENTS_PER_CASE} entries; release it and start again",
                                limit=MAX_EVENTS_PER_CASE)
            if event.action in ("release", "close") and case is None:
                return None  # nothing to release: no event, no change
            self._db.execute(
                "INSERT INTO ward_events (ward, at, author, action, text, until) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (event.ward, event.at, event.author, event.action, event.text, event.until))
            self._fold(event)
            return self._open.get(event.ward)

    def prune(self, older_than: float) -> int:
        """Forget the events of cases closed before ``older_than``."""
        with self._lock:
            cursor = self._db.execute(
                "DELETE FROM ward_events WHERE seq <= (SELECT MAX(c.seq) FROM ward_events c "
                "WHERE c.ward = ward_events.ward AND c.action = 'close' AND c.at < ?)",
                (older_than,))
            return cursor.rowcount

    def history(self, ward: str, limit: int = 100) -> list[Event]:
        """The ward's newest events, closed cases included, newest first."""
        rows = self._db.execute(
            "SELECT ward, at, author, action, text, until FROM ward_events WHERE ward = ? "
            "ORDER BY seq DESC LIMIT ?", (ward, limit)).fetchall()
        return [Event(*row) for row in rows]

