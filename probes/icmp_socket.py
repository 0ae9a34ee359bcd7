"""ICMP echo at the socket level: kernel arrival times, echo replies, and one shared raw socket.

A raw ICMP socket is handed every ICMP message the host receives, so raw probes
share one socket per address family and event loop, as fping does: its reader
gives each echo reply to the probe whose identifier and address it carries, and
drops the rest. Identifiers are unique among the process's running probes.
"""

from __future__ import annotations

import asyncio
import secrets
import socket
import struct
import threading
import time
from typing import Any

from probes.base import remaining

ICMPV4_ECHO_REQUEST = 8
ICMPV4_ECHO_REPLY = 0
ICMPV6_ECHO_REQUEST = 128
ICMPV6_ECHO_REPLY = 129
# Python does not export these; the values are Linux's on every architecture.
SO_TIMESTAMPNS = getattr(socket, "SO_TIMESTAMPNS", 35)
SOL_RAW = 255
ICMP_FILTER = 1
ICMP6_FILTER = 1
TIMESPEC = struct.Struct("@qq")
ECHO_HEADER = struct.Struct("!BBHHH")
IPV4_SOURCE = slice(12, 16)
RECEIVE_BUFFER = 2048
ANCILLARY_BUFFER = 64
MAX_READS_PER_WAKEUP = 256
# Every probe's requests leave in the same instant, so the replies come in a
# burst while the loop is still sending; the kernel caps this at net.core.rmem_max.
SHARED_RECEIVE_BUFFER_BYTES = 1 << 20
SHARED_SEND_BUFFER_BYTES = 1 << 20
IDENTIFIERS = 1 << 16

# (identifier, sequence, kernel arrival time as time.time())
Arrival = tuple[int, int, float]


def arrival_time(ancillary: list[tuple[int, int, bytes]]) -> float:
    """When the kernel received a datagram (SO_TIMESTAMPNS), or now if it did not say."""
    for level, kind, value in ancillary:
        if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS:
            seconds, nanoseconds = TIMESPEC.unpack(value[: TIMESPEC.size])
            return seconds + nanoseconds / 1e9
    return time.time()


def echo_reply(data: bytes, ipv6: bool, ip_header: bool) -> tuple[int, int] | None:
    """(identifier, sequence) of an echo reply, or None for anything else.

    ``ip_header``: raw IPv4 sockets hand over the IP header too; datagram and
    IPv6 sockets do not.
    """
    if ip_header:
        if len(data) < 20 or data[0] >> 4 != 4:
            return None
        data = data[(data[0] & 0x0F) * 4 :]
    if len(data) < 8 or data[0] != (ICMPV6_ECHO_REPLY if ipv6 else ICMPV4_ECHO_REPLY):
        return None
    identifier, sequence = struct.unpack("!HH", data[4:8])
    return identifier, sequence


def checksum(data: bytes) -> int:
    """The Internet checksum (RFC 1071) of ``data``."""
    if len(data) % 2:
        data += b"\x00"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


async def resolve(target: str, family: int, deadline: float) -> tuple[Any, ...]:
    """The socket address to send to: an IP literal at once, a name through the
    resolver before ``deadline`` (TimeoutError, or OSError when it has no answer)."""
    try:
        infos = socket.getaddrinfo(target, None, family, socket.SOCK_RAW, 0,
                                   socket.AI_NUMERICHOST)
    except socket.gaierror:
        infos = await asyncio.wait_for(asyncio.get_running_loop().getaddrinfo(
            target, None, family=family, type=socket.SOCK_RAW), remaining(deadline))
    return infos[0][4]


def _packed(family: int, address: str) -> bytes:
    return socket.inet_pton(family, address.partition("%")[0])


class NoFreeIdentifier(Exception):
    """Every ICMP identifier is held by a running probe of this process."""


