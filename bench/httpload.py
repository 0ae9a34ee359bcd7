"""A lean HTTP/1.1 load client: prebuilt requests over keep-alive connections, timed one by one.

The client must not starve the server it measures on a two-core machine, so a
request is bytes built before the clock starts, and a response is read as a
status line, headers and a body of known length (or chunks), nothing more.
Only loopback URLs are accepted.
"""

from __future__ import annotations

import asyncio
import ipaddress
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

HEADER_LIMIT = 64 << 10
CONNECT_TIMEOUT_SECONDS = 5.0


class LoadError(Exception):
    """A response that could not be read as HTTP/1.1."""


def loopback_only(host: str) -> str:
    if not ipaddress.ip_address(host).is_loopback:
        raise ValueError(f"the benchmarks talk to loopback only, not {host}")
    return host


def build_request(method: str, host: str, port: int, path: str, body: bytes = b"",
                  headers: dict[str, str] | None = None) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}:{port}"]
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    if body or method in ("POST", "PUT"):
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


class Connection:
    """One keep-alive connection; reconnects when the server closed it."""

    def __init__(self, host: str, port: int):
        self.host = loopback_only(host)
        self.port = port
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def _open(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        if self._reader is None or self._writer is None or self._reader.at_eof():
            await self.close()
            self._reader, self._writer = await asyncio.wait_for(
                asyncio.open_connection(self.host, self.port, limit=HEADER_LIMIT),
                CONNECT_TIMEOUT_SECONDS)
        return self._reader, self._writer  # type: ignore[return-value]

    async def request(self, raw: bytes) -> tuple[int, bytes]:
        reader, writer = await self._open()
        writer.write(raw)
        head = await reader.readuntil(b"\r\n\r\n")
        status_line, _, header_block = head.partition(b"\r\n")
        try:
            status = int(status_line.split(b" ", 2)[1])
        except (IndexError, ValueError):
            raise LoadError(f"not an HTTP status line: {status_line[:80]!r}") from None
        length = None
        chunked = close = False
        for line in header_block.split(b"\r\n"):
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"transfer-encoding" and b"chunked" in value.lower():
                chunked = True
            elif name == b"connection" and b"close" in value.lower():
                close = True
        if chunked:
            body = await _read_chunks(reader)
        elif length is not None:
            body = await reader.readexactly(length)
        else:
            body = await reader.read()
            close = True
        if close:
            await self.close()
        return status, body

    async def close(self) -> None:
        writer, self._reader, self._writer = self._writer, None, None
        if writer is not None:
            writer.close()
            try:
                await writer.wait_closed()
            except OSError:
                pass


async def _read_chunks(reader: asyncio.StreamReader) -> bytes:
    parts: list[bytes] = []
    while True:
        size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
        if size == 0:
            await reader.readuntil(b"\r\n")
            return b"".join(parts)
        parts.append(await reader.readexactly(size))
        await reader.readexactly(2)


@dataclass
class Tally:
    """What a run saw: latencies of answered requests, statuses, transport errors."""

    latencies: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    errors: dict[str, int] = field(default_factory=dict)
    first_error: str | None = None

    def answered(self, status: int, seconds: float) -> None:
        self.latencies.append(seconds)
        self.statuses[status] = self.statuses.get(status, 0) + 1

    def failed(self, exc: BaseException) -> None:
        name = type(exc).__name__
        self.errors[name] = self.errors.get(name, 0) + 1
        if self.first_error is None:
            self.first_error = f"{name}: {exc}"

    def count(self, ok_status: int = 200) -> tuple[int, int]:
        """(requests answered with ``ok_status``, every other outcome)."""
        ok = self.statuses.get(ok_status, 0)
        return ok, sum(self.statuses.values()) - ok + sum(self.errors.values())


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


async def closed_loop(host: str, port: int, requests: Iterator[bytes], concurrency: int,
                      duration_seconds: float, timeout_seconds: float = 30.0
                      ) -> tuple[Tally, float]:
    """``concurrency`` workers, each on its own connection, send the next request as soon
    as their last one is answered, until ``requests`` run out or the time is up.
    Returns the tally and the seconds the run took."""
    tally = Tally()
    started = time.perf_counter()
    stop_at = started + duration_seconds

    async def worker() -> None:
        connection = Connection(host, port)
        try:
            while time.perf_counter() < stop_at:
                raw = next(requests, None)
                if raw is None:
                    return
                sent = time.perf_counter()
                try:
                    status, _ = await asyncio.wait_for(connection.request(raw), timeout_seconds)
                except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError,
                        LoadError, TimeoutError) as exc:
                    tally.failed(exc)
                    await connection.close()
                    continue
                tally.answered(status, time.perf_counter() - sent)
        finally:
            await connection.close()

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return tally, time.perf_counter() - started
