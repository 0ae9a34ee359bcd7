"""A ward's history, read from the collector's own store: latency and loss, bandwidth,
its checks' state changes, since when it is (not) ready, and its availability.

Every read is bounded whatever the fleet's size: one query per window, aggregated in SQL
into at most ``MAX_POINTS`` buckets per series through an index on the ward, on a
read-only connection of its own (so it runs in a worker thread, never on the event loop,
and never sees a half-written batch of the store's writer).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import sqlite3
import zoneinfo
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

from collector.state import VERDICT

# SmokePing draws ~600 pixels a graph; 288 buckets is five minutes a bucket over a day.
MAX_POINTS = 288
LATENCY_WINDOWS = {"day": 86400.0, "week": 7 * 86400.0}
BANDWIDTH_WINDOW = 7 * 86400.0
AVAILABILITY_DAYS = (7, 30)
CHANGES_SHOWN = 50

# (state before or None, state after) of one subject: a check's name or ``VERDICT``.
ChangeRow = tuple[str, float, str, str | None, str]


@dataclass(frozen=True)
class LatencyPoint:
    """One bucket of a ward's ICMP reports to one target: the median of the rounds'
    average RTTs, the lowest and highest single RTT, and the share of pings lost."""

    start: float
    reports: int
    median: float | None
    low: float | None
    high: float | None
    loss: float | None


@dataclass(frozen=True)
class BandwidthPoint:
    start: float
    reports: int
    download: float | None
    upload: float | None


@dataclass(frozen=True)
class Change:
    at: float
    subject: str
    before: str | None
    after: str


@dataclass(frozen=True)
class Availability:
    """Time ready within a window of whole city days ending now, over the time a verdict
    was known (a ward monitored for three days of a week is judged on those three)."""

    days: int
    start: float
    ready_seconds: float
    known_seconds: float

    @property
    def ratio(self) -> float | None:
        return self.ready_seconds / self.known_seconds if self.known_seconds > 0 else None


@dataclass
class WardHistory:
    ward: str
    now: float
    # window name -> (window start, bucket width, target -> its buckets, oldest first)
    latency: dict[str, tuple[float, float, dict[str, list[LatencyPoint]]]] = field(
        default_factory=dict)
    bandwidth: tuple[float, float, dict[str, list[BandwidthPoint]]] = (0.0, 0.0, {})
    changes: list[Change] = field(default_factory=list)  # newest first
    # The verdict's newest change: what it is now and since when.
    verdict: Change | None = None
    availability: list[Availability] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return (self.verdict is None and not self.changes
                and not any(series for _, _, series in self.latency.values())
                and not self.bandwidth[2])


_LATENCY = """
WITH rounds AS (
    SELECT target, CAST((measured_at - :start) / :width AS INTEGER) AS bucket,
           json_extract(result, '$.rtt_avg_seconds') AS rtt,
           json_extract(result, '$.rtt_min_seconds') AS low,
           json_extract(result, '$.rtt_max_seconds') AS high,
           json_extract(result, '$.sent') AS sent,
           json_extract(result, '$.received') AS received
    FROM reports
    WHERE ward = :ward AND kind = 'icmp' AND measured_at >= :start AND measured_at < :end
), ranked AS (
    SELECT *, row_number() OVER (PARTITION BY target, bucket ORDER BY rtt IS NULL, rtt)
                  AS place,
              count(rtt) OVER (PARTITION BY target, bucket) AS measured
    FROM rounds
)
SELECT target, bucket, count(*),
       avg(CASE WHEN place IN ((measured + 1) / 2, (measured + 2) / 2) AND rtt IS NOT NULL
                THEN rtt END),
       min(low), max(high), sum(sent), sum(received)
FROM ranked GROUP BY target, bucket ORDER BY target, bucket
"""

_BANDWIDTH = """
SELECT target, CAST((measured_at - :start) / :width AS INTEGER) AS bucket, count(*),
       avg(json_extract(result, '$.download_bytes_per_second')),
       avg(json_extract(result, '$.upload_bytes_per_second'))
FROM reports
WHERE ward = :ward AND kind = 'bandwidth' AND measured_at >= :start AND measured_at < :end
GROUP BY target, bucket ORDER BY target, bucket
"""

_CHANGES = ("SELECT at, subject, before, after FROM changes WHERE ward = ? AND at <= ? "
            "ORDER BY at DESC, rowid DESC LIMIT ?")
# The verdict's changes within a window, and the last one before it (its state at the start).
_VERDICT = """
SELECT at, after FROM changes
WHERE ward = :ward AND subject = :subject AND at <= :now AND at >= coalesce(
    (SELECT max(at) FROM changes
     WHERE ward = :ward AND subject = :subject AND at <= :start), :start)
