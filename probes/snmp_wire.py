"""SNMP on the wire: a small asyncio client for GET, GETNEXT and GETBULK behind ``SnmpClient``.

Only what the probe sends: numeric OIDs over SNMPv2c, or SNMPv3 authPriv (RFC 3412,
3414) with HMAC-SHA-96 or HMAC-SHA-256-192 (RFC 7860) and AES-CFB (RFC 3826; 256-bit
keys extended as net-snmp does, or as Cisco does). One UDP socket per probe, closed
with it. What an agent said about its SNMPv3 engine (ID, boots, time) and the keys
localised to it are kept between probes, so only the first v3 probe of a device pays
for engine discovery. Imported by the first SNMP probe only.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hashlib
import hmac
import ipaddress
import itertools
import random
import secrets
import socket
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

from probes.base import remaining
from probes.snmp import (
    MAX_REPETITIONS,
    Collected,
    SnmpConfig,
    SnmpRequestError,
    SnmpResult,
    Value,
    collect,
    failure_message,
    parse_target,
)

# A walk ends after this many GETBULK requests (25 × 400 = 10,000 rows) so an agent
# that never ends a column cannot hold a probe.
MAX_WALK_REQUESTS = 400
# An attempt shorter than this is not worth sending.
MIN_ATTEMPT_SECONDS = 0.1
# After a request goes unanswered, this share of the budget (at least 0.3 s, at most
# 1 s, never more than half) is kept to ask the agent for its SNMPv3 engine ID, which
# any v3 agent answers whatever the credentials: an answer tells "wrong credentials"
# apart from "nobody there".
DISCOVERY_SHARE = 0.25
DISCOVERY_MIN_SECONDS = 0.3
DISCOVERY_MAX_SECONDS = 1.0
# The largest message we accept (RFC 3417's UDP maximum), as told to v3 agents.
MAX_MESSAGE_SIZE = 65507
# Devices whose engine is remembered; an agent polls a fixed few, this only bounds it.
MAX_ENGINES = 1024

# --- BER: the few types SNMP uses ---

SEQUENCE, INTEGER, OCTET_STRING, NULL, OBJECT_IDENTIFIER = 0x30, 0x02, 0x04, 0x05, 0x06
IP_ADDRESS, OPAQUE = 0x40, 0x44
# Counter32, Gauge32 (Unsigned32), TimeTicks, Counter64: unsigned whatever their first bit.
UNSIGNED_TYPES = frozenset({0x41, 0x42, 0x43, 0x46})
NO_SUCH_OBJECT, NO_SUCH_INSTANCE, END_OF_MIB_VIEW = 0x80, 0x81, 0x82
GET, GET_NEXT, RESPONSE, GET_BULK, REPORT = 0xA0, 0xA1, 0xA2, 0xA5, 0xA8

ERROR_STATUS_NAMES = (
    "noError", "tooBig", "noSuchName", "badValue", "readOnly", "genErr", "noAccess",
    "wrongType", "wrongLength", "wrongEncoding", "wrongValue", "noCreation",
    "inconsistentValue", "resourceUnavailable", "commitFailed", "undoFailed",
    "authorizationError", "notWritable", "inconsistentName",
)


# snmpEngineBoots and snmpEngineTime are 0..2147483647 (RFC 3414 2.2.1).
MAX_ENGINE_COUNTER = 2**31 - 1


class BerError(ValueError):
    """A message that is not the BER it claims to be."""


def _length(n: int) -> bytes:
    if n < 0x80:
        return bytes((n,))
    octets = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes((0x80 | len(octets),)) + octets


def tlv(tag: int, content: bytes) -> bytes:
    return bytes((tag,)) + _length(len(content)) + content


def integer(value: int, tag: int = INTEGER) -> bytes:
    size = ((value + (value < 0)).bit_length() + 8) // 8
    return tlv(tag, value.to_bytes(size, "big", signed=True))


def encode_oid(oid: Sequence[int]) -> bytes:
    if len(oid) < 2:
        raise ValueError(f"an OID has at least two arcs: {oid}")
    content = bytearray()
    for arc in (oid[0] * 40 + oid[1], *oid[2:]):
        chunk = [arc & 0x7F]
        arc >>= 7
        while arc:
            chunk.append(0x80 | (arc & 0x7F))
            arc >>= 7
        content += bytes(reversed(chunk))
    return tlv(OBJECT_IDENTIFIER, bytes(content))


def read_tlv(data: bytes, at: int, end: int | None = None) -> tuple[int, int, int]:
    """``(tag, start, stop)`` of the element at ``at``: its content is ``data[start:stop]``."""
    end = len(data) if end is None else end
    if at + 2 > end:
        raise BerError("truncated")
    tag, size = data[at], data[at + 1]
    start = at + 2
    if size & 0x80:
        count = size & 0x7F
        if not 0 < count <= 4 or start + count > end:
            raise BerError("bad length")
        size = int.from_bytes(data[start:start + count], "big")
        start += count
    if start + size > end:
        raise BerError("truncated")
    return tag, start, start + size


def elements(data: bytes, start: int, stop: int) -> list[tuple[int, int, int]]:
    """The elements inside a constructed value's content ``data[start:stop]``."""
    found = []
    while start < stop:
        element = read_tlv(data, start, stop)
        found.append(element)
        start = element[2]
    return found


