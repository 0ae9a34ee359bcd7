"""ICMP echo probe: RTT min/avg/max, jitter and loss to one host.

Loss is computed from what was really sent and received (icmplib's own
``packet_loss`` says 0 when nothing was sent). The socket kind is chosen once:
an unprivileged datagram socket when this process's group may use one, a raw
socket when it holds CAP_NET_RAW, otherwise a clear error saying how to fix it.
"""

from __future__ import annotations

import asyncio
import os
import socket
import struct
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Literal

from icmplib import (
    ICMPLibError,
    ICMPRequest,
    ICMPv4Socket,
    ICMPv6Socket,
    is_ipv6_address,
)
from icmplib.utils import unique_identifier
from pydantic import Field

from probes.base import ProbeConfig, ProbeResult
from probes.stats import jitter, loss_ratio

SocketMode = Literal["unprivileged", "raw"]

CAP_NET_RAW_BIT = 13
# Raw sockets each receive every ICMP reply on the host, so many at once drown
# each other (see NOTES-LIBRARIES.md); datagram sockets are demultiplexed by the kernel.
MAX_CONCURRENT_RAW = 16
MAX_CONCURRENT_UNPRIVILEGED = 256
ICMPV4_ECHO_REPLY = 0
ICMPV6_ECHO_REPLY = 129
# Python does not export it; 35 on every Linux architecture.
SO_TIMESTAMPNS = getattr(socket, "SO_TIMESTAMPNS", 35)
TIMESPEC = struct.Struct("@qq")
RECEIVE_BUFFER = 2048
ANCILLARY_BUFFER = 64
MAX_READS_PER_WAKEUP = 256


class IcmpConfig(ProbeConfig):
    count: int = Field(default=5, ge=1, le=10_000)
    interval_seconds: float = Field(default=0.2, ge=0.0, le=60.0)
    # Per packet: how long to wait for one echo reply.
    timeout_seconds: float = Field(default=1.0, gt=0.0, le=60.0)
    payload_size: int = Field(default=56, ge=0, le=1400)


class IcmpResult(ProbeResult):
    host: str
    sent: int = Field(ge=0)
    received: int = Field(ge=0)
    loss_ratio: float = Field(ge=0.0, le=1.0)
    rtt_min_seconds: float | None = Field(default=None, ge=0.0)
    rtt_avg_seconds: float | None = Field(default=None, ge=0.0)
    rtt_max_seconds: float | None = Field(default=None, ge=0.0)
    jitter_seconds: float | None = Field(default=None, ge=0.0)
    rtts_seconds: list[float] = Field(default_factory=list, max_length=10_000)
    socket: SocketMode | None = None


class IcmpUnavailable(Exception):
    """Neither an unprivileged nor a raw ICMP socket may be opened by this process."""


def _ping_group_range() -> tuple[int, int]:
    try:
        with open("/proc/sys/net/ipv4/ping_group_range") as f:
            low, high = f.read().split()
        return int(low), int(high)
    except (OSError, ValueError):
        return 1, 0


def _has_cap_net_raw() -> bool:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("CapEff:"):
                    return bool(int(line.split()[1], 16) >> CAP_NET_RAW_BIT & 1)
    except OSError:
        pass
    return os.geteuid() == 0


@lru_cache(maxsize=1)
def socket_mode() -> SocketMode:
    """Which ICMP socket this process may open, or IcmpUnavailable saying why not."""
    low, high = _ping_group_range()
    groups = {os.getegid(), *os.getgroups()}
    if any(low <= g <= high for g in groups):
        return "unprivileged"
    if _has_cap_net_raw():
        return "raw"
    raise IcmpUnavailable(
        "cannot send ICMP: this process's groups "
        f"{sorted(groups)} are outside net.ipv4.ping_group_range ({low} {high}) "
        "and it lacks CAP_NET_RAW. Either allow unprivileged ping "
        "(sysctl -w net.ipv4.ping_group_range='0 2147483647') or give the agent "
        "CAP_NET_RAW (systemd: AmbientCapabilities=CAP_NET_RAW)."
    )


def max_concurrency() -> int:
    try:
        return MAX_CONCURRENT_RAW if socket_mode() == "raw" else MAX_CONCURRENT_UNPRIVILEGED
    except IcmpUnavailable:
        return 1


async def probe(target: str, config: IcmpConfig, deadline: float) -> IcmpResult:
    """Send ``config.count`` echo requests to ``target`` and summarise the replies.

    Requests leave on a fixed schedule, one every ``interval_seconds`` whatever the
    replies do (as ping and fping pace them), and each waits ``timeout_seconds``
    for its reply. A request is only sent when its whole timeout fits before
    ``deadline`` (the first always goes), so loss is never counted on a request
    that was not given its full chance.
    """
    started = time.monotonic()

    def failed(error: str, sent: int = 0, mode: SocketMode | None = None) -> IcmpResult:
        return IcmpResult(
            up=False, error=error, host=target, sent=sent, received=0, loss_ratio=1.0,
            socket=mode, duration_seconds=time.monotonic() - started,
        )

    try:
        mode = socket_mode()
    except IcmpUnavailable as exc:
        return failed(str(exc))
    ipv6 = is_ipv6_address(target)
    socket_class = ICMPv6Socket if ipv6 else ICMPv4Socket
    try:
        icmp_socket = socket_class(privileged=(mode == "raw"))
    except ICMPLibError as exc:
        return failed(f"cannot open {mode} ICMP socket: {exc}", mode=mode)

    with icmp_socket:
        sock = icmp_socket.sock
        sock.setblocking(False)
        # The kernel stamps each reply on arrival, so the RTT does not include how
        # long this process took to wake up (which is what fping reports too).
        sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
        arrivals: asyncio.Queue[tuple[bytes, float]] = asyncio.Queue()
        loop = asyncio.get_running_loop()
        loop.add_reader(sock.fileno(), _drain, sock, arrivals)
        try:
            exchange = await _exchange(icmp_socket, target, config, deadline, arrivals, ipv6)
        finally:
            loop.remove_reader(sock.fileno())
    if exchange.send_error is not None:
        return failed(exchange.send_error, sent=exchange.sent, mode=mode)

    rtts = [exchange.rtts[seq] for seq in sorted(exchange.rtts)]
    sent = exchange.sent
    received = len(rtts)
    error = None
    if sent == 0:
        error = "no echo request could be sent before the deadline"
    elif received == 0:
        error = f"no reply from {target} ({sent} sent)"
    return IcmpResult(
        up=received > 0,
        error=error,
        host=target,
        sent=sent,
        received=received,
        loss_ratio=loss_ratio(sent, received),
        rtt_min_seconds=min(rtts) if rtts else None,
        rtt_avg_seconds=sum(rtts) / received if rtts else None,
        rtt_max_seconds=max(rtts) if rtts else None,
        jitter_seconds=jitter(rtts) if rtts else None,
        rtts_seconds=rtts,
        socket=mode,
        duration_seconds=time.monotonic() - started,
    )


