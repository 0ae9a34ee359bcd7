"""ICMP echo probe: RTT min/avg/max, jitter and loss to one host.

Loss is computed from what was really sent and received (icmplib's own
``packet_loss`` says 0 when nothing was sent). The socket kind is chosen once:
an unprivileged datagram socket when this process's group may use one, a raw
socket when it holds CAP_NET_RAW (one per address family, shared by every probe
of the event loop: see icmp_socket), otherwise a clear error saying how to fix it.
"""

from __future__ import annotations

import asyncio
import os
import socket
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Literal

from icmplib import (
    ICMPLibError,
    ICMPRequest,
    ICMPv4Socket,
    ICMPv6Socket,
    is_ipv6_address,
)
from pydantic import Field

from probes import icmp_socket
from probes.base import ProbeCli, ProbeConfig, ProbeKind, ProbeResult
from probes.icmp_socket import (
    ANCILLARY_BUFFER,
    MAX_READS_PER_WAKEUP,
    RECEIVE_BUFFER,
    SO_TIMESTAMPNS,
    Arrival,
    arrival_time,
    echo_reply,
)
from probes.series import Family, Sample, add
from probes.stats import jitter, loss_ratio

if TYPE_CHECKING:
    import argparse

    from inventory.model import Ward

SocketMode = Literal["unprivileged", "raw"]

CAP_NET_RAW_BIT = 13
# Probes in flight at once in probe_many. Raw probes share one socket, datagram
# probes hold one each; either way every probe's requests leave in the same
# instant, so this also bounds the burst.
MAX_CONCURRENT = 256
# After the shared raw socket's send buffer was full: how soon to try again.
SEND_RETRY_SECONDS = 0.001


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


async def probe(target: str, config: IcmpConfig, deadline: float) -> IcmpResult:
    """Send ``config.count`` echo requests to ``target`` and summarise the replies.

    Requests leave on a fixed schedule, one every ``interval_seconds`` whatever the
    replies do (as ping and fping pace them), and each waits ``timeout_seconds``
    for its reply. A request is only sent when its whole timeout fits before
    ``deadline`` (the first always goes), so loss is never counted on a request
    that was not given its full chance.
    """
    started = time.monotonic()
    mode: SocketMode | None = None
    try:
        mode = socket_mode()
    except IcmpUnavailable as exc:
        exchange = _Exchange(error=str(exc))
    else:
        ipv6 = is_ipv6_address(target)
        if mode == "raw":
            exchange = await _over_shared_raw_socket(target, config, deadline, ipv6)
        else:
            exchange = await _over_datagram_socket(target, config, deadline, ipv6)

    rtts = [exchange.rtts[seq] for seq in sorted(exchange.rtts)]
    sent = exchange.sent
    received = len(rtts)
    error = exchange.error
    if error is not None:
        rtts, received = [], 0
    elif sent == 0:
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
    # Set when the exchange could not be carried out (nothing opened, a send refused).
    error: str | None = None


# Sends echo request number ``sequence``: (identifier, wall-clock time it left), or
# None when the socket could not take it yet. Raises ICMPLibError or OSError on failure.
_Send = Callable[[int], tuple[int, float] | None]


async def _over_datagram_socket(
    target: str, config: IcmpConfig, deadline: float, ipv6: bool
) -> _Exchange:
    """The exchange on a socket of its own, whose replies the kernel sorts out."""
    socket_class = ICMPv6Socket if ipv6 else ICMPv4Socket
    try:
        datagram = socket_class(privileged=False)
    except ICMPLibError as exc:
        return _Exchange(error=f"cannot open unprivileged ICMP socket: {exc}")

    def send(sequence: int) -> tuple[int, float]:
        # The kernel sets the identifier (the socket's own), and icmplib reads it back.
        request = ICMPRequest(destination=target, id=0, sequence=sequence,
                              payload_size=config.payload_size)
        datagram.send(request)
        return request.id, request.time

    with datagram:
        sock = datagram.sock
        sock.setblocking(False)
        # The kernel stamps each reply on arrival, so the RTT does not include how
        # long this process took to wake up (which is what fping reports too).
        sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
        arrivals: asyncio.Queue[Arrival] = asyncio.Queue()
        loop = asyncio.get_running_loop()
        loop.add_reader(sock.fileno(), _drain, sock, arrivals, ipv6)
        try:
            return await _exchange(send, arrivals, target, config, deadline)
        finally:
            loop.remove_reader(sock.fileno())


async def _over_shared_raw_socket(
    target: str, config: IcmpConfig, deadline: float, ipv6: bool
) -> _Exchange:
    """The exchange on the raw socket this loop's probes share, which sorts out replies."""
    family = socket.AF_INET6 if ipv6 else socket.AF_INET
    try:
        address = await icmp_socket.resolve(target, family, deadline)
    except (OSError, TimeoutError) as exc:
        return _Exchange(error=f"cannot resolve {target}: {str(exc) or 'timed out'}")
    try:
        echo = icmp_socket.join(family, address)
    except (OSError, icmp_socket.NoFreeIdentifier) as exc:
        return _Exchange(error=f"cannot open raw ICMP socket: {exc}")
    payload = bytes(config.payload_size)

    def send(sequence: int) -> tuple[int, float] | None:
        sent_at = echo.send(sequence, payload)
        return None if sent_at is None else (echo.identifier, sent_at)

    try:
        return await _exchange(send, echo.arrivals, target, config, deadline)
    finally:
        echo.close()


