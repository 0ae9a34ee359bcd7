"""Bandwidth probe: download and upload throughput to the collector's speed-test endpoints.

The probe waits for a slot (so agents never measure each other), then runs each
direction over ``streams`` parallel TCP connections and leaves the first
``warmup_seconds`` out of the figure, as ``iperf3 -O`` and ndt7 do. Download is
counted as it is read; upload as the collector's TCP stack acknowledged it
(TCP_INFO), so bytes still sitting in the agent's send buffer are never counted.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import math
import os
import socket
import ssl
import struct
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import quote, urlsplit

import aiohttp
from pydantic import Field

from probes.base import ProbeCli, ProbeConfig, ProbeKind, ProbeResult, remaining
from probes.json_reply import json_object, read_bounded, reason_text
from probes.secret import Secret
from probes.series import Family, Sample, add

if TYPE_CHECKING:
    import argparse

    from inventory.model import Ward

Phase = Literal["download", "upload"]
Progress = Callable[[str, float, float], None]

CHUNK_BYTES = 256 << 10
READ_BYTES = 1 << 20
STREAM_BUFFER_BYTES = 4 << 20
PROGRESS_EVERY_SECONDS = 0.5
PINGS = 5
# The collector is asked to stream a little longer than the probe listens, so the
# figure never includes the collector's own end of stream.
DOWNLOAD_SLACK_SECONDS = 1.0
# Linux struct tcp_info: tcpi_rtt (u32, microseconds), tcpi_bytes_acked and
# tcpi_bytes_received (u64).
TCP_INFO_LENGTH = 232
TCPI_RTT = struct.Struct("@I")
TCPI_RTT_OFFSET = 68
TCPI_BYTES = struct.Struct("@Q")
TCPI_BYTES_ACKED_OFFSET = 120
TCPI_BYTES_RECEIVED_OFFSET = 128
# A fixed send buffer as large as autotuning's ceiling (net.ipv4.tcp_wmem), so a
# moment without CPU for this process never leaves the link idle.
SEND_BUFFER_BYTES = 4 << 20
# How long a test waits its turn for one of the collector's slots: wards whose rounds
# fall due together queue there.
SLOT_PATIENCE_SECONDS = 300.0


class BandwidthConfig(ProbeConfig):
    duration_seconds: float = Field(default=10.0, gt=0.0, le=120.0)
    streams: int = Field(default=4, ge=1, le=16)
    # Left out of the figure: TCP slow start and queue filling (iperf3 -O).
    warmup_seconds: float = Field(default=2.0, ge=0.0, le=30.0)
    # Connecting, each control request, and the longest a stream may stall.
    timeout_seconds: float = Field(default=5.0, gt=0.0, le=120.0)
    token: Secret | None = None
    ca_file: str | None = None


def needed_seconds(config: BandwidthConfig) -> float:
    """What a test takes once it holds a slot: both directions with their warm-up, and
    the control requests around them."""
    return 2 * (config.warmup_seconds + config.duration_seconds) + 2 * config.timeout_seconds


def budget_seconds(config: BandwidthConfig) -> float:
    """The whole time budget of one test, the wait for a slot included; the agent's
    rounds and the technician's command line both give a test this much."""
    return needed_seconds(config) + SLOT_PATIENCE_SECONDS


class BandwidthResult(ProbeResult):
    url: str
    download_bytes_per_second: float | None = Field(default=None, ge=0.0)
    upload_bytes_per_second: float | None = Field(default=None, ge=0.0)
    # Round-trip time under load: the upload streams' smoothed TCP RTT over the measured
    # window (kernel-measured, queueing included); without TCP_INFO, timed idle pings.
    rtt_seconds: float | None = Field(default=None, ge=0.0)
    streams: int = Field(ge=0)
    slot_wait_seconds: float | None = Field(default=None, ge=0.0)
    download_bytes: int = Field(default=0, ge=0)
    upload_bytes: int = Field(default=0, ge=0)
    download_seconds: float | None = Field(default=None, ge=0.0)
    upload_seconds: float | None = Field(default=None, ge=0.0)


class BandwidthFailure(Exception):
    """A measurement that could not be made; its message goes into the result."""