@dataclass
class _Exchange:
    sent: int = 0
    rtts: dict[int, float] = field(default_factory=dict)
    send_error: str | None = None


def _drain(sock: socket.socket, arrivals: asyncio.Queue[tuple[bytes, float]]) -> None:
    """Read every datagram waiting on ``sock`` with its kernel arrival time."""
    for _ in range(MAX_READS_PER_WAKEUP):
        try:
            data, ancillary, _flags, _address = sock.recvmsg(RECEIVE_BUFFER, ANCILLARY_BUFFER)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            # An ICMP error queued on the socket; the request it concerns is lost.
            continue
        arrived = time.time()
        for level, kind, value in ancillary:
            if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS:
                seconds, nanoseconds = TIMESPEC.unpack(value[: TIMESPEC.size])
                arrived = seconds + nanoseconds / 1e9
        arrivals.put_nowait((data, arrived))


def _echo_reply_id_sequence(data: bytes, ipv6: bool, raw: bool) -> tuple[int, int] | None:
    """(identifier, sequence) of an echo reply, or None for anything else."""
    # Raw IPv4 sockets hand over the IP header too; datagram and IPv6 sockets do not.
    if raw and not ipv6:
        if len(data) < 20 or data[0] >> 4 != 4:
            return None
        data = data[(data[0] & 0x0F) * 4 :]
    if len(data) < 8 or data[0] != (ICMPV6_ECHO_REPLY if ipv6 else ICMPV4_ECHO_REPLY):
        return None
    identifier, sequence = struct.unpack("!HH", data[4:8])
    return identifier, sequence


async def _exchange(
    icmp_socket: ICMPv4Socket | ICMPv6Socket,
    target: str,
    config: IcmpConfig,
    deadline: float,
    arrivals: asyncio.Queue[tuple[bytes, float]],
    ipv6: bool,
) -> _Exchange:
    result = _Exchange()
    raw = icmp_socket.is_privileged
    identifier = unique_identifier()
    # sequence -> (wall-clock send time, monotonic expiry of its timeout)
    waiting: dict[int, tuple[float, float]] = {}
    first_send = time.monotonic()
    sending = True
    # Bounded: each turn sends a request, takes a reply, or passes a timer, and
    # there are at most count of each before the deadline.
    while True:
        now = time.monotonic()
        if sending and result.sent < config.count:
            due = first_send + result.sent * config.interval_seconds
            if result.sent > 0 and due + config.timeout_seconds > deadline:
                sending = False
            elif now >= due:
                if deadline - now <= 0:
                    sending = False
                else:
                    request = ICMPRequest(
                        destination=target, id=identifier, sequence=result.sent,
                        payload_size=config.payload_size,
                    )
                    try:
                        icmp_socket.send(request)
                    except ICMPLibError as exc:
                        result.send_error = f"cannot send to {target}: {exc}"
                        return result
                    # A datagram socket's identifier is chosen by the kernel.
                    identifier = request.id
                    waiting[request.sequence] = (
                        request.time, min(now + config.timeout_seconds, deadline)
                    )
                    result.sent += 1
                    continue
        else:
            sending = False
        for sequence, (_, expiry) in list(waiting.items()):
            if now >= expiry:
                del waiting[sequence]
        if not sending and not waiting:
            return result
        wake = min([expiry for _, expiry in waiting.values()] + [deadline])
        if sending:
            wake = min(wake, first_send + result.sent * config.interval_seconds)
        try:
            data, arrived = await asyncio.wait_for(arrivals.get(), max(wake - now, 0.0))
        except TimeoutError:
            continue
        reply = _echo_reply_id_sequence(data, ipv6, raw)
        if reply is None or reply[0] != identifier or reply[1] not in waiting:
            continue
        sent_at, _ = waiting.pop(reply[1])
        rtt = arrived - sent_at
        if 0.0 <= rtt <= config.timeout_seconds:
            result.rtts[reply[1]] = rtt


async def probe_many(
    targets: Sequence[str], config: IcmpConfig, deadline: float
) -> list[IcmpResult]:
    """Probe several hosts at once, as many in flight as the socket kind allows."""
    limit = asyncio.Semaphore(max_concurrency())

    async def one(target: str) -> IcmpResult:
        async with limit:
            return await probe(target, config, deadline)

    return list(await asyncio.gather(*(one(t) for t in targets)))
