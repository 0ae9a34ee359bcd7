"""The DNS probe's lookup: one query over UDP, over TCP when the answer is truncated.

The query is the one question, recursion desired, no EDNS (as dnspython's
``make_query`` sent it); the answer's rcode and its A or AAAA records are read,
compressed names skipped. Imported by the first DNS probe.
"""

from __future__ import annotations

import asyncio
import ipaddress
import secrets
import socket
import struct
import time
from dataclasses import dataclass
from typing import Any

from probes.base import remaining
from probes.dns import DnsConfig, DnsResult

RECORD_TYPES = {"A": 1, "AAAA": 28}
CLASS_IN = 1
ADDRESS_FAMILIES = {1: (socket.AF_INET, 4), 28: (socket.AF_INET6, 16)}
RCODES = {
    0: "NOERROR", 1: "FORMERR", 2: "SERVFAIL", 3: "NXDOMAIN", 4: "NOTIMP", 5: "REFUSED",
    6: "YXDOMAIN", 7: "YXRRSET", 8: "NXRRSET", 9: "NOTAUTH", 10: "NOTZONE",
}
FLAG_RESPONSE, FLAG_TRUNCATED, FLAG_RECURSION_DESIRED = 0x8000, 0x0200, 0x0100
HEADER = struct.Struct("!HHHHHH")
RESOLV_CONF = "/etc/resolv.conf"


class BadAnswer(ValueError):
    """An answer to our query that is not a well-formed DNS message."""


class NotOurs(BadAnswer):
    """A datagram that is not the answer to our query (a late one, a stray, a spoof)."""


@dataclass(frozen=True)
class Answer:
    rcode: int
    addresses: list[str]
    truncated: bool


def system_resolver(resolv_conf: str = RESOLV_CONF) -> str | None:
    """The first nameserver the system would use (from /etc/resolv.conf), if any."""
    try:
        with open(resolv_conf, encoding="utf-8", errors="replace") as lines:
            for line in lines:
                words = line.split("#", 1)[0].split(";", 1)[0].split()
                if len(words) < 2 or words[0] != "nameserver":
                    continue
                try:
                    return str(ipaddress.ip_address(words[1]))
                except ValueError:
                    # DoH/DoT URLs cannot be timed as a plain port-53 resolver.
                    continue
    except OSError:
        return None
    return None


def _label(text: str) -> bytes:
    """One label of a name as written, with the master-file escapes ``\\X`` and ``\\DDD``."""
    if text.isascii():
        raw = bytearray()
        i = 0
        while i < len(text):
            if text[i] != "\\":
                raw.append(ord(text[i]))
                i += 1
            elif text[i + 1:i + 4].isdigit() and len(text[i + 1:i + 4]) == 3:
                value = int(text[i + 1:i + 4])
                if value > 255:
                    raise ValueError(f"escape \\{value} is not an octet")
                raw.append(value)
                i += 4
            elif i + 1 < len(text):
                raw.append(ord(text[i + 1]))
                i += 2
            else:
                raise ValueError("a DNS name ends in an escape")
        return bytes(raw)
    return text.encode("idna")  # IDNA 2003, as dnspython does by default


def encode_name(name: str) -> bytes:
    """``name`` (absolute, whether or not it ends in a dot) in wire format."""
    labels: list[str] = []
    current = ""
    i = 0
    while i < len(name):
        # Split on dots that are not escaped.
        if name[i] == "\\" and i + 1 < len(name):
            current += name[i:i + 2]
            i += 2
            continue
        if name[i] == ".":
            labels.append(current)
            current = ""
        else:
            current += name[i]
        i += 1
    labels.append(current)
    if labels[-1] == "" and len(labels) > 1:
        labels.pop()  # the trailing dot of an absolute name
    if labels == [""]:
        labels = []  # the root
    wire = bytearray()
    for text in labels:
        label = _label(text)
        if not label:
            raise ValueError("a DNS label is empty")
        if len(label) > 63:
            raise ValueError("a DNS label is longer than 63 octets")
        wire += bytes((len(label),)) + label
    wire.append(0)
    if len(wire) > 255:
        raise ValueError("a DNS name is longer than 255 octets")
    return bytes(wire)