@dataclass(frozen=True)
class _Endpoint:
    base_url: str
    host: str
    port: int
    path: str
    ssl: ssl.SSLContext | None

    @property
    def host_header(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        default = 443 if self.ssl else 80
        return host if self.port == default else f"{host}:{self.port}"


def _endpoint(target: str, config: BandwidthConfig) -> _Endpoint:
    parts = urlsplit(target)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise BandwidthFailure(f"not a collector URL: {target!r} (expected http[s]://host[:port])")
    context = None
    if parts.scheme == "https":
        context = ssl.create_default_context(cafile=config.ca_file)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
    port = parts.port or (443 if context else 80)
    return _Endpoint(target.rstrip("/"), parts.hostname, port, parts.path.rstrip("/"), context)


def _tcp_info(sock: object) -> bytes | None:
    getsockopt = getattr(sock, "getsockopt", None)
    if getsockopt is None or not hasattr(socket, "TCP_INFO"):
        return None
    try:
        info: bytes = getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, TCP_INFO_LENGTH)
    except OSError:
        return None
    return info


class _Stream:
    """One TCP connection of a phase: what it moved, and what went wrong if anything."""

    def __init__(self, endpoint: _Endpoint, phase: Phase, request_head: bytes):
        self.endpoint = endpoint
        self.phase = phase
        self.request_head = request_head
        self.moved = 0  # bytes read (download) or written (upload) after the headers
        self.error: str | None = None
        self.ended = False
        self.end_of_stream_at: float | None = None
        self.head_bytes = 0  # the download's response head, which the kernel counts too
        self._last_acked: int | None = None
        self.writer: asyncio.StreamWriter | None = None
        self.reader: asyncio.StreamReader | None = None

    async def connect(self) -> None:
        e = self.endpoint
        try:
            self.reader, self.writer = await asyncio.open_connection(
                e.host, e.port, ssl=e.ssl, server_hostname=e.host if e.ssl else None,
                limit=STREAM_BUFFER_BYTES,
            )
        except (OSError, ssl.SSLError) as exc:
            raise BandwidthFailure(
                f"cannot connect to {e.host}:{e.port}: {exc or type(exc).__name__}"
            ) from None

    def counted(self) -> int:
        """Bytes to count for the figure, as the kernel saw them at this instant.

        Download: received (whether or not this process has read them yet, so a
        late wake-up does not shift bytes between windows). Upload: acknowledged
        by the collector (bytes still in the send buffer have not crossed the link).
        """
        if self.phase == "download":
            if self.end_of_stream_at is None:
                info = self._info()
                if info is not None and len(info) >= TCPI_BYTES_RECEIVED_OFFSET + 8:
                    received: int = TCPI_BYTES.unpack_from(info, TCPI_BYTES_RECEIVED_OFFSET)[0]
                    return received
            # Once everything was read (or without TCP_INFO) this is the same count.
            return self.head_bytes + self.moved
        info = self._info()
        if info is not None and len(info) >= TCPI_BYTES_ACKED_OFFSET + 8:
            self._last_acked = TCPI_BYTES.unpack_from(info, TCPI_BYTES_ACKED_OFFSET)[0]
        # A closed socket has no TCP_INFO: keep its last count rather than switch basis.
        return self.moved if self._last_acked is None else self._last_acked

    def rtt_seconds(self) -> float | None:
        info = self._info()
        if info is None or len(info) < TCPI_RTT_OFFSET + 4:
            return None
        microseconds = TCPI_RTT.unpack_from(info, TCPI_RTT_OFFSET)[0]
        return microseconds / 1e6 if microseconds else None

    def _info(self) -> bytes | None:
        if self.writer is None:
            return None
        return _tcp_info(self.writer.get_extra_info("socket"))

    async def run(self) -> None:
        try:
            await (self._download() if self.phase == "download" else self._upload())
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError,
                ssl.SSLError, TimeoutError) as exc:
            if self.error is None:
                self.error = f"{self.phase} stream broke: {exc or type(exc).__name__}"
        finally:
            self.ended = True

    async def _read_head(self) -> None:
        assert self.reader is not None
        head = await self.reader.readuntil(b"\r\n\r\n")
        self.head_bytes = len(head)
        status_line = head.split(b"\r\n", 1)[0].decode("latin-1")
        parts = status_line.split(" ", 2)
        if len(parts) < 2 or parts[1] != "200":
            body = await asyncio.wait_for(self.reader.read(2000), 1.0)
            detail = body.decode("utf-8", "replace").strip()
            self.error = f"collector answered {status_line.strip()!r} to the {self.phase}: {detail}"
            raise OSError(self.error)

    async def _download(self) -> None:
        assert self.reader is not None and self.writer is not None
        self.writer.write(self.request_head)
        await self._read_head()
        # The chunked framing is a few bytes per 256 KiB: counted, not parsed.
        while data := await self.reader.read(READ_BYTES):
            self.moved += len(data)
        self.end_of_stream_at = time.monotonic()

    async def _upload(self) -> None:
        assert self.writer is not None
        sock = self.writer.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SEND_BUFFER_BYTES)
        self.writer.write(self.request_head)
        payload = _random_payload()
        frame = f"{len(payload):x}\r\n".encode() + payload + b"\r\n"
        # The collector only answers an upload that it refuses (or cuts short).
        answer = asyncio.ensure_future(self._read_head())
        try:
            # Written until the probe has measured enough and aborts the connection.
            while not answer.done():
                self.writer.write(frame)
                await self.writer.drain()
                self.moved += len(payload)
            answer.result()
            self.error = "the collector ended the upload before the probe had measured enough"
        finally:
            if answer.done() and not answer.cancelled():
                answer.exception()  # seen here; the stream's error says what it was
            answer.cancel()

    def abort(self) -> None:
        if self.writer is not None:
            self.writer.transport.abort()


