"""SNMP on the wire: pysnmp's asyncio API behind the probe's ``SnmpClient`` seam.

One reused pysnmp engine per event loop (so an agent's SNMPv3 engine is discovered once),
closed with its loop; every request takes its timeout from what is left of the probe's
budget. Imported by the first SNMP probe only.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import ipaddress
import math
import socket
import sys
import time
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from probes import snmp_profiles as P
from probes.base import remaining
from probes.snmp import (
    MAX_REPETITIONS,
    UNDECODABLE,
    Collected,
    SnmpConfig,
    SnmpRequestError,
    SnmpResult,
    Value,
    collect,
    failure_message,
    parse_target,
)

# pysnmp attaches pysmi's MIB compiler whenever pysmi can be imported (it is in
# development, for snmpsim), and so imports lark, Jinja2 and requests and builds a
# MIB parser: about 20 MB for a probe that only ever sends numeric OIDs. The choice
# is made once, when pysnmp.smi.compiler is imported; hiding pysmi from that import
# makes it take its "no MIB compiler" branch, in this process only.
_HIDE_PYSMI = "pysmi" not in sys.modules
if _HIDE_PYSMI:
    sys.modules["pysmi"] = None  # type: ignore[assignment]
try:
    from pyasn1.type import univ
    from pysnmp.hlapi.v3arch.asyncio import (
        CommunityData,
        ContextData,
        ObjectIdentity,
        ObjectType,
        SnmpEngine,
        Udp6TransportTarget,
        UdpTransportTarget,
        UsmUserData,
        bulk_cmd,
        get_cmd,
        next_cmd,
        usmAesBlumenthalCfb256Protocol,
        usmAesCfb128Protocol,
        usmAesCfb256Protocol,
        usmHMAC192SHA256AuthProtocol,
        usmHMACSHAAuthProtocol,
    )
    from pysnmp.hlapi.varbinds import CommandGeneratorVarBinds
    from pysnmp.proto.rfc1902 import IpAddress
    from pysnmp.proto.rfc1905 import EndOfMibView
finally:
    if _HIDE_PYSMI and sys.modules.get("pysmi", False) is None:
        del sys.modules["pysmi"]

AUTH_PROTOCOLS = {"sha": usmHMACSHAAuthProtocol, "sha256": usmHMAC192SHA256AuthProtocol}
PRIV_PROTOCOLS = {
    "aes": usmAesCfb128Protocol,
    # net-snmp's "AES-256" (draft-blumenthal key extension).
    "aes256": usmAesBlumenthalCfb256Protocol,
    # Cisco's "aes 256" (Reeder key extension): same cipher, keys localised differently.
    "aes256c": usmAesCfb256Protocol,
}
# A walk ends after this many GETBULK requests (25 × 400 = 10,000 rows) so an agent
# that never ends a column cannot hold a probe.
MAX_WALK_REQUESTS = 400
# pysnmp checks its retransmission timers every 0.1 s, so a request may outlive its
# timeout by that much; per-attempt timeouts are whole tenths (they also key pysnmp's
# per-target cache, which must stay small in a long-running agent).
TIMER_STEP = 0.1
# After a request goes unanswered, this share of the budget (at least 0.3 s, at most
# 1 s, never more than half) is kept to ask the agent for its SNMPv3 engine ID, which
# any v3 agent answers whatever the credentials: an answer tells "wrong credentials"
# apart from "nobody there".
DISCOVERY_SHARE = 0.25
DISCOVERY_MIN_SECONDS = 0.3
DISCOVERY_MAX_SECONDS = 1.0
DISCOVERY_USER = "sansang-discovery"
# Sources of answers pysnmp dropped undecoded, each with the requests waiting on it.
Watchers = dict[tuple[str, int], set[asyncio.Event]]


@dataclass
class _EnginePool:
    """One engine per event loop; a second only when one v3 user name has two key sets.

    pysnmp keeps one USM entry per user name in an engine, so two devices that share a
    user name but not its keys would overwrite each other's entry mid-flight.
    """

    main: SnmpEngine
    undecodable: Watchers
    key_sets: dict[str, str] = field(default_factory=dict)
    extra: dict[tuple[str, str], SnmpEngine] = field(default_factory=dict)

    def engine_for(self, config: SnmpConfig) -> SnmpEngine:
        if config.version == "2c" or config.user is None:
            return self.main
        digest = hashlib.sha256("\x00".join(
            str(part) for part in (
                config.auth_protocol, config.auth_key and config.auth_key.reveal(),
                config.priv_protocol, config.priv_key and config.priv_key.reveal(),
            )
        ).encode()).hexdigest()
        if self.key_sets.setdefault(config.user, digest) == digest:
            return self.main
        if (config.user, digest) not in self.extra:
            self.extra[config.user, digest] = new_engine(self.undecodable)
        return self.extra[config.user, digest]

    def all(self) -> list[SnmpEngine]:
        return [self.main, *self.extra.values()]


_MIB_VIEW: dict[str, Any] = {}


def new_engine(undecodable: Watchers) -> SnmpEngine:
    engine = SnmpEngine()
    _notice_undecodable_answers(engine, undecodable)
    # pysnmp resolves every OID through a MIB view that takes 0.3 s to build; engines
    # share the first one (it is only read).
    if "view" in _MIB_VIEW:
        engine.cache["mibViewController"] = _MIB_VIEW["view"]
    CommandGeneratorVarBinds().make_varbinds(
        engine.cache, (ObjectType(ObjectIdentity(P.SYS_UPTIME)),)
    )
    _MIB_VIEW.setdefault("view", engine.cache["mibViewController"])
    return engine


def _notice_undecodable_answers(engine: SnmpEngine, watchers: Watchers) -> None:
    """Wake the requests to an agent when pysnmp drops an answer from it undecoded.

    pysnmp drops, silently, a whole message that holds one value outside its SNMP
    type's range (a Counter32 or TimeTicks encoded as a negative number, a Counter64
    beyond 64 bits, ...; tests/test_snmp_probe.py shows it). The request would then
    time out and an agent that answered would look silent, or its community wrong. The
    only trace pysnmp leaves is its snmpInASNParseErrs counter, counted here around
    each received message, so the requests waiting on that agent fail at once and say
    why.
    """
    dispatcher = engine.message_dispatcher
    receive = dispatcher.receive_message
    (parse_errors,) = engine.get_mib_builder().import_symbols(
        "__SNMPv2-MIB", "snmpInASNParseErrs"
    )

    def receive_message(snmp_engine: SnmpEngine, domain: Any, address: Any, message: Any
                        ) -> Any:
        before = int(parse_errors.syntax)
        try:
            return receive(snmp_engine, domain, address, message)
        finally:
            if int(parse_errors.syntax) != before:
                for waiting in watchers.get((str(address[0]), int(address[1])), ()):
                    waiting.set()

    dispatcher.receive_message = receive_message


_POOLS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _EnginePool] = (
    weakref.WeakKeyDictionary()
)
# One suspended async generator per loop: asyncio.run() and asyncio.Runner close a
# loop's async generators before closing the loop itself, which runs its ``finally``
# while the loop still works — the one place engines' sockets can be closed cleanly.
_SHUTDOWN_HOOKS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, AsyncIterator[None]] = (
    weakref.WeakKeyDictionary()
)


async def _close_at_loop_shutdown() -> AsyncIterator[None]:
    try:
        yield
    finally:
        close()
        # The generator holds its loop (through asyncio's finalizer): let both go.
        _SHUTDOWN_HOOKS.pop(asyncio.get_running_loop(), None)


async def _pool() -> _EnginePool:
    loop = asyncio.get_running_loop()
    pool = _POOLS.get(loop)
    if pool is None:
        undecodable: Watchers = {}
        pool = _POOLS[loop] = _EnginePool(new_engine(undecodable), undecodable)
        if loop not in _SHUTDOWN_HOOKS:
            hook = _SHUTDOWN_HOOKS[loop] = _close_at_loop_shutdown()
            await anext(hook)
    return pool


def close() -> None:
    """Close this event loop's SNMP engines (their sockets and timers).

    Loops run by asyncio.run() or asyncio.Runner (pytest-asyncio's too) do this at
    their end by themselves; call it to release the engines sooner. The next probe
    on the loop builds a fresh engine.
    """
    with contextlib.suppress(RuntimeError):
        pool = _POOLS.pop(asyncio.get_running_loop(), None)
        for engine in pool.all() if pool else []:
            engine.close_dispatcher()


def _auth_data(config: SnmpConfig) -> CommunityData | UsmUserData:
    if config.version == "2c":
        assert config.community is not None  # guaranteed by SnmpConfig's validator
        return CommunityData(config.community.reveal(), mpModel=1)
    assert config.auth_key and config.priv_key and config.auth_protocol and config.priv_protocol
    return UsmUserData(
        config.user,
        authKey=config.auth_key.reveal(),
        privKey=config.priv_key.reveal(),
        authProtocol=AUTH_PROTOCOLS[config.auth_protocol],
        privProtocol=PRIV_PROTOCOLS[config.priv_protocol],
    )


def plain_value(value: Any) -> Value | None:
    """A pysnmp value as a plain Python value; None for the "no such ..." exceptions."""
    if isinstance(value, univ.Null):  # also noSuchObject, noSuchInstance, endOfMibView
        return None
    if isinstance(value, univ.ObjectIdentifier):
        return ".".join(str(x) for x in value)
    if isinstance(value, IpAddress):
        return ".".join(str(b) for b in value.asOctets())
    if isinstance(value, univ.OctetString):
        return bytes(value.asOctets())
    if isinstance(value, univ.Integer):
        return int(value)
    return None


def _oid(text_oid: str) -> tuple[int, ...]:
    return tuple(int(x) for x in text_oid.split("."))


def _tenths(seconds: float) -> float:
    return math.floor(seconds / TIMER_STEP + 1e-9) * TIMER_STEP


Request = Callable[..., Awaitable[tuple[Any, Any, Any, Sequence[Any]]]]


class PysnmpClient:
    """SnmpClient over pysnmp's asyncio API, keeping every request inside ``deadline``."""

    def __init__(
        self, engine: SnmpEngine, auth: CommunityData | UsmUserData, address: tuple[str, int],
        *, attempt_timeout: float, deadline: float, retries: int = 0,
        context_name: str | None = None, max_repetitions: int = MAX_REPETITIONS,
        undecodable: Watchers | None = None,
    ):
        self.engine = engine
        self.auth = auth
        self.address = address
        self.context = ContextData(contextName=(context_name or "").encode())
        self.retries = retries
        self.max_repetitions = max_repetitions
        self.attempt_timeout = attempt_timeout
        self.deadline = deadline
        self.undecodable: Watchers = {} if undecodable is None else undecodable
        self._transports: dict[tuple[float, int], Any] = {}

    async def _transport(self) -> Any:
        """A transport whose attempts (timeout × (retries + 1)) end before the deadline."""
        left = self.deadline - time.monotonic()
        retries = self.retries
        timeout = _tenths(min(self.attempt_timeout, left / (retries + 1)))
        if timeout < TIMER_STEP:
            retries, timeout = 0, _tenths(min(self.attempt_timeout, left))
        if timeout < TIMER_STEP:
            raise SnmpRequestError("timeout", "no time left before the deadline")
        key = (timeout, retries)
        if key not in self._transports:
            kind = Udp6TransportTarget if ":" in self.address[0] else UdpTransportTarget
            self._transports[key] = await kind.create(
                self.address, timeout=timeout, retries=retries
            )
        return self._transports[key]

    async def _request(self, command: Request, *args: Any) -> Sequence[Any]:
        transport = await self._transport()
        dropped = asyncio.Event()
        watching = self.undecodable.setdefault(self.address, set())
        watching.add(dropped)
        answered = asyncio.ensure_future(
            command(self.engine, self.auth, transport, self.context, *args, lookupMib=False))
        undecodable = asyncio.ensure_future(dropped.wait())
        try:
            await asyncio.wait((answered, undecodable), return_when=asyncio.FIRST_COMPLETED)
        finally:
            undecodable.cancel()
            answered.cancel()
            watching.discard(dropped)
            if not watching:
                del self.undecodable[self.address]
        if not answered.done() or answered.cancelled():
            # Concurrent requests to one agent cannot be told apart in a message pysnmp
            # could not decode: each of them fails, and says so.
            raise SnmpRequestError(
                UNDECODABLE,
                "the agent answered, but pysnmp could not decode the answer (a value "
                "outside its SNMP type's range, such as a negative counter or TimeTicks)",
            )
        error_indication, error_status, error_index, varbinds = answered.result()
        if error_indication:
            raise SnmpRequestError(type(error_indication).__name__, str(error_indication))
        if error_status:
            raise SnmpRequestError(
                "error_status",
                f"agent answered {error_status.prettyPrint()} at varbind {int(error_index)}",
            )
        return varbinds

    @staticmethod
    def _objects(oids: Sequence[str]) -> list[ObjectType]:
        return [ObjectType(ObjectIdentity(oid)) for oid in oids]

    async def get(self, oids: Sequence[str]) -> dict[str, Value]:
        values = {}
        for name, value in await self._request(get_cmd, *self._objects(oids)):
            plain = plain_value(value)
            if plain is not None:
                values[str(name)] = plain
        return values

    async def get_next(self, oids: Sequence[str]) -> dict[str, tuple[str, Value]]:
        following = {}
        varbinds = await self._request(next_cmd, *self._objects(oids))
        for asked, (name, value) in zip(oids, varbinds, strict=False):
            plain = plain_value(value)
            if plain is not None:
                following[asked] = (str(name), plain)
        return following

    async def walk(self, column: str) -> dict[str, Value]:
        # A loop of GETBULKs rather than pysnmp's bulk_walk_cmd: that one keeps going
        # after a timeout and fixes one per-request timeout for the whole walk, where
        # each request here takes its timeout from what is left of the budget.
        prefix = _oid(column)
        rows: dict[str, Value] = {}
        last = prefix
        for _ in range(MAX_WALK_REQUESTS):
            cursor = ObjectType(ObjectIdentity(".".join(str(x) for x in last)))
            varbinds = await self._request(bulk_cmd, 0, self.max_repetitions, cursor)
            if not varbinds:
                return rows
            for name, value in varbinds:
                oid = tuple(name)
                if oid[: len(prefix)] != prefix or isinstance(value, EndOfMibView):
                    return rows
                if oid <= last:
                    raise SnmpRequestError("OidNotIncreasing", f"agent went back to {name}")
                last = oid
                plain = plain_value(value)
                if plain is not None:
                    rows[".".join(str(x) for x in oid[len(prefix):])] = plain
        raise SnmpRequestError(
            "too_many_rows", f"more than {MAX_WALK_REQUESTS * self.max_repetitions} rows"
        )


def _device_key(address: tuple[str, int], config: SnmpConfig) -> tuple[str, ...]:
    """What identifies a device to the detection cache: where it answers and what it is
    asked with (one agent may show each community, or each context, another view, as
    snmpsim does). The credentials only as a digest: the cache keeps no secret."""
    secret = config.community.reveal() if config.community else config.user or ""
    digest = hashlib.sha256(secret.encode()).hexdigest()[:16]
    return (address[0], str(address[1]), config.version, digest, config.context_name or "")


async def _resolve(host: str, port: int) -> tuple[str, int]:
    with contextlib.suppress(ValueError):
        return str(ipaddress.ip_address(host)), port
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_DGRAM)
    return str(infos[0][4][0]), port