def _skip_name(message: bytes, at: int) -> int:
    """Where the (possibly compressed) name at ``at`` ends."""
    while True:
        if at >= len(message):
            raise BadAnswer("name runs past the end of the message")
        length = message[at]
        if length & 0xC0 == 0xC0:
            return at + 2
        if length & 0xC0:
            raise BadAnswer(f"unknown label type {length:#x}")
        if length == 0:
            return at + 1
        at += 1 + length


# FORMERR and NOTIMP: the only answers that may come without the question (RFC 1035
# 4.1.1; RFC 6891 7). Any other answer that leaves it out is not taken as ours.
RCODES_WITHOUT_QUESTION = frozenset({1, 4})


def parse_answer(message: bytes, query_id: int, question: bytes, record_type: int) -> Answer:
    """The rcode and the ``record_type`` addresses of the answer to our query."""
    if len(message) < HEADER.size:
        raise NotOurs("shorter than a DNS header")
    answer_id, flags, questions, answers, _, _ = HEADER.unpack_from(message)
    if answer_id != query_id or not flags & FLAG_RESPONSE:
        raise NotOurs("not the answer to our query")
    at = HEADER.size
    if not questions and flags & 0x000F in RCODES_WITHOUT_QUESTION:
        # A resolver that could not read the query may leave the question out; nothing
        # in such an answer is taken as an address.
        return Answer(flags & 0x000F, [], truncated=False)
    end = at + len(question)
    # The question comes back as asked, letters' case aside.
    if questions != 1 or message[at:end].lower() != question.lower():
        raise NotOurs("answers another question")
    at = end
    if flags & FLAG_TRUNCATED:
        return Answer(flags & 0x000F, [], truncated=True)
    addresses = []
    family, size = ADDRESS_FAMILIES[record_type]
    for _ in range(answers):
        at = _skip_name(message, at)
        if at + 10 > len(message):
            raise BadAnswer("truncated record")
        kind, klass, _ttl, length = struct.unpack_from("!HHIH", message, at)
        at += 10
        data = message[at:at + length]
        if len(data) != length:
            raise BadAnswer("truncated record")
        at += length
        if kind == record_type and klass == CLASS_IN:
            if length != size:
                raise BadAnswer(f"an address record of {length} octets")
            addresses.append(socket.inet_ntop(family, data))
    return Answer(flags & 0x000F, addresses, truncated=False)


class _Listener(asyncio.DatagramProtocol):
    """Hands every datagram, or the socket's error, to whoever waits."""

    def __init__(self) -> None:
        self.datagrams: asyncio.Queue[bytes | OSError] = asyncio.Queue()

    def datagram_received(self, data: bytes, addr: Any) -> None:
        self.datagrams.put_nowait(data)

    def error_received(self, exc: Exception) -> None:
        if isinstance(exc, OSError):
            self.datagrams.put_nowait(exc)


async def _over_udp(query: bytes, query_id: int, question: bytes, record_type: int,
                    resolver: str, port: int) -> Answer:
    # A connected UDP socket is told by the kernel when the port is closed
    # (ICMP port unreachable), so a stopped resolver fails fast and says so
    # instead of looking like a silent one.
    family = socket.AF_INET6 if ipaddress.ip_address(resolver).version == 6 else socket.AF_INET
    transport, listener = await asyncio.get_running_loop().create_datagram_endpoint(
        _Listener, remote_addr=(resolver, port), family=family)
    try:
        transport.sendto(query)
        while True:
            received = await listener.datagrams.get()
            if isinstance(received, OSError):
                raise received
            try:
                return parse_answer(received, query_id, question, record_type)
            except NotOurs:
                continue
    finally:
        transport.close()


