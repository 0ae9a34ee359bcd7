"""The collector's speed-test endpoints: a fair slot queue, a download source, an upload sink.

At most ``slots`` speed tests run at once, so agents never measure each other;
the others wait their turn in arrival order. A slot is a lease that lapses when
its agent goes quiet, so a dead agent cannot block the queue. With a ward token, a
slot belongs to the token's ward: only that ward can see its id, renew it, use it or
release it, and a ward waits for at most one slot at a time. The download is
incompressible (random bytes, generated once and reused); the upload is read and
thrown away. Every slot's grant and end times are kept (``/speedtest/status``).

Routes, all under ``/speedtest/``::

    POST   slot              {"wait_seconds": W, "agent": NAME} -> 200 {"slot", "lease_seconds",
                             "max_seconds", "waited_seconds"} | 503 busy (with Retry-After)
                             | 409 this ward already holds or waits for a slot
    POST   slot/{id}/renew   extend the lease -> 200 | 404 when it has lapsed
    DELETE slot/{id}         release -> 200 {"held_seconds"} | 404
    GET    download?slot=ID&seconds=S   S seconds (at most max_seconds) of random bytes
    POST   upload?slot=ID    body read and discarded -> 200 {"bytes", "seconds"}
    GET    ping              an empty 204, for timing round trips
    GET    status            slots, busy, waiting, and the recent slots with their times
                             (slot ids and agent names of the caller's own ward only)
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import os
import secrets
import socket
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from functools import cache
from typing import Any

from aiohttp import ClientPayloadError, web
from aiohttp.http_exceptions import HttpProcessingError

# Random bytes are expensive to make and cheap to reuse: 8 MiB is more than any
# WAN optimiser's window, and the stream walks through it chunk by chunk.
RANDOM_BYTES = 8 << 20
CHUNK_BYTES = 256 << 10
HISTORY_LENGTH = 200
# The longest a single request may wait for a slot; an agent with more patience asks again.
MAX_WAIT_SECONDS = 300.0
# How often a waiting request looks again even if nothing was announced (a lapsed lease,
# a caller that hung up).
WAIT_POLL_SECONDS = 1.0
# A fixed send buffer as large as autotuning's ceiling (net.ipv4.tcp_wmem), so a
# busy event loop never leaves a download's link idle.
SEND_BUFFER_BYTES = 4 << 20

# Who is asking: the ward a request's token belongs to, or None to refuse it (401).
Authorize = Callable[[web.Request], Awaitable[str | None]]
# The owner of slots when no ``authorize`` is given (the lab's stand-alone server).
ANYONE = ""


@cache
def random_bytes() -> memoryview:
    return memoryview(os.urandom(RANDOM_BYTES))


@dataclass
class SlotRecord:
    """One speed test's turn, as kept for the status page and the overlap check."""

    slot: str
    agent: str
    owner: str
    granted_at: float
    waited_seconds: float
    ended_at: float | None = None
    end: str | None = None  # "released", "lapsed" or "held too long"
    download_bytes: int = 0
    upload_bytes: int = 0


@dataclass
class _Lease:
    record: SlotRecord
    expires_at: float
    hard_end: float