ORDER BY at, rowid
"""


def connect_read_only(path: Path | str) -> sqlite3.Connection:
    return sqlite3.connect(f"file:{quote(str(path))}?mode=ro", uri=True)


def day_start(at: float, zone: zoneinfo.ZoneInfo, days_back: int = 0) -> float:
    """Midnight in ``zone`` of the day ``days_back`` days before the day of ``at``."""
    day = dt.datetime.fromtimestamp(at, zone).date() - dt.timedelta(days=days_back)
    return dt.datetime.combine(day, dt.time(), tzinfo=zone).timestamp()


def bucket_width(window_seconds: float) -> float:
    return window_seconds / MAX_POINTS


def read_ward_history(path: Path | str, ward: str, now: float, zone: zoneinfo.ZoneInfo,
                      pending: Sequence[ChangeRow] = ()) -> WardHistory:
    """Everything the ward page draws. ``pending`` are changes the collector has seen and
    not yet written (housekeeping writes them every few seconds), taken as written."""
    history = WardHistory(ward, now)
    own_pending = [row for row in pending if row[0] == ward and row[1] <= now]
    with contextlib.closing(connect_read_only(path)) as db:
        for name, seconds in LATENCY_WINDOWS.items():
            start, width = now - seconds, bucket_width(seconds)
            history.latency[name] = (start, width, latency_points(db, ward, start, now, width))
        start, width = now - BANDWIDTH_WINDOW, bucket_width(BANDWIDTH_WINDOW)
        history.bandwidth = (start, width, bandwidth_points(db, ward, start, now, width))
        rows = db.execute(_CHANGES, (ward, now, CHANGES_SHOWN)).fetchall()
        stored = [Change(at, subject, before, after) for at, subject, before, after in rows]
        fresh = [Change(at, subject, before, after)
                 for _, at, subject, before, after in reversed(own_pending)]
        history.changes = (fresh + stored)[:CHANGES_SHOWN]
        verdicts = [c for c in history.changes if c.subject == VERDICT]
        if verdicts:
            history.verdict = verdicts[0]
        else:
            row = db.execute("SELECT at, after FROM changes WHERE ward = ? AND subject = ? "
                             "AND at <= ? ORDER BY at DESC LIMIT 1", (ward, VERDICT, now)
                             ).fetchone()
            if row is not None:
                history.verdict = Change(row[0], VERDICT, None, row[1])
        pending_verdicts = [(at, after) for _, at, subject, _, after in own_pending
                            if subject == VERDICT]
        for days in AVAILABILITY_DAYS:
            start = day_start(now, zone, days - 1)
            stored_verdicts = db.execute(_VERDICT, {"ward": ward, "subject": VERDICT,
                                                    "now": now, "start": start}).fetchall()
            history.availability.append(
                availability(days, start, now, [*stored_verdicts, *pending_verdicts]))
    return history


def latency_points(db: sqlite3.Connection, ward: str, start: float, end: float,
                   width: float) -> dict[str, list[LatencyPoint]]:
    series: dict[str, list[LatencyPoint]] = {}
    for target, bucket, count, median, low, high, sent, received in db.execute(
            _LATENCY, {"ward": ward, "start": start, "end": end, "width": width}):
        loss = None if not sent else max(0.0, 1.0 - (received or 0) / sent)
        series.setdefault(target, []).append(
            LatencyPoint(start + bucket * width, count, median, low, high, loss))
    return series


def bandwidth_points(db: sqlite3.Connection, ward: str, start: float, end: float,
                     width: float) -> dict[str, list[BandwidthPoint]]:
    series: dict[str, list[BandwidthPoint]] = {}
    for target, bucket, count, download, upload in db.execute(
            _BANDWIDTH, {"ward": ward, "start": start, "end": end, "width": width}):
        series.setdefault(target, []).append(
            BandwidthPoint(start + bucket * width, count, download, upload))
    return series


def availability(days: int, start: float, now: float,
                 verdicts: Iterable[tuple[float, str]]) -> Availability:
    """Ready time between ``start`` and ``now`` from the verdict's changes (at, state),
    oldest first, the first of them possibly before ``start``."""
    ready = known = 0.0
    ordered = sorted(verdicts)
    for index, (at, state) in enumerate(ordered):
        until = ordered[index + 1][0] if index + 1 < len(ordered) else now
        begin, finish = max(at, start), min(until, now)
        if finish > begin:
            known += finish - begin
            if state == "ready":
                ready += finish - begin
    return Availability(days, start, ready, known)