async def _over_tcp(query: bytes, query_id: int, question: bytes, record_type: int,
                    resolver: str, port: int) -> Answer:
    reader, writer = await asyncio.open_connection(resolver, port)
    try:
        writer.write(struct.pack("!H", len(query)) + query)
        try:
            (length,) = struct.unpack("!H", await reader.readexactly(2))
            message = await reader.readexactly(length)
        except asyncio.IncompleteReadError as exc:
            raise BadAnswer("the connection closed mid-answer") from exc
        return parse_answer(message, query_id, question, record_type)
    finally:
        writer.transport.abort()


async def _query(question: bytes, record_type: int, resolver: str, port: int) -> Answer:
    query_id = secrets.randbits(16)
    query = HEADER.pack(query_id, FLAG_RECURSION_DESIRED, 1, 0, 0, 0) + question
    answer = await _over_udp(query, query_id, question, record_type, resolver, port)
    if answer.truncated:
        answer = await _over_tcp(query, query_id, question, record_type, resolver, port)
    return answer


def _where(resolver: str, port: int) -> str:
    if port == 53:
        return resolver
    return f"[{resolver}]:{port}" if ":" in resolver else f"{resolver}:{port}"


def _rcode_error(rcode: str, name: str, resolver: str, record_type: str) -> str | None:
    if rcode == "NOERROR":
        return None
    if rcode == "NXDOMAIN":
        return f"NXDOMAIN: {name} does not exist (resolver {resolver})"
    if rcode == "REFUSED":
        return f"resolver {resolver} refused to answer for {name} (REFUSED)"
    if rcode == "SERVFAIL":
        return f"resolver {resolver} could not resolve {name} (SERVFAIL)"
    return f"resolver {resolver} answered {rcode} for {name} {record_type}"


async def probe(target: str, config: DnsConfig, deadline: float) -> DnsResult:
    """Look ``target`` up once within ``min(config.timeout_seconds, deadline)``."""
    started = time.monotonic()
    budget = min(config.timeout_seconds, remaining(deadline))
    resolver = config.resolver or system_resolver()
    fields: dict[str, Any] = {"name": target, "resolver": resolver}

    def failed(error: str) -> DnsResult:
        return DnsResult(
            up=False, error=error, duration_seconds=time.monotonic() - started, **fields
        )

    if resolver is None:
        return failed("no resolver given and none found in /etc/resolv.conf")
    if budget <= 0:
        return failed("no time left before the deadline")
    try:
        question = encode_name(target) + struct.pack("!HH", RECORD_TYPES[config.record_type],
                                                     CLASS_IN)
    except (ValueError, UnicodeError) as exc:
        return failed(f"not a valid DNS name: {target!r} ({exc})")

    where = _where(resolver, config.port)
    sent = time.monotonic()
    try:
        async with asyncio.timeout(budget):
            answer = await _query(question, RECORD_TYPES[config.record_type], resolver,
                                  config.port)
    except TimeoutError:
        return failed(f"no answer from resolver {where} within {budget:.1f} s")
    except ConnectionRefusedError:
        return failed(f"resolver {where} unreachable: connection refused (nothing listening)")
    except OSError as exc:
        return failed(f"resolver {where} unreachable: {exc.strerror or exc}")
    except BadAnswer as exc:
        return failed(f"bad answer from resolver {where}: {exc}")
    lookup_seconds = time.monotonic() - sent

    rcode = RCODES.get(answer.rcode, str(answer.rcode))
    addresses = answer.addresses
    error = _rcode_error(rcode, target, where, config.record_type)
    if error is None and not addresses:
        error = f"no {config.record_type} record for {target} (resolver {where})"
    fields.update(lookup_seconds=lookup_seconds, addresses=addresses, rcode=rcode)
    return DnsResult(
        up=error is None, error=error, duration_seconds=time.monotonic() - started, **fields
    )
