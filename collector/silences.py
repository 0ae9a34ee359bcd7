"""Acknowledging a ward: Alertmanager silences for it (matcher ``ward=<code>``), through API v2.

An acknowledgement is written to a local queue first and applied from there, so when
Alertmanager is down nothing is lost: it stays queued, shows as pending, and ``flush``
(called again later, e.g. by the collector's housekeeping) applies it once Alertmanager
answers. Operations apply in the order they were made; an expiry queued after an
acknowledgement expires it too. Errors, drawn once:

- ``AlertmanagerUnavailable``: no answer, or a 5xx; the operation stays queued.
- ``SilenceRejected``: Alertmanager refused the request (4xx); it is dropped from the
  queue, and the error says why, since retrying cannot help.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import aiohttp

# "rejected": Alertmanager refused it (a client error); only the collector's pages show it.
State = Literal["active", "pending", "expired", "queued", "rejected"]


class SilenceError(Exception):
    """Base of the errors of this module."""


class AlertmanagerUnavailable(SilenceError):
    """Alertmanager did not answer, or answered with a server error."""


class SilenceRejected(SilenceError):
    """Alertmanager refused the request (a client error): retrying would not help."""


@dataclass(frozen=True)
class Silence:
    """A silence of one ward: ``id`` None and state ``queued`` while not yet applied."""

    ward: str
    author: str
    comment: str
    ends_at: float
    state: State
    id: str | None = None
    starts_at: float | None = None


_SCHEMA = """
CREATE TABLE IF NOT EXISTS silence_queue (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    operation TEXT NOT NULL CHECK (operation IN ('create', 'expire')),
    ward TEXT NOT NULL,
    author TEXT NOT NULL DEFAULT '',
    comment TEXT NOT NULL DEFAULT '',
    ends_at REAL NOT NULL DEFAULT 0,
    queued_at REAL NOT NULL
)
"""


class SilenceBook:
    """Silences of wards in one Alertmanager, with a durable queue at ``queue_path``."""

    def __init__(self, alertmanager_url: str, queue_path: Path, timeout_seconds: float = 5.0):
        self.url = alertmanager_url.rstrip("/")
        self.timeout = aiohttp.ClientTimeout(total=timeout_seconds)
        self._db = sqlite3.connect(queue_path, isolation_level=None, check_same_thread=False)
        self._db.execute(_SCHEMA)
        self._lock = asyncio.Lock()

    def close(self) -> None:
        self._db.close()

    # --- what callers use

    async def acknowledge(self, ward: str, author: str, comment: str, ends_at: float
                          ) -> Silence:
        """Silence ``ward`` until ``ends_at`` (Unix time): applied now if Alertmanager
        answers, else queued (state ``queued``) and applied by a later ``flush``."""
        if not comment.strip() or not author.strip():
            raise SilenceRejected("an acknowledgement needs an author and a comment")
        ends_at = float(int(ends_at))  # whole seconds: it must read back the same
        if ends_at <= time.time():
            raise SilenceRejected("an acknowledgement must end in the future")
        self._enqueue("create", ward, author, comment, ends_at)
        await self.flush()
        try:
            listed = await self._listed(ward)
        except AlertmanagerUnavailable:
            listed = []
        return next((s for s in listed if _same(s, author, comment, ends_at)),
                    Silence(ward, author, comment, ends_at, "queued"))

    async def expire(self, ward: str) -> None:
        """End every silence of ``ward`` (e.g. once it is ready again); queued while
        Alertmanager is down, like an acknowledgement."""
        self._enqueue("expire", ward)
        await self.flush()

    async def silences(self, ward: str | None = None) -> list[Silence]:
        """The ward's (or every ward's) silences, active and pending in Alertmanager
        (those made in its own UI too) and then those queued here. Raises
        ``AlertmanagerUnavailable`` when Alertmanager cannot be asked: ``queued`` still
        answers then."""
        await self.flush()
        listed = await self._listed(ward)
        return [*listed, *self.queued(ward)]

    def queued(self, ward: str | None = None) -> list[Silence]:
        rows = self._db.execute(
            "SELECT ward, author, comment, ends_at FROM silence_queue "
            "WHERE operation = 'create' AND (? IS NULL OR ward = ?) ORDER BY seq",
            (ward, ward)).fetchall()
        return [Silence(w, a, c, e, "queued") for w, a, c, e in rows]

    async def flush(self) -> int:
        """Apply the queue in order; stop at the first operation Alertmanager cannot take
        now. Returns how many were applied (or dropped as rejected)."""
        async with self._lock:
            done = 0
            rows = self._db.execute(
                "SELECT seq, operation, ward, author, comment, ends_at FROM silence_queue "
                "ORDER BY seq").fetchall()
            for seq, operation, ward, author, comment, ends_at in rows:
                try:
                    if operation == "create":
                        await self._create(ward, author, comment, ends_at)
                    else:
                        await self._expire_now(ward)
                except AlertmanagerUnavailable:
                    break
                except SilenceRejected:
                    self._db.execute("DELETE FROM silence_queue WHERE seq = ?", (seq,))
                    raise
                self._db.execute("DELETE FROM silence_queue WHERE seq = ?", (seq,))
                done += 1
            return done

    # --- Alertmanager's API v2

    def _enqueue(self, operation: str, ward: str, author: str = "", comment: str = "",
                 ends_at: float = 0.0) -> None:
        self._db.execute(
            "INSERT INTO silence_queue (operation, ward, author, comment, ends_at, queued_at) "
            "VALUES (?, ?, ?, ?, ?, ?)", (operation, ward, author, comment, ends_at, time.time()))

    async def _create(self, ward: str, author: str, comment: str, ends_at: float) -> None:
        # A retry after a lost answer must not silence twice: the same one may exist.
        if any(_same(s, author, comment, ends_at) for s in await self._listed(ward)):
            return
        await self._request("POST", "/api/v2/silences", {
            "matchers": [{"name": "ward", "value": ward, "isRegex": False, "isEqual": True}],
            "startsAt": _iso(time.time()),
            "endsAt": _iso(ends_at),
            "createdBy": author,
            "comment": comment,
        })

    async def _expire_now(self, ward: str) -> None:
        for silence in await self._listed(ward):
            if silence.id is not None:
                await self._request("DELETE", f"/api/v2/silence/{silence.id}")

    async def _listed(self, ward: str | None) -> list[Silence]:
        """Alertmanager's active and pending silences that match exactly one ward."""
        query = {"filter": f'ward="{ward}"'} if ward is not None else None
        body = await self._request("GET", "/api/v2/silences", params=query)
        out = []
        for item in body or []:
            state = item.get("status", {}).get("state")
            matchers = item.get("matchers", [])
            if state not in ("active", "pending") or len(matchers) != 1:
                continue
            [matcher] = matchers
            if (matcher.get("name") != "ward" or matcher.get("isRegex")
                    or not matcher.get("isEqual", True)):
                continue
            if ward is not None and matcher.get("value") != ward:
                continue
            out.append(Silence(
                matcher["value"], item.get("createdBy", ""), item.get("comment", ""),
                _unix(item["endsAt"]), state, item.get("id"), _unix(item["startsAt"])))
        return out

    async def _request(self, method: str, path: str, body: Any = None,
                       params: dict[str, str] | None = None) -> Any:
        try:
            async with aiohttp.ClientSession(timeout=self.timeout) as session, \
                    session.request(method, self.url + path, json=body, params=params) as reply:
                text = await reply.text()
                if reply.status >= 500:
                    raise AlertmanagerUnavailable(f"{method} {path}: HTTP {reply.status}")
                if reply.status >= 400:
                    raise SilenceRejected(f"{method} {path}: HTTP {reply.status}: "
                                          f"{text.strip()[:200]}")
                return await reply.json(content_type=None) if text.strip() else None
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            raise AlertmanagerUnavailable(f"{method} {path}: {exc!r}") from None


def _iso(unix: float) -> str:
    return dt.datetime.fromtimestamp(unix, dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _unix(text: str) -> float:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def _same(silence: Silence, author: str, comment: str, ends_at: float) -> bool:
    return ((silence.author, silence.comment) == (author, comment)
            and abs(silence.ends_at - ends_at) < 1.0)