class _Identifiers:
    """Echo identifiers held by the process's running raw probes.

    Handed out in turn from a random start, so one just given back is not taken
    again at once (its late replies cannot reach a newer probe) and two agents
    on one host are unlikely to pick the same ones.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._held: set[int] = set()
        self._next = secrets.randbelow(IDENTIFIERS)

    def take(self) -> int:
        with self._lock:
            if len(self._held) >= IDENTIFIERS:
                raise NoFreeIdentifier(f"all {IDENTIFIERS} ICMP identifiers are in use")
            while self._next in self._held:
                self._next = (self._next + 1) % IDENTIFIERS
            identifier = self._next
            self._held.add(identifier)
            self._next = (identifier + 1) % IDENTIFIERS
            return identifier

    def give_back(self, identifier: int) -> None:
        with self._lock:
            self._held.discard(identifier)

    def held(self) -> int:
        with self._lock:
            return len(self._held)


identifiers = _Identifiers()


class SharedRawSocket:
    """One raw ICMP socket of one address family on one event loop, and its probes.

    Opened by the first probe that joins and closed when the last one leaves, so
    an idle agent holds no socket that copies every ICMP message on the host.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop, family: int) -> None:
        self.family = family
        self.key = (loop, family)
        self.probes: dict[int, RawEcho] = {}
        self._ipv6 = family == socket.AF_INET6
        self._loop = loop
        sock = socket.socket(family, socket.SOCK_RAW,
                             socket.IPPROTO_ICMPV6 if self._ipv6 else socket.IPPROTO_ICMP)
        try:
            sock.setblocking(False)
            # The kernel stamps each reply on arrival, so the RTT does not include how
            # long this process took to wake up (which is what fping reports too).
            sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, SHARED_RECEIVE_BUFFER_BYTES)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SHARED_SEND_BUFFER_BYTES)
            # Only echo replies are queued: the kernel drops every other ICMP type (a
            # set bit blocks its type) before it costs this process a wake-up.
            if self._ipv6:
                words = [0xFFFFFFFF] * 8
                words[ICMPV6_ECHO_REPLY >> 5] ^= 1 << (ICMPV6_ECHO_REPLY & 31)
                sock.setsockopt(socket.IPPROTO_ICMPV6, ICMP6_FILTER, struct.pack("=8I", *words))
            else:
                sock.setsockopt(SOL_RAW, ICMP_FILTER,
                                struct.pack("=I", 0xFFFFFFFF ^ 1 << ICMPV4_ECHO_REPLY))
            loop.add_reader(sock.fileno(), self._read)
        except BaseException:
            sock.close()
            raise
        self.sock = sock

    def close(self) -> None:
        self._loop.remove_reader(self.sock.fileno())
        self.sock.close()

    def _read(self) -> None:
        """Hand every waiting echo reply to its probe; drop whatever no probe awaits."""
        for _ in range(MAX_READS_PER_WAKEUP):
            try:
                data, ancillary, _flags, address = self.sock.recvmsg(
                    RECEIVE_BUFFER, ANCILLARY_BUFFER)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                # A pending socket error: it concerns no reply.
                continue
            reply = echo_reply(data, self._ipv6, ip_header=not self._ipv6)
            if reply is None:
                continue
            echo = self.probes.get(reply[0])
            if echo is None:
                continue
            source = _packed(self.family, address[0]) if self._ipv6 else data[IPV4_SOURCE]
            if source == echo.source:
                echo.arrivals.put_nowait((reply[0], reply[1], arrival_time(ancillary)))


# Keyed by loop: a socket's reader belongs to one loop, and each test, or each
# asyncio.run, brings a new one.
_shared: dict[tuple[asyncio.AbstractEventLoop, int], SharedRawSocket] = {}
_shared_lock = threading.Lock()


def join(family: int, address: tuple[Any, ...]) -> RawEcho:
    """A new probe's share of its loop's raw socket for ``family`` (opened if need be).

    Raises OSError when the socket cannot be opened, NoFreeIdentifier when every
    identifier is taken.
    """
    loop = asyncio.get_running_loop()
    identifier = identifiers.take()
    try:
        with _shared_lock:
            shared = _shared.get((loop, family))
            if shared is None:
                shared = _shared[(loop, family)] = SharedRawSocket(loop, family)
            echo = RawEcho(shared, identifier, address)
            shared.probes[identifier] = echo
    except BaseException:
        identifiers.give_back(identifier)
        raise
    return echo


def _leave(shared: SharedRawSocket, echo: RawEcho) -> None:
    with _shared_lock:
        if shared.probes.pop(echo.identifier, None) is echo:
            identifiers.give_back(echo.identifier)
        if not shared.probes and _shared.get(shared.key) is shared:
            del _shared[shared.key]
            shared.close()


def open_shared_sockets() -> int:
    """How many shared raw sockets are open in this process (all loops)."""
    with _shared_lock:
        return len(_shared)


class RawEcho:
    """One probe's share of a shared raw socket: its identifier, its sends, its replies."""

    def __init__(self, shared: SharedRawSocket, identifier: int, address: tuple[Any, ...]):
        self.identifier = identifier
        self.address = address
        self.source = _packed(shared.family, address[0])
        self.arrivals: asyncio.Queue[Arrival] = asyncio.Queue()
        self._shared = shared
        self._request_type = (ICMPV6_ECHO_REQUEST if shared.family == socket.AF_INET6
                              else ICMPV4_ECHO_REQUEST)

    def send(self, sequence: int, payload: bytes) -> float | None:
        """Send one echo request: when it left (time.time()), or None if the socket's
        send buffer is full and it did not. Other failures raise OSError."""
        header = ECHO_HEADER.pack(self._request_type, 0, 0, self.identifier, sequence)
        if self._request_type == ICMPV4_ECHO_REQUEST:
            header = ECHO_HEADER.pack(self._request_type, 0, checksum(header + payload),
                                      self.identifier, sequence)
        # (The kernel fills in an ICMPv6 checksum itself.)
        sent_at = time.time()
        try:
            self._shared.sock.sendto(header + payload, self.address)
        except BlockingIOError:
            return None
        return sent_at

    def close(self) -> None:
        """Stop receiving; the identifier is free again, the socket closed if idle."""
        _leave(self._shared, self)