@functools.cache
def _random_payload() -> bytes:
    # Incompressible and made once: link compression must not flatter the figure.
    return os.urandom(CHUNK_BYTES)


def _request_head(method: str, path: str, endpoint: _Endpoint, token: Secret | None,
                  upload: bool) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", f"Host: {endpoint.host_header}",
             "User-Agent: sansang-agent", "Accept-Encoding: identity", "Connection: close"]
    if token:
        lines.append(f"Authorization: Bearer {token.reveal()}")
    if upload:
        lines += ["Content-Type: application/octet-stream", "Transfer-Encoding: chunked"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


@dataclass
class _Measured:
    bytes_per_second: float
    bytes: int
    seconds: float
    rtts: list[float]


async def _measure(
    endpoint: _Endpoint, slot: str, phase: Phase, config: BandwidthConfig, deadline: float,
    progress: Progress | None,
) -> _Measured:
    listen = config.warmup_seconds + config.duration_seconds
    if phase == "download":
        seconds = listen + DOWNLOAD_SLACK_SECONDS
        path = f"{endpoint.path}/speedtest/download?slot={quote(slot)}&seconds={seconds:.3f}"
        head = _request_head("GET", path, endpoint, config.token, upload=False)
    else:
        path = f"{endpoint.path}/speedtest/upload?slot={quote(slot)}"
        head = _request_head("POST", path, endpoint, config.token, upload=True)
    streams = [_Stream(endpoint, phase, head) for _ in range(config.streams)]
    tasks: list[asyncio.Task[None]] = []
    try:
        try:
            async with asyncio.timeout(min(config.timeout_seconds, remaining(deadline))):
                await asyncio.gather(*(s.connect() for s in streams))
        except TimeoutError:
            raise BandwidthFailure(
                f"cannot connect to {endpoint.host}:{endpoint.port} for the {phase}: "
                f"no answer within {config.timeout_seconds:g} s"
            ) from None
        if remaining(deadline) < listen:
            raise BandwidthFailure(f"the deadline leaves no time for the {phase}")
        tasks = [asyncio.create_task(s.run()) for s in streams]
        return await _watch(streams, phase, config, progress)
    finally:
        for stream in streams:
            stream.abort()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def _watch(
    streams: list[_Stream], phase: Phase, config: BandwidthConfig, progress: Progress | None,
) -> _Measured:
    """Sample the streams until the window closes; the rate is over the window only."""
    started = time.monotonic()
    window_opens = started + config.warmup_seconds
    window_closes = window_opens + config.duration_seconds
    opened_at: float | None = None
    opened_with = 0
    rtts: list[float] = []
    last_bytes = 0
    last_progress_at, last_progress_bytes = started, 0
    stalled_since = started
    # Bounded by window_closes: each turn sleeps until the next tick.
    while True:
        now = time.monotonic()
        for stream in streams:
            if stream.error is not None:
                raise BandwidthFailure(stream.error)
            if stream.end_of_stream_at is not None and stream.end_of_stream_at < window_closes:
                raise BandwidthFailure("the collector ended the download before the probe "
                                       "had measured enough")
        total = sum(s.counted() for s in streams)
        if total > last_bytes:
            stalled_since = now
        elif now - stalled_since > config.timeout_seconds:
            raise BandwidthFailure(
                f"the {phase} stalled: nothing moved for {config.timeout_seconds:g} s"
            )
        if opened_at is None and now >= window_opens:
            opened_at, opened_with = now, total
        elif opened_at is not None and phase == "upload":
            # The sender's smoothed RTT; a receiver's TCP has no fresh samples of its own.
            rtts += [r for r in (s.rtt_seconds() for s in streams) if r is not None]
        if now >= window_closes and opened_at is not None:
            seconds = now - opened_at
            moved = total - opened_with
            return _Measured(moved / seconds if seconds > 0 else 0.0, moved, seconds, rtts)
        if progress is not None and now - last_progress_at >= PROGRESS_EVERY_SECONDS:
            progress(phase, now - started,
                     (total - last_progress_bytes) / (now - last_progress_at))
            last_progress_at, last_progress_bytes = now, total
        last_bytes = total
        next_tick = min(now + PROGRESS_EVERY_SECONDS / 5, window_closes)
        if opened_at is None:
            next_tick = min(next_tick, window_opens)
        await asyncio.sleep(max(0.0, next_tick - time.monotonic()))


async def _acquire_slot(
    session: aiohttp.ClientSession, endpoint: _Endpoint, config: BandwidthConfig,
    deadline: float, needed: float,
) -> tuple[str, float]:
    """A slot id and its max_seconds, waiting our turn as long as the deadline allows."""
    url = f"{endpoint.base_url}/speedtest/slot"
    # Bounded by the deadline; the collector answers 503 when its own wait limit passes.
    while True:
        patience = remaining(deadline) - needed
        if patience < 0:
            raise BandwidthFailure("no speed-test slot came free before the deadline")
        timeout = aiohttp.ClientTimeout(total=patience + config.timeout_seconds)
        async with session.post(url, json={"wait_seconds": patience}, timeout=timeout) as response:
            if response.status == 503 and remaining(deadline) - needed > 1.0:
                continue
            if response.status != 200:
                text = await reason_text(response)
                raise BandwidthFailure(f"collector refused a speed-test slot: "
                                       f"HTTP {response.status} {text}")
            body = await json_object(response)
        slot, max_seconds = body.get("slot"), body.get("max_seconds", 0.0)
        if (not isinstance(slot, str) or not 0 < len(slot) <= 200
                or not isinstance(max_seconds, int | float)
                or not math.isfinite(max_seconds)):
            raise BandwidthFailure("collector's slot answer lacks a slot id and max_seconds")
        return slot, float(max_seconds)


async def _timed_pings(session: aiohttp.ClientSession, endpoint: _Endpoint) -> list[float]:
    """Round trips of a few empty requests on one kept-alive connection (the first warms it)."""
    rtts = []
    for _ in range(PINGS + 1):
        sent_at = time.monotonic()
        async with session.get(f"{endpoint.base_url}/speedtest/ping") as response:
            await read_bounded(response, 4096)
        rtts.append(time.monotonic() - sent_at)
    return sorted(rtts[1:])[: PINGS // 2 + 1]


async def _release_slot(
    session: aiohttp.ClientSession, endpoint: _Endpoint, slot: str, config: BandwidthConfig,
) -> None:
    # Best effort: if this fails the lease lapses on its own within seconds.
    with contextlib.suppress(aiohttp.ClientError, TimeoutError):
        timeout = aiohttp.ClientTimeout(total=min(config.timeout_seconds, 2.0))
        async with session.delete(f"{endpoint.base_url}/speedtest/slot/{quote(slot)}",
                                  timeout=timeout):
            pass


async def probe(
    target: str,
    config: BandwidthConfig,
    deadline: float,
    progress: Progress | None = None,
) -> BandwidthResult:
    """Measure download then upload to the collector at ``target`` (its base URL).

    ``progress``, when given, is called about twice a second with the phase
    ("download" or "upload"), the seconds since that phase began and the current
    rate in bytes per second.
    """
    started = time.monotonic()
    result = BandwidthResult(up=False, url=target, streams=config.streams)
    try:
        endpoint = _endpoint(target, config)
        await _run(endpoint, config, deadline, progress, result)
        result.up = True
    except BandwidthFailure as exc:
        result.error = str(exc)
    except (aiohttp.ClientError, TimeoutError, OSError, ValueError, KeyError) as exc:
        result.error = f"speed test with {target} failed: {exc or type(exc).__name__}"
    result.duration_seconds = time.monotonic() - started
    return result


async def _run(
    endpoint: _Endpoint, config: BandwidthConfig, deadline: float, progress: Progress | None,
    result: BandwidthResult,
) -> None:
    phase_seconds = config.warmup_seconds + config.duration_seconds
    needed = needed_seconds(config)
    if remaining(deadline) < needed:
        raise BandwidthFailure(
            f"the deadline leaves {remaining(deadline):.1f} s; this test needs about {needed:.1f} s"
        )
    headers = {"Authorization": f"Bearer {config.token.reveal()}"} if config.token else {}
    connector = aiohttp.TCPConnector(ssl=endpoint.ssl if endpoint.ssl is not None else True)
    async with aiohttp.ClientSession(
        headers=headers, connector=connector,
        timeout=aiohttp.ClientTimeout(total=config.timeout_seconds),
    ) as session:
        asked_at = time.monotonic()
        slot, max_seconds = await _acquire_slot(session, endpoint, config, deadline, needed)
        result.slot_wait_seconds = time.monotonic() - asked_at
        try:
            if max_seconds and phase_seconds + DOWNLOAD_SLACK_SECONDS > max_seconds:
                raise BandwidthFailure(
                    f"the collector allows {max_seconds:g} s per direction; warm-up plus "
                    f"duration ({phase_seconds:g} s) needs {DOWNLOAD_SLACK_SECONDS:g} s less"
                )
            down = await _measure(endpoint, slot, "download", config, deadline, progress)
            result.download_bytes_per_second = down.bytes_per_second
            result.download_bytes, result.download_seconds = down.bytes, down.seconds
            up = await _measure(endpoint, slot, "upload", config, deadline, progress)
            result.upload_bytes_per_second = up.bytes_per_second
            result.upload_bytes, result.upload_seconds = up.bytes, up.seconds
            rtts = up.rtts
            if not rtts:
                rtts = await _timed_pings(session, endpoint)
            result.rtt_seconds = sum(rtts) / len(rtts) if rtts else None
        finally:
            await _release_slot(session, endpoint, slot, config)


# --- the kind, declared once

FAMILIES = (
    Family("sansang_bandwidth_download_bytes_per_second", "Measured download throughput."),
    Family("sansang_bandwidth_upload_bytes_per_second", "Measured upload throughput."),
)


def series(target: str, result: BandwidthResult, ward: Ward) -> list[Sample]:
    out: list[Sample] = []
    labels = {"link": target}
    add(out, "sansang_bandwidth_download_bytes_per_second", labels,
        result.download_bytes_per_second)
    add(out, "sansang_bandwidth_upload_bytes_per_second", labels, result.upload_bytes_per_second)
    return out


def failed(target: str, error: str) -> BandwidthResult:
    return BandwidthResult(up=False, error=error, url=target, streams=0)


def _arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("collector_url", metavar="COLLECTOR_URL",
                        help="collector base URL, e.g. https://collector:8080/")
    parser.add_argument("--duration", type=float, default=10,
                        help="seconds of measurement per direction (default 10)")
    parser.add_argument("--streams", type=int, default=4, help="parallel TCP streams (default 4)")
    parser.add_argument("--token-file", default=None,
                        help="file holding the ward's token, if the collector asks for one")
    parser.add_argument("--ca-file", default=None, help="CA file to verify the collector")


def _from_arguments(args: argparse.Namespace) -> tuple[list[str], dict[str, Any]]:
    fields: dict[str, Any] = {"duration_seconds": args.duration, "streams": args.streams,
                              "ca_file": args.ca_file}
    if args.token_file:
        fields["token"] = Secret.from_file(args.token_file)
    return [args.collector_url], fields


KIND = ProbeKind(
    "bandwidth", BandwidthConfig, BandwidthResult, probe, FAMILIES, series, failed,
    budget_seconds,
    columns=[("up", "up", ""), ("download_bytes_per_second", "download", "B/s"),
             ("upload_bytes_per_second", "upload", "B/s"), ("rtt_seconds", "rtt", "s"),
             ("streams", "streams", "")],
    cli=ProbeCli("download and upload against the collector", _arguments, _from_arguments),
)