async def _answers_v3_discovery(
    pool: _EnginePool, address: tuple[str, int], wait_seconds: float
) -> bool:
    """Whether an SNMP agent answers at ``address`` at all (SNMPv3 engine ID discovery)."""
    if wait_seconds < TIMER_STEP:
        return False
    client = PysnmpClient(
        pool.main, UsmUserData(DISCOVERY_USER), address,
        attempt_timeout=wait_seconds, deadline=time.monotonic() + wait_seconds,
        undecodable=pool.undecodable,
    )
    try:
        await client.get([P.SYS_UPTIME])
    except SnmpRequestError as exc:
        # A report (unknown user, unknown engine ID, ...) is an answer.
        return exc.kind not in ("RequestTimedOut", "timeout")
    return True


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

    pool = await _pool()
    engine = pool.engine_for(config)  # the first engine of a loop takes ~0.3 s to build
    left = end - time.monotonic()
    reserve = min(
        DISCOVERY_MAX_SECONDS, max(DISCOVERY_MIN_SECONDS, DISCOVERY_SHARE * left), left / 2
    )
    # The client stops one timer step early so pysnmp's late timers cannot overrun.
    # Each attempt may outlive its timeout by a timer step; that comes off the attempt.
    attempt = (left - reserve) / (config.retries + 1) - TIMER_STEP
    client = PysnmpClient(
        engine, _auth_data(config), address,
        attempt_timeout=max(TIMER_STEP, attempt), deadline=end - TIMER_STEP,
        retries=config.retries, context_name=config.context_name,
        max_repetitions=config.max_repetitions, undecodable=pool.undecodable,
    )
    failure: SnmpRequestError | None = None
    try:
        async with asyncio.timeout(max(0.0, end - time.monotonic())):
            await collect(client, config.profile, collected, _device_key(address, config))
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
                pool, address, _tenths(end - TIMER_STEP - time.monotonic())
            )
    waited = time.monotonic() - started
    return result(False, failure_message(failure, config, where, waited, alive))