def _drain(sock: socket.socket, arrivals: asyncio.Queue[Arrival], ipv6: bool) -> None:
    """Queue every echo reply waiting on a datagram socket, with its kernel arrival time."""
    for _ in range(MAX_READS_PER_WAKEUP):
        try:
            data, ancillary, _flags, _address = sock.recvmsg(RECEIVE_BUFFER, ANCILLARY_BUFFER)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            # An ICMP error queued on the socket; the request it concerns is lost.
            continue
        reply = echo_reply(data, ipv6, ip_header=False)
        if reply is not None:
            arrivals.put_nowait((reply[0], reply[1], arrival_time(ancillary)))


async def _exchange(
    send: _Send,
    arrivals: asyncio.Queue[Arrival],
    target: str,
    config: IcmpConfig,
    deadline: float,
) -> _Exchange:
    result = _Exchange()
    identifier: int | None = None
    # sequence -> (wall-clock send time, monotonic expiry of its timeout)
    waiting: dict[int, tuple[float, float]] = {}
    first_send = time.monotonic()
    retry_at = first_send
    sending = True

    def next_due() -> float:
        return max(first_send + result.sent * config.interval_seconds, retry_at)

    # Bounded: each turn sends a request, takes a reply, or passes a timer, and
    # there are at most count of each before the deadline.
    while True:
        now = time.monotonic()
        if sending and result.sent < config.count:
            due = next_due()
            if result.sent > 0 and due + config.timeout_seconds > deadline:
                sending = False
            elif now >= due:
                if deadline - now <= 0:
                    sending = False
                else:
                    try:
                        sent = send(result.sent)
                    except (ICMPLibError, OSError) as exc:
                        result.error = f"cannot send to {target}: {exc}"
                        return result
                    if sent is None:
                        retry_at = now + SEND_RETRY_SECONDS
                    else:
                        identifier, sent_at = sent
                        waiting[result.sent] = (
                            sent_at, min(now + config.timeout_seconds, deadline)
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
            wake = min(wake, next_due())
        try:
            reply_identifier, sequence, arrived = await asyncio.wait_for(
                arrivals.get(), max(wake - now, 0.0))
        except TimeoutError:
            continue
        if reply_identifier != identifier or sequence not in waiting:
            continue
        sent_at, _ = waiting.pop(sequence)
        rtt = arrived - sent_at
        if 0.0 <= rtt <= config.timeout_seconds:
            result.rtts[sequence] = rtt


async def probe_many(
    targets: Sequence[str], config: IcmpConfig, deadline: float
) -> list[IcmpResult]:
    """Probe several hosts at once, at most MAX_CONCURRENT in flight."""
    limit = asyncio.Semaphore(MAX_CONCURRENT)

    async def one(target: str) -> IcmpResult:
        async with limit:
            return await probe(target, config, deadline)

    return list(await asyncio.gather(*(one(t) for t in targets)))


# --- the kind, declared once

FAMILIES = (
    Family("sansang_icmp_rtt_avg_seconds", "Average ICMP round-trip time."),
    Family("sansang_icmp_rtt_min_seconds", "Minimum ICMP round-trip time."),
    Family("sansang_icmp_rtt_max_seconds", "Maximum ICMP round-trip time."),
    Family("sansang_icmp_jitter_seconds",
           "Mean absolute difference of consecutive ICMP round-trip times."),
    Family("sansang_icmp_loss_ratio", "Share of ICMP echo requests without reply."),
)


def series(target: str, result: IcmpResult, ward: Ward) -> list[Sample]:
    out: list[Sample] = []
    labels = {"target": target}
    add(out, "sansang_icmp_rtt_avg_seconds", labels, result.rtt_avg_seconds)
    add(out, "sansang_icmp_rtt_min_seconds", labels, result.rtt_min_seconds)
    add(out, "sansang_icmp_rtt_max_seconds", labels, result.rtt_max_seconds)
    add(out, "sansang_icmp_jitter_seconds", labels, result.jitter_seconds)
    add(out, "sansang_icmp_loss_ratio", labels, result.loss_ratio)
    return out


def failed(target: str, error: str) -> IcmpResult:
    return IcmpResult(up=False, error=error, host=target, sent=0, received=0, loss_ratio=1.0)


def budget_seconds(config: IcmpConfig) -> float:
    return config.count * (config.interval_seconds + config.timeout_seconds) + 1


def _arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("hosts", nargs="+", metavar="HOST", help="host(s) to ping")
    parser.add_argument("--count", type=int, default=5, help="echo requests per host (default 5)")
    parser.add_argument("--interval", type=float, default=0.2,
                        help="seconds between requests to one host (default 0.2)")
    parser.add_argument("--timeout", type=float, default=1.0,
                        help="seconds to wait for each reply (default 1)")


def _from_arguments(args: argparse.Namespace) -> tuple[list[str], dict[str, Any]]:
    return list(args.hosts), {"count": args.count, "interval_seconds": args.interval,
                              "timeout_seconds": args.timeout}


KIND = ProbeKind(
    "icmp", IcmpConfig, IcmpResult, probe, FAMILIES, series, failed, budget_seconds,
    columns=[("host", "host", ""), ("sent", "sent", ""), ("received", "recv", ""),
             ("loss_ratio", "loss", "ratio"), ("rtt_min_seconds", "min", "s"),
             ("rtt_avg_seconds", "avg", "s"), ("rtt_max_seconds", "max", "s"),
             ("jitter_seconds", "jitter", "s")],
    cli=ProbeCli("ICMP echo: RTT, jitter, loss", _arguments, _from_arguments, json_list=True),
)
