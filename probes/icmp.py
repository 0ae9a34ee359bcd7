"""ICMP echo probe: RTT min/avg/max, jitter and loss to one host.

Loss is computed from what was really sent and received (icmplib's own
``packet_loss`` says 0 when nothing was sent). The socket kind is chosen once:
an unprivileged datagram socket when this process's group may use one, a raw
socket when it holds CAP_NET_RAW, otherwise a clear error saying how to fix it.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Sequence
from functools import lru_cache
from typing import Literal

from icmplib import (
    AsyncSocket,
    ICMPLibError,
    ICMPRequest,
    ICMPv4Socket,
    ICMPv6Socket,
    TimeoutExceeded,
    is_ipv6_address,
)
from icmplib.utils import unique_identifier
from pydantic import Field

from probes.base import ProbeConfig, ProbeResult, remaining
from probes.stats import jitter, loss_ratio

SocketMode = Literal["unprivileged", "raw"]

CAP_NET_RAW_BIT = 13
# Raw sockets each receive every ICMP reply on the host, so many at once drown
# each other (see NOTES-LIBRARIES.md); datagram sockets are demultiplexed by the kernel.
MAX_CONCURRENT_RAW = 16
MAX_CONCURRENT_UNPRIVILEGED = 256


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
    """Send ``config.count`` echo requests to ``target`` and summarise the replies."""
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
    socket_class = ICMPv6Socket if is_ipv6_address(target) else ICMPv4Socket
    try:
        raw_socket = socket_class(privileged=(mode == "raw"))
    except ICMPLibError as exc:
        return failed(f"cannot open {mode} ICMP socket: {exc}", mode=mode)

    rtts: list[float] = []
    sent = 0
    identifier = unique_identifier()
    with AsyncSocket(raw_socket) as sock:
        for sequence in range(config.count):
            if sequence > 0 and config.interval_seconds:
                if remaining(deadline) <= config.interval_seconds:
                    break
                await asyncio.sleep(config.interval_seconds)
            wait = min(config.timeout_seconds, remaining(deadline))
            if wait <= 0:
                break
            request = ICMPRequest(
                destination=target, id=identifier, sequence=sequence,
                payload_size=config.payload_size,
            )
            try:
                sock.send(request)
            except ICMPLibError as exc:
                return failed(f"cannot send to {target}: {exc}", sent=sent, mode=mode)
            sent += 1
            try:
                reply = await sock.receive(request, wait)
                reply.raise_for_status()
            except TimeoutExceeded:
                continue
            except ICMPLibError:
                # An ICMP error (unreachable, TTL exceeded) is a lost echo, not a bug.
                continue
            rtts.append(reply.time - request.time)

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


async def probe_many(
    targets: Sequence[str], config: IcmpConfig, deadline: float
) -> list[IcmpResult]:
    """Probe several hosts at once, as many in flight as the socket kind allows."""
    limit = asyncio.Semaphore(max_concurrency())

    async def one(target: str) -> IcmpResult:
        async with limit:
            return await probe(target, config, deadline)

    return list(await asyncio.gather(*(one(t) for t in targets)))