def expect(data: bytes, element: tuple[int, int, int], tag: int) -> tuple[int, int]:
    if element[0] != tag:
        raise BerError(f"expected tag {tag:#x}, got {element[0]:#x}")
    return element[1], element[2]


# SNMP's numbers are at most 64 bits (Counter64): 9 content octets with a leading zero.
# Anything longer is a broken or hostile peer, refused before it becomes a Python
# integer too long to print or to turn into a float.
MAX_INTEGER_OCTETS = 9
# RFC 2578: at most 128 sub-identifiers, each below 2**32.
MAX_OID_ARCS = 128
MAX_OID_ARC = 2**32 - 1


def _integer(content: bytes, signed: bool) -> int:
    if not content or len(content) > MAX_INTEGER_OCTETS:
        raise BerError(f"integer of {len(content)} octets")
    return int.from_bytes(content, "big", signed=signed)


def decode_int(data: bytes, element: tuple[int, int, int]) -> int:
    start, stop = expect(data, element, INTEGER)
    return _integer(data[start:stop], signed=True)


def decode_octets(data: bytes, element: tuple[int, int, int]) -> bytes:
    start, stop = expect(data, element, OCTET_STRING)
    return data[start:stop]


def decode_oid(content: bytes) -> tuple[int, ...]:
    arcs: list[int] = []
    value = 0
    for octet in content:
        value = (value << 7) | (octet & 0x7F)
        if value > MAX_OID_ARC + 80:  # the first octet holds two arcs (40 × x + y)
            raise BerError("OBJECT IDENTIFIER arc too large")
        if not octet & 0x80:
            arcs.append(value)
            value = 0
    if not arcs or content[-1] & 0x80 or len(arcs) >= MAX_OID_ARCS:
        raise BerError("bad OBJECT IDENTIFIER")
    first = arcs[0]
    head = (first // 40, first % 40) if first < 80 else (2, first - 80)
    return (*head, *arcs[1:])


def plain_value(tag: int, content: bytes) -> Value | None:
    """A varbind's value as a plain Python value; None for NULL and the "no such ..."."""
    if tag == INTEGER:
        return _integer(content, signed=True)
    if tag in UNSIGNED_TYPES:
        return _integer(content, signed=False)
    if tag in (OCTET_STRING, OPAQUE):
        return bytes(content)
    if tag == OBJECT_IDENTIFIER:
        return ".".join(str(arc) for arc in decode_oid(content))
    if tag == IP_ADDRESS:
        return ".".join(str(octet) for octet in content)
    return None


def oid_of(text_oid: str) -> tuple[int, ...]:
    return tuple(int(x) for x in text_oid.strip(".").split("."))


def oid_text(oid: Sequence[int]) -> str:
    return ".".join(str(arc) for arc in oid)


# --- PDUs ---


@dataclass(frozen=True)
class Varbind:
    oid: tuple[int, ...]
    tag: int
    value: Value | None


@dataclass(frozen=True)
class Pdu:
    kind: int
    request_id: int
    error_status: int
    error_index: int
    varbinds: list[Varbind]


def encode_pdu(kind: int, request_id: int, oids: Sequence[tuple[int, ...]],
               max_repetitions: int = 0) -> bytes:
    # GETBULK puts non-repeaters (0) and max-repetitions where the others have the
    # error status and index.
    varbinds = b"".join(tlv(SEQUENCE, encode_oid(oid) + b"\x05\x00") for oid in oids)
    return tlv(kind, integer(request_id) + integer(0) + integer(max_repetitions)
               + tlv(SEQUENCE, varbinds))


def decode_pdu(data: bytes, element: tuple[int, int, int]) -> Pdu:
    kind, start, stop = element
    request_id, status, index, varbinds = elements(data, start, stop)
    decoded = []
    for varbind in elements(data, *expect(data, varbinds, SEQUENCE)):
        name, value = elements(data, *expect(data, varbind, SEQUENCE))
        oid_start, oid_stop = expect(data, name, OBJECT_IDENTIFIER)
        decoded.append(Varbind(decode_oid(data[oid_start:oid_stop]), value[0],
                               plain_value(value[0], data[value[1]:value[2]])))
    return Pdu(kind, decode_int(data, request_id), decode_int(data, status),
               decode_int(data, index), decoded)


def encode_v2c(community: bytes, pdu: bytes) -> bytes:
    return tlv(SEQUENCE, integer(1) + tlv(OCTET_STRING, community) + pdu)


def message_id(data: bytes) -> tuple[int, int]:
    """``(version, id)`` that pairs an answer with its request: the request-id for
    SNMPv2c, the msgID (in clear, unlike the request-id) for SNMPv3."""
    top = read_tlv(data, 0)
    parts = elements(data, *expect(data, top, SEQUENCE))
    version = decode_int(data, parts[0])
    if version == 3:
        return 3, decode_int(data, elements(data, *expect(data, parts[1], SEQUENCE))[0])
    return version, decode_int(data, elements(data, parts[2][1], parts[2][2])[0])


def decode_v2c(data: bytes, community: bytes) -> Pdu | None:
    """The PDU of a v2c message for ``community``; None for anything else."""
    version, sent_to, pdu = elements(data, *expect(data, read_tlv(data, 0), SEQUENCE))
    if decode_int(data, version) != 1 or decode_octets(data, sent_to) != community:
        return None
    return decode_pdu(data, pdu)


# --- SNMPv3 USM: keys, authentication, privacy ---

AUTH_HASHES = {"sha": hashlib.sha1, "sha256": hashlib.sha256}
# HMAC-SHA-96 and HMAC-SHA-256-192: the digest is cut to this many bytes.
AUTH_DIGEST_SIZES = {"sha": 12, "sha256": 24}
PRIV_KEY_SIZES = {"aes": 16, "aes256": 32, "aes256c": 32}
FLAG_AUTH, FLAG_PRIV, FLAG_REPORTABLE = 0x01, 0x02, 0x04
USM_SECURITY_MODEL = 3
# usmStats counters an agent reports with, and the names the probe's messages go by.
USM_REPORTS: dict[tuple[int, ...], tuple[str, str]] = {
    (1, 3, 6, 1, 6, 3, 15, 1, 1, 1, 0): ("UnsupportedSecLevel", "unsupported security level"),
    (1, 3, 6, 1, 6, 3, 15, 1, 1, 2, 0): ("NotInTimeWindow", "not in time window"),
    (1, 3, 6, 1, 6, 3, 15, 1, 1, 3, 0): ("UnknownUserName", "unknown user name"),
    (1, 3, 6, 1, 6, 3, 15, 1, 1, 4, 0): ("UnknownEngineID", "unknown engine ID"),
    (1, 3, 6, 1, 6, 3, 15, 1, 1, 5, 0): ("WrongDigest", "wrong digest"),
    (1, 3, 6, 1, 6, 3, 15, 1, 1, 6, 0): ("DecryptionError", "decryption error"),
}


def password_to_key(password: bytes, digest: Callable[..., Any]) -> bytes:
    """RFC 3414 A.2: the hash of a megabyte of the repeated password."""
    if not password:
        raise ValueError("an empty pass phrase")
    repeated = password * (1048576 // len(password) + 1)
    return digest(repeated[:1048576]).digest()


def localize(key: bytes, engine_id: bytes, digest: Callable[..., Any]) -> bytes:
    return digest(key + engine_id + key).digest()


@functools.lru_cache(maxsize=64)
def localized_keys(auth_protocol: str, auth_password: str, priv_protocol: str,
                   priv_password: str, engine_id: bytes) -> tuple[bytes, bytes]:
    """The auth and priv keys of a user at one engine (2 × 1 MB of hashing: cached)."""
    digest = AUTH_HASHES[auth_protocol]
    auth_key = localize(password_to_key(auth_password.encode(), digest), engine_id, digest)
    priv_key = localize(password_to_key(priv_password.encode(), digest), engine_id, digest)
    size = PRIV_KEY_SIZES[priv_protocol]
    if priv_protocol == "aes256c":
        # Reeder's extension (Cisco): the key so far is taken as a pass phrase again.
        while len(priv_key) < size:
            priv_key += localize(password_to_key(priv_key, digest), engine_id, digest)
    elif len(priv_key) < size:
        # Blumenthal's extension (net-snmp's AES-256): the key, then its hash.
        priv_key += digest(priv_key).digest()
    return auth_key, priv_key[:size]


def aes_cfb(key: bytes, iv: bytes, data: bytes, encrypt: bool) -> bytes:
    # Imported here: an agent that only speaks v2c never loads cryptography.
    from cryptography.hazmat.decrepit.ciphers.modes import CFB
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms

    cipher = Cipher(algorithms.AES(key), CFB(iv))
    context = cipher.encryptor() if encrypt else cipher.decryptor()
    return context.update(data) + context.finalize()


_SALTS = itertools.count(random.getrandbits(63))


@dataclass
class Engine:
    """What one agent told us about its SNMPv3 engine, and when."""

    id: bytes
    boots: int
    seconds: int  # since the engine booted
    learned_at: float = field(default_factory=time.monotonic)

    def clock(self) -> tuple[int, int]:
        """The agent's boots and time now, as far as we know."""
        return self.boots, self.seconds + int(time.monotonic() - self.learned_at)


_ENGINES: dict[tuple[str, int], Engine] = {}


def _remember(address: tuple[str, int], engine: Engine) -> None:
    _ENGINES.pop(address, None)
    _ENGINES[address] = engine
    while len(_ENGINES) > MAX_ENGINES:
        _ENGINES.pop(next(iter(_ENGINES)))


@dataclass(frozen=True)
class V3Message:
    """A received SNMPv3 message, checked and decrypted."""

    flags: int
    engine: Engine
    user: bytes
    pdu: Pdu


@dataclass(frozen=True)
class Usm:
    """One SNMPv3 authPriv user, as the probe's config names it."""

    user: str
    auth_protocol: str
    auth_password: str
    priv_protocol: str
    priv_password: str

    def keys(self, engine_id: bytes) -> tuple[bytes, bytes]:
        return localized_keys(self.auth_protocol, self.auth_password, self.priv_protocol,
                              self.priv_password, engine_id)


def encode_v3(msg_id: int, flags: int, engine: Engine | None, usm: Usm | None,
              scoped_pdu: bytes) -> bytes:
    """An SNMPv3 message; authenticated and encrypted when ``usm`` is given."""
    boots, engine_time = engine.clock() if engine else (0, 0)
    header = tlv(SEQUENCE, integer(msg_id) + integer(MAX_MESSAGE_SIZE)
                 + tlv(OCTET_STRING, bytes((flags,))) + integer(USM_SECURITY_MODEL))
    if usm is None or engine is None:
        security = tlv(SEQUENCE, tlv(OCTET_STRING, engine.id if engine else b"")
                       + integer(boots) + integer(engine_time) + tlv(OCTET_STRING, b"")
                       + tlv(OCTET_STRING, b"") + tlv(OCTET_STRING, b""))
        return tlv(SEQUENCE, integer(3) + header + tlv(OCTET_STRING, security) + scoped_pdu)
    auth_key, priv_key = usm.keys(engine.id)
    salt = (next(_SALTS) & 0xFFFFFFFFFFFFFFFF).to_bytes(8, "big")
    iv = boots.to_bytes(4, "big") + engine_time.to_bytes(4, "big") + salt
    data = tlv(OCTET_STRING, aes_cfb(priv_key, iv, scoped_pdu, encrypt=True))
    digest_size = AUTH_DIGEST_SIZES[usm.auth_protocol]
    privacy = tlv(OCTET_STRING, salt)
    security = tlv(SEQUENCE, tlv(OCTET_STRING, engine.id) + integer(boots) + integer(engine_time)
                   + tlv(OCTET_STRING, usm.user.encode())
                   + tlv(OCTET_STRING, bytes(digest_size)) + privacy)
    whole = tlv(SEQUENCE, integer(3) + header + tlv(OCTET_STRING, security) + data)
    # The digest is computed over the message with zeros in its place, then put there.
    at = len(whole) - len(data) - len(privacy) - digest_size
    mac = hmac.new(auth_key, whole, AUTH_HASHES[usm.auth_protocol]).digest()[:digest_size]
    return whole[:at] + mac + whole[at + digest_size:]


def decode_v3(data: bytes, usm: Usm | None) -> V3Message | None:
    """A v3 message, its digest checked and its PDU decrypted with ``usm``'s keys; None
    when it is not for us (wrong model, wrong user, bad digest, unauthenticated data)."""
    version, header, security, payload = elements(
        data, *expect(data, read_tlv(data, 0), SEQUENCE))
    if decode_int(data, version) != 3:
        return None
    _msg_id, _max_size, flags_element, model = elements(data, *expect(data, header, SEQUENCE))
    flags = decode_octets(data, flags_element)
    if len(flags) != 1 or decode_int(data, model) != USM_SECURITY_MODEL:
        return None
    outer = expect(data, security, OCTET_STRING)
    engine_id, boots, engine_time, user, auth, privacy = elements(
        data, *expect(data, read_tlv(data, outer[0], outer[1]), SEQUENCE))
    engine = Engine(decode_octets(data, engine_id), decode_int(data, boots),
                    decode_int(data, engine_time))
    if not (0 <= engine.boots <= MAX_ENGINE_COUNTER and 0 <= engine.seconds <= MAX_ENGINE_COUNTER):
        return None  # outside RFC 3414's range (and it would not fit the privacy IV)
    user_name = decode_octets(data, user)
    if flags[0] & FLAG_AUTH:
        if usm is None or user_name != usm.user.encode():
            return None
        auth_key, priv_key = usm.keys(engine.id)
        start, stop = expect(data, auth, OCTET_STRING)
        # The whole truncated digest, never a shorter one: an empty parameter would
        # otherwise compare equal to the empty prefix of any digest.
        if stop - start != AUTH_DIGEST_SIZES[usm.auth_protocol]:
            return None
        zeroed = data[:start] + bytes(stop - start) + data[stop:]
        mac = hmac.new(auth_key, zeroed, AUTH_HASHES[usm.auth_protocol]).digest()
        if not hmac.compare_digest(mac[:stop - start], data[start:stop]):
            return None
        if flags[0] & FLAG_PRIV:
            salt = decode_octets(data, privacy)
            if len(salt) != 8:
                return None
            iv = engine.boots.to_bytes(4, "big") + engine.seconds.to_bytes(4, "big") + salt
            plain = aes_cfb(priv_key, iv, decode_octets(data, payload), encrypt=False)
            return _scoped(plain, read_tlv(plain, 0), flags[0], engine, user_name)
    elif flags[0] & FLAG_PRIV:
        return None  # privacy without authentication does not exist (RFC 3412 7.2)
    return _scoped(data, payload, flags[0], engine, user_name)


def _scoped(data: bytes, element: tuple[int, int, int], flags: int, engine: Engine,
            user: bytes) -> V3Message:
    _context_engine, _context_name, pdu = elements(data, *expect(data, element, SEQUENCE))
    return V3Message(flags, engine, user, decode_pdu(data, pdu))


def scoped_pdu(engine_id: bytes, context_name: bytes, pdu: bytes) -> bytes:
    return tlv(SEQUENCE, tlv(OCTET_STRING, engine_id) + tlv(OCTET_STRING, context_name) + pdu)


# --- the socket ---

def _next_id() -> int:
    # Unpredictable, so a peer that sees one request cannot guess the ids of the next
    # ones (to another device) and answer them in its place.
    return secrets.randbelow(0x7FFFFFFF) + 1


class _Endpoint(asyncio.DatagramProtocol):
    """One connected UDP socket; answers go to whoever waits for their id."""

    def __init__(self) -> None:
        self.transport: asyncio.DatagramTransport | None = None
        self.waiting: dict[tuple[int, int], asyncio.Queue[bytes]] = {}

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: Any) -> None:
        try:
            key = message_id(data)
        except (BerError, ValueError, IndexError):
            return
        inbox = self.waiting.get(key)
        if inbox is not None:
            inbox.put_nowait(data)

    def error_received(self, exc: Exception) -> None:
        # An ICMP error (port unreachable): the attempt times out, as for silence.
        pass


class UdpSnmpClient:
    """SnmpClient over one UDP socket, keeping every request inside ``deadline``."""

    def __init__(
        self, endpoint: _Endpoint, address: tuple[str, int], *, attempt_timeout: float,
        deadline: float, retries: int = 0, max_repetitions: int = MAX_REPETITIONS,
        community: bytes = b"", usm: Usm | None = None, context_name: bytes = b"",
    ):
        self.endpoint = endpoint
        self.address = address
        self.attempt_timeout = attempt_timeout
        self.deadline = deadline
        self.retries = retries
        self.max_repetitions = max_repetitions
        self.community = community
        self.usm = usm
        self.context_name = context_name

    def _attempts(self) -> tuple[float, int]:
        """``(timeout, retries)`` so that every attempt ends before the deadline."""
        left = self.deadline - time.monotonic()
        retries = self.retries
        timeout = min(self.attempt_timeout, left / (retries + 1))
        if timeout < MIN_ATTEMPT_SECONDS:
            retries, timeout = 0, min(self.attempt_timeout, left)
        if timeout < MIN_ATTEMPT_SECONDS:
            raise SnmpRequestError("timeout", "no time left before the deadline")
        return timeout, retries

    async def _exchange(self, version: int, message: Callable[[int], bytes],
                        accept: Callable[[bytes], Any]) -> Any:
        """Send ``message(id)`` with a fresh id per attempt (the request-id in v2c, the
        msgID in v3) until ``accept`` returns something other than None for an answer
        to any of the attempts."""
        timeout, retries = self._attempts()
        inbox: asyncio.Queue[bytes] = asyncio.Queue()
        keys = []
        try:
            for _ in range(retries + 1):
                key = (version, _next_id())
                keys.append(key)
                self.endpoint.waiting[key] = inbox
                assert self.endpoint.transport is not None
                self.endpoint.transport.sendto(message(key[1]))
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(timeout):
                        while True:
                            try:
                                answer = accept(await inbox.get())
                            except (BerError, ValueError, IndexError):
                                continue
                            if answer is not None:
                                return answer
        finally:
            for key in keys:
                self.endpoint.waiting.pop(key, None)
        raise SnmpRequestError("RequestTimedOut", "no SNMP response received before timeout")

    async def _request(self, kind: int, oids: Sequence[tuple[int, ...]],
                       max_repetitions: int = 0) -> list[Varbind]:
        answer: Pdu
        if self.usm is None:
            # The request-id pairs a v2c answer with its attempt: a fresh one per attempt.
            def message(request_id: int) -> bytes:
                return encode_v2c(self.community,
                                  encode_pdu(kind, request_id, oids, max_repetitions))

            def accept(data: bytes) -> Pdu | None:
                answer = decode_v2c(data, self.community)
                return answer if answer is not None and answer.kind == RESPONSE else None

            answer = await self._exchange(1, message, accept)
        else:
            request_id = _next_id()
            answer = await self._request_v3(
                encode_pdu(kind, request_id, oids, max_repetitions), request_id)
        if answer.error_status:
            status = answer.error_status
            name = (ERROR_STATUS_NAMES[status] if 0 <= status < len(ERROR_STATUS_NAMES)
                    else str(status))
            raise SnmpRequestError(
                "error_status", f"agent answered {name} at varbind {answer.error_index}")
        return list(answer.varbinds)

    async def _request_v3(self, pdu: bytes, request_id: int) -> Pdu:
        usm = self.usm
        assert usm is not None
        resynced = rediscovered = False
        while True:
            engine = _ENGINES.get(self.address) or await self.discover()
            scoped = scoped_pdu(engine.id, self.context_name, pdu)

            def accept(data: bytes, engine: Engine = engine) -> V3Message | None:
                answer = decode_v3(data, usm)
                if answer is None:
                    return None
                if answer.flags & FLAG_AUTH:
                    if answer.engine.id != engine.id:
                        return None
                    _remember(self.address, answer.engine)
                if answer.pdu.kind == REPORT:
                    return answer
                if answer.pdu.kind != RESPONSE or answer.pdu.request_id != request_id:
                    return None
                # A response must be authenticated and encrypted, as the request was.
                return answer if answer.flags & FLAG_AUTH and answer.flags & FLAG_PRIV else None

            def message(msg_id: int, engine: Engine = engine, scoped: bytes = scoped) -> bytes:
                return encode_v3(msg_id, FLAG_AUTH | FLAG_PRIV | FLAG_REPORTABLE, engine, usm,
                                 scoped)

            answer: V3Message = await self._exchange(3, message, accept)
            if answer.pdu.kind == RESPONSE:
                return answer.pdu
            oid: tuple[int, ...] = answer.pdu.varbinds[0].oid if answer.pdu.varbinds else ()
            kind, text = USM_REPORTS.get(oid) or ("Report", f"report {oid_text(oid)}")
            if kind == "NotInTimeWindow" and answer.flags & FLAG_AUTH and not resynced:
                resynced = True  # the report carried the agent's boots and time
                continue
            if kind == "UnknownEngineID" and not rediscovered:
                rediscovered = True
                _ENGINES.pop(self.address, None)
                continue
            raise SnmpRequestError(kind, f"the agent reports {text}")

    async def discover(self) -> Engine:
        """Ask the agent for its engine ID, boots and time (RFC 3414 section 4)."""
        request_id = _next_id()
        empty = scoped_pdu(b"", b"", encode_pdu(GET, request_id, ()))

        def accept(data: bytes) -> Engine | None:
            answer = decode_v3(data, None)
            return answer.engine if answer is not None and answer.engine.id else None

        engine: Engine = await self._exchange(
            3, lambda msg_id: encode_v3(msg_id, FLAG_REPORTABLE, None, None, empty), accept)
        _remember(self.address, engine)
        return engine

    async def get(self, oids: Sequence[str]) -> dict[str, Value]:
        values = {}
        for varbind in await self._request(GET, [oid_of(o) for o in oids]):
            if varbind.value is not None:
                values[oid_text(varbind.oid)] = varbind.value
        return values

    async def get_next(self, oids: Sequence[str]) -> dict[str, tuple[str, Value]]:
        following = {}
        varbinds = await self._request(GET_NEXT, [oid_of(o) for o in oids])
        for asked, varbind in zip(oids, varbinds, strict=False):
            if varbind.value is not None:
                following[asked] = (oid_text(varbind.oid), varbind.value)
        return following

    async def walk(self, column: str) -> dict[str, Value]:
        # Each GETBULK takes its timeout from what is left of the budget.
        prefix = oid_of(column)
        rows: dict[str, Value] = {}
        last = prefix
        for _ in range(MAX_WALK_REQUESTS):
            varbinds = await self._request(GET_BULK, [last], self.max_repetitions)
            if not varbinds:
                return rows
            for varbind in varbinds:
                oid = varbind.oid
                if oid[: len(prefix)] != prefix or varbind.tag == END_OF_MIB_VIEW:
                    return rows
                if oid <= last:
                    raise SnmpRequestError(
                        "OidNotIncreasing", f"agent went back to {oid_text(oid)}")
                last = oid
                if varbind.value is not None:
                    rows[oid_text(oid[len(prefix):])] = varbind.value
        raise SnmpRequestError(
            "too_many_rows", f"more than {MAX_WALK_REQUESTS * self.max_repetitions} rows"
        )


@contextlib.asynccontextmanager
async def _endpoint(address: tuple[str, int]) -> Any:
    family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
    transport, endpoint = await asyncio.get_running_loop().create_datagram_endpoint(
        _Endpoint, remote_addr=address, family=family)
    try:
        yield endpoint
    finally:
        transport.close()


async def _resolve(host: str, port: int) -> tuple[str, int]:
    with contextlib.suppress(ValueError):
        return str(ipaddress.ip_address(host)), port
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_DGRAM)
    return str(infos[0][4][0]), port