class SpeedTestSlots:
    """The slot queue: at most ``slots`` leases at once, granted in arrival order."""

    def __init__(
        self, slots: int = 1, *, max_seconds: float = 30.0, lease_seconds: float = 10.0,
        clock: Callable[[], float] = time.monotonic, wall_clock: Callable[[], float] = time.time,
    ):
        if slots < 1:
            raise ValueError("slots must be at least 1")
        self.slots = slots
        self.max_seconds = max_seconds
        self.lease_seconds = lease_seconds
        # Download and upload each take up to max_seconds; the lease covers the gaps.
        self.hold_limit_seconds = 2 * max_seconds + lease_seconds
        self._clock = clock
        self._wall_clock = wall_clock
        self._active: dict[str, _Lease] = {}
        self._queue: deque[object] = deque()
        self._waiting_owners: set[str] = set()
        self._changed = asyncio.Event()
        self.history: deque[SlotRecord] = deque(maxlen=HISTORY_LENGTH)

    @property
    def busy(self) -> int:
        self.expire()
        return len(self._active)

    @property
    def waiting(self) -> int:
        return len(self._queue)

    def holds_or_waits(self, owner: str) -> bool:
        """Whether ``owner`` already holds a slot or waits for one (never for ANYONE)."""
        if owner == ANYONE:
            return False
        self.expire()
        return owner in self._waiting_owners or any(
            lease.record.owner == owner for lease in self._active.values())

    async def acquire(
        self, agent: str, wait_seconds: float, still_wanted: Callable[[], bool] = lambda: True,
        owner: str = ANYONE,
    ) -> SlotRecord | None:
        """Wait (at most ``wait_seconds``) for a free slot, in turn; None if none came.
        The caller checks ``holds_or_waits`` first: one waiter per owner."""
        ticket = object()
        self._queue.append(ticket)
        if owner != ANYONE:
            self._waiting_owners.add(owner)
        asked_at = self._clock()
        give_up = asked_at + max(0.0, wait_seconds)
        try:
            while True:
                self.expire()
                now = self._clock()
                if self._queue[0] is ticket and len(self._active) < self.slots:
                    return self._grant(agent, owner, now - asked_at)
                if now >= give_up or not still_wanted():
                    return None
                next_lapse = min((lease.expires_at for lease in self._active.values()),
                                 default=give_up)
                wait = max(0.0, min(give_up - now, next_lapse - now, WAIT_POLL_SECONDS))
                changed = self._changed
                try:
                    await asyncio.wait_for(changed.wait(), wait)
                except TimeoutError:
                    pass
        finally:
            self._queue.remove(ticket)
            self._waiting_owners.discard(owner)
            self._announce()

    def _lease(self, slot: str, owner: str) -> _Lease | None:
        """The slot's lease when ``owner`` holds it; another owner's slot is as unknown
        to the caller as one that never existed."""
        self.expire()
        lease = self._active.get(slot)
        if lease is None or lease.record.owner != owner:
            return None
        return lease

    def touch(self, slot: str, owner: str = ANYONE) -> SlotRecord | None:
        """The slot's record, its lease extended, or None when ``owner`` does not hold it."""
        lease = self._lease(slot, owner)
        if lease is None:
            return None
        lease.expires_at = min(self._clock() + self.lease_seconds, lease.hard_end)
        return lease.record

    def release(self, slot: str, owner: str = ANYONE) -> SlotRecord | None:
        lease = self._lease(slot, owner)
        if lease is None:
            return None
        self._end(slot, "released")
        return lease.record

    def expire(self) -> None:
        now = self._clock()
        for slot, lease in list(self._active.items()):
            if now >= lease.hard_end:
                self._end(slot, "held too long")
            elif now >= lease.expires_at:
                self._end(slot, "lapsed")

    def _grant(self, agent: str, owner: str, waited: float) -> SlotRecord:
        now = self._clock()
        record = SlotRecord(slot=secrets.token_urlsafe(16), agent=agent, owner=owner,
                            granted_at=self._wall_clock(), waited_seconds=waited)
        self._active[record.slot] = _Lease(record, now + self.lease_seconds,
                                           now + self.hold_limit_seconds)
        self.history.append(record)
        return record

    def _end(self, slot: str, how: str) -> None:
        lease = self._active.pop(slot)
        lease.record.ended_at = self._wall_clock()
        lease.record.end = how
        self._announce()

    def _announce(self) -> None:
        # Wake every waiter; each looks at the queue and goes back to sleep if not its turn.
        self._changed.set()
        self._changed = asyncio.Event()


SPEEDTEST = web.AppKey("speedtest", SpeedTestSlots)
OWNER = web.RequestKey("speedtest_owner", str)


def _problem(status: int, error: str, headers: dict[str, str] | None = None) -> web.Response:
    return web.json_response({"error": error}, status=status, headers=headers)


def _slots(request: web.Request) -> SpeedTestSlots:
    return request.app[SPEEDTEST]


def _owner(request: web.Request) -> str:
    return request.get(OWNER, ANYONE)


def _caller_gone(request: web.Request) -> bool:
    transport = request.transport
    return transport is None or transport.is_closing()


async def _acquire(request: web.Request) -> web.Response:
    slots = _slots(request)
    options: dict[str, Any] = {}
    if request.can_read_body:
        try:
            loaded = json.loads(await request.read() or b"{}")
        except (ValueError, UnicodeDecodeError):
            return _problem(400, "the body must be a JSON object")
        if not isinstance(loaded, dict):
            return _problem(400, "the body must be a JSON object")
        options = loaded
    try:
        wait_seconds = float(options.get("wait_seconds", 30.0))
    except (TypeError, ValueError):
        return _problem(400, "wait_seconds must be a number")
    if not math.isfinite(wait_seconds):
        return _problem(400, "wait_seconds must be a finite number")
    agent = str(options.get("agent") or request.remote or "unknown")[:200]
    wait_seconds = min(max(0.0, wait_seconds), MAX_WAIT_SECONDS)
    owner = _owner(request)
    if slots.holds_or_waits(owner):
        return _problem(409, f"ward {owner} already holds or waits for a speed-test slot; "
                             "release it or wait for that answer")
    record = await slots.acquire(agent, wait_seconds, lambda: not _caller_gone(request),
                                 owner=owner)
    if record is None:
        return _problem(
            503, f"all {slots.slots} speed-test slots are busy; waited {wait_seconds:.1f} s",
            headers={"Retry-After": str(max(1, round(slots.max_seconds)))},
        )
    return web.json_response({
        "slot": record.slot, "lease_seconds": slots.lease_seconds,
        "max_seconds": slots.max_seconds, "waited_seconds": record.waited_seconds,
    })


async def _renew(request: web.Request) -> web.Response:
    if _slots(request).touch(request.match_info["slot"], _owner(request)) is None:
        return _problem(404, "no such slot (released or lapsed)")
    return web.json_response({"lease_seconds": _slots(request).lease_seconds})


async def _release(request: web.Request) -> web.Response:
    record = _slots(request).release(request.match_info["slot"], _owner(request))
    if record is None:
        return _problem(404, "no such slot (released or lapsed)")
    held = (record.ended_at or record.granted_at) - record.granted_at
    return web.json_response({"held_seconds": held})


def _held_slot(request: web.Request) -> tuple[str, SlotRecord | None]:
    slot = request.query.get("slot", "")
    return slot, _slots(request).touch(slot, _owner(request))


async def _download(request: web.Request) -> web.StreamResponse:
    slots = _slots(request)
    slot, record = _held_slot(request)
    if record is None:
        return _problem(409, "a speed test needs a held slot: POST /speedtest/slot first")
    try:
        seconds = float(request.query.get("seconds", "10"))
    except ValueError:
        return _problem(400, "seconds must be a number")
    seconds = min(max(0.0, seconds), slots.max_seconds)
    response = web.StreamResponse(headers={
        "Content-Type": "application/octet-stream", "Cache-Control": "no-store",
    })
    sock = request.transport.get_extra_info("socket") if request.transport else None
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SEND_BUFFER_BYTES)
    await response.prepare(request)
    source = random_bytes()
    offset = 0
    end = time.monotonic() + seconds
    try:
        # Bounded by the clock; stops early when the slot is released or lapses.
        while time.monotonic() < end and slots.touch(slot, _owner(request)) is not None:
            await response.write(source[offset : offset + CHUNK_BYTES])
            record.download_bytes += CHUNK_BYTES
            offset = (offset + CHUNK_BYTES) % RANDOM_BYTES
        await response.write_eof()
    except (ConnectionError, RuntimeError):
        # The agent hangs up when it has measured enough; that is the normal end.
        pass
    return response


async def _upload(request: web.Request) -> web.Response:
    slots = _slots(request)
    slot, record = _held_slot(request)
    if record is None:
        return _problem(409, "a speed test needs a held slot: POST /speedtest/slot first")
    started = time.monotonic()
    end = started + slots.max_seconds
    received = 0
    try:
        while time.monotonic() < end:
            chunk = await request.content.readany()
            if not chunk or slots.touch(slot, _owner(request)) is None:
                break
            received += len(chunk)
            record.upload_bytes += len(chunk)
    except (ConnectionError, asyncio.IncompleteReadError):
        # The agent hangs up when it has measured enough; that is the normal end.
        pass
    except (HttpProcessingError, ClientPayloadError) as exc:
        return _problem(400, f"malformed upload body: {exc}")
    return web.json_response({"bytes": received, "seconds": time.monotonic() - started})


async def _ping(_request: web.Request) -> web.Response:
    return web.Response(status=204, headers={"Cache-Control": "no-store"})


async def _status(request: web.Request) -> web.Response:
    slots = _slots(request)
    owner = _owner(request)

    def shown(record: SlotRecord) -> dict[str, Any]:
        # Another ward's slot id would let the caller use or end that ward's test.
        fields = asdict(record)
        del fields["owner"]
        if record.owner != owner:
            fields["slot"] = fields["agent"] = None
        return fields

    return web.json_response({
        "slots": slots.slots, "busy": slots.busy, "waiting": slots.waiting,
        "max_seconds": slots.max_seconds, "lease_seconds": slots.lease_seconds,
        "history": [shown(record) for record in slots.history],
    })


def add_speedtest_routes(
    app: web.Application, *, slots: int = 1, max_seconds: float = 30, lease_seconds: float = 10,
    authorize: Authorize | None = None,
) -> None:
    """Mount the speed-test endpoints under ``/speedtest/``.

    ``authorize``, when given, is asked about every request (e.g. a ward token
    check): it names the caller's ward, which owns the slots it gets, or None for a 401.
    """
    app[SPEEDTEST] = SpeedTestSlots(slots, max_seconds=max_seconds, lease_seconds=lease_seconds)

    def guarded(handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
                ) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
        if authorize is None:
            return handler

        async def checked(request: web.Request) -> web.StreamResponse:
            owner = await authorize(request)
            if owner is None:
                return _problem(401, "a valid bearer token is required",
                                headers={"WWW-Authenticate": "Bearer"})
            request[OWNER] = owner
            return await handler(request)

        return checked

    app.router.add_post("/speedtest/slot", guarded(_acquire))
    app.router.add_post("/speedtest/slot/{slot}/renew", guarded(_renew))
    app.router.add_delete("/speedtest/slot/{slot}", guarded(_release))
    app.router.add_get("/speedtest/download", guarded(_download))
    app.router.add_post("/speedtest/upload", guarded(_upload))
    app.router.add_get("/speedtest/ping", guarded(_ping))
    app.router.add_get("/speedtest/status", guarded(_status))