async def _answers_v3_discovery(
    endpoint: _Endpoint, address: tuple[str, int], wait_seconds: float
) -> bool:
    """Whether an SNMP agent answers at ``address`` at all (SNMPv3 engine ID discovery)."""
    if wait_seconds < MIN_ATTEMPT_SECONDS:
        return False
    client = UdpSnmpClient(endpoint, address, attempt_timeout=wait_seconds,
                           deadline=time.monotonic() + wait_seconds)
    try:
        await client.discover()
    except SnmpRequestError:
        return False
    return True


def _credentials(config: SnmpConfig) -> dict[str, Any]:
    if config.version == "2c":
        assert config.community is not None  # guaranteed by SnmpConfig's validator
        return {"community": config.community.reveal().encode()}
    assert config.user and config.auth_protocol and config.priv_protocol
    assert config.auth_key and config.priv_key
    return {"usm": Usm(config.user, config.auth_protocol, config.auth_key.reveal(),
                       config.priv_protocol, config.priv_key.reveal())}


async def probe(target: str, config: SnmpConfig, deadline: float) -> SnmpResult:
    """Read ``config.profile`` from ``target`` within ``min(config.timeout_seconds, deadline)``."""
    started = time.monotonic()
    budget = min(config.timeout_seconds, remaining(deadline))
    end = started + budget
    collected = Collected()

    def result(up: bool, error: str | None, fields: dict[str, Any] | None = None) -> SnmpResult:
        return SnmpResult(
            up=up, error=error, target=target, version=config.version,
            duration_seconds=time.monotonic() - started, **(fields or {}),
        )

    try:
        host, port = parse_target(target)
        async with asyncio.timeout(budget):
            address = await _resolve(host, port)
    except (ValueError, OSError, TimeoutError) as exc:
        return result(False, f"cannot resolve {target!r}: {exc}")
    where = f"{host}:{port}"

    left = end - time.monotonic()
    reserve = min(
        DISCOVERY_MAX_SECONDS, max(DISCOVERY_MIN_SECONDS, DISCOVERY_SHARE * left), left / 2
    )
    failure: SnmpRequestError | None = None
    try:
        async with _endpoint(address) as endpoint:
            client = UdpSnmpClient(
                endpoint, address,
                attempt_timeout=max(MIN_ATTEMPT_SECONDS, (left - reserve) / (config.retries + 1)),
                deadline=end, retries=config.retries, max_repetitions=config.max_repetitions,
                context_name=(config.context_name or "").encode(), **_credentials(config),
            )
            try:
                async with asyncio.timeout(max(0.0, end - time.monotonic())):
                    await collect(client, config.profile, collected)
            except TimeoutError:
                if collected.system is None:
                    failure = SnmpRequestError("timeout", "deadline reached")
                else:
                    collected.incomplete.append(f"deadline reached after {budget:.1f} s")
            except SnmpRequestError as exc:
                if collected.system is None:
                    failure = exc
                else:
                    collected.incomplete.append(f"profile detection: {exc}")
            if failure is None:
                return result(True, None, collected.fields())

            alive = False
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(max(0.0, end - time.monotonic())):
                    alive = await _answers_v3_discovery(
                        endpoint, address, end - time.monotonic())
    except OSError as exc:
        return result(False, f"cannot send to {where}: {exc.strerror or exc}")
    waited = time.monotonic() - started
    return result(False, failure_message(failure, config, where, waited, alive))
