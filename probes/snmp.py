"""SNMP probe: identity, uptime, CPU, memory, interfaces, UPS and printer state of one device.

Speaks SNMPv2c or SNMPv3 authPriv with numeric OIDs only (profiles in
``snmp_profiles``), through one reused pysnmp engine per event loop, and never runs
past ``min(timeout_seconds, deadline)``. A device that cannot be read is a result with
``up=False`` and an error that says which of wrong community, wrong key or silent host.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import ipaddress
import math
import socket
import time
import warnings
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field, model_validator

from probes import snmp_profiles as P
from probes.base import ProbeConfig, ProbeResult, remaining
from probes.secret import Secret


@contextlib.contextmanager
def _quiet_pysmi() -> Iterator[None]:
    """Silence pysmi's deprecation warnings, which are pysnmp's to fix, not ours.

    pysnmp uses pysmi when it is installed (snmpsim needs it in development): on
    import, and once per engine when it attaches its MIB compiler.
    """
    with warnings.catch_warnings():
        warnings.filterwarnings(
            "ignore", category=DeprecationWarning, module="pysnmp.smi.compiler"
        )
        yield


with _quiet_pysmi():
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

ProfileSetting = Literal["auto", "host", "switch", "router", "ups", "printer"]
# Numbers are int, OCTET STRINGs bytes, OBJECT IDENTIFIERs and IpAddresses dotted str.
Value = int | bytes | str

AUTH_PROTOCOLS = {"sha": usmHMACSHAAuthProtocol, "sha256": usmHMAC192SHA256AuthProtocol}
PRIV_PROTOCOLS = {
    "aes": usmAesCfb128Protocol,
    # net-snmp's "AES-256" (draft-blumenthal key extension).
    "aes256": usmAesBlumenthalCfb256Protocol,
    # Cisco's "aes 256" (Reeder key extension): same cipher, keys localised differently.
    "aes256c": usmAesCfb256Protocol,
}
DEFAULT_PORT = 161
MAX_REPETITIONS = 25
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


class SnmpConfig(ProbeConfig):
    version: Literal["2c", "3"] = "2c"
    community: Secret | None = None
    user: str | None = Field(default=None, min_length=1, max_length=32)
    auth_protocol: Literal["sha", "sha256"] | None = None
    auth_key: Secret | None = None
    priv_protocol: Literal["aes", "aes256", "aes256c"] | None = None
    priv_key: Secret | None = None
    # snmpsim picks a recorded device by SNMPv3 context name; real agents rarely need one.
    context_name: str | None = Field(default=None, max_length=32)
    profile: ProfileSetting = "auto"
    # The whole probe's budget, retries included (a request's attempts share it).
    timeout_seconds: float = Field(default=2.0, gt=0.0, le=60.0)
    retries: int = Field(default=1, ge=0, le=5)
    max_repetitions: int = Field(default=MAX_REPETITIONS, ge=1, le=100)

    @model_validator(mode="after")
    def _credentials_for_version(self) -> SnmpConfig:
        if self.version == "2c" and not self.community:
            raise ValueError("SNMPv2c needs a community")
        if self.version == "3":
            missing = [
                name
                for name, value in (
                    ("user", self.user), ("auth_protocol", self.auth_protocol),
                    ("auth_key", self.auth_key), ("priv_protocol", self.priv_protocol),
                    ("priv_key", self.priv_key),
                )
                if not value
            ]
            if missing:
                raise ValueError(f"SNMPv3 authPriv needs {', '.join(missing)}")
            for name, key in (("auth_key", self.auth_key), ("priv_key", self.priv_key)):
                if key is not None and len(key.reveal()) < 8:
                    # RFC 3414 forbids shorter pass phrases; agents reject them anyway.
                    raise ValueError(f"{name} must be at least 8 characters")
        return self


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class Interface(Strict):
    index: int
    name: str
    oper_up: bool
    admin_up: bool | None = None
    alias: str | None = None
    speed_bits_per_second: float | None = Field(default=None, ge=0.0)
    in_bytes_total: int | None = Field(default=None, ge=0)
    out_bytes_total: int | None = Field(default=None, ge=0)
    in_errors_total: int | None = Field(default=None, ge=0)
    out_errors_total: int | None = Field(default=None, ge=0)


class Storage(Strict):
    description: str
    kind: str
    size_bytes: int = Field(ge=0)
    used_bytes: int = Field(ge=0)
    used_ratio: float | None = Field(default=None, ge=0.0, le=1.0)


class UpsStatus(Strict):
    on_battery: bool | None = None
    # UPS-MIB upsOutputSource names (normal, battery, bypass, booster, reducer, ...).
    output_source: str | None = None
    battery_status: str | None = None
    battery_charge_ratio: float | None = Field(default=None, ge=0.0, le=1.0)
    runtime_seconds: float | None = Field(default=None, ge=0.0)
    input_voltage: float | None = Field(default=None, ge=0.0)
    output_voltage: float | None = Field(default=None, ge=0.0)
    mib: Literal["ups-mib", "apc-powernet"]


class PrinterSupply(Strict):
    description: str
    level_ratio: float | None = Field(default=None, ge=0.0, le=1.0)


class PrinterStatus(Strict):
    description: str | None = None
    status: str | None = None
    device_status: str | None = None
    errors: list[str] = Field(default_factory=list)
    supplies: list[PrinterSupply] = Field(default_factory=list)
    page_count: int | None = Field(default=None, ge=0)


class SnmpResult(ProbeResult):
    target: str
    version: Literal["2c", "3"]
    profile: P.ProfileName | None = None
    sys_name: str | None = None
    sys_descr: str | None = None
    sys_object_id: str | None = None
    uptime_seconds: float | None = Field(default=None, ge=0.0)
    cpu_ratio: float | None = Field(default=None, ge=0.0, le=1.0)
    memory_used_ratio: float | None = Field(default=None, ge=0.0, le=1.0)
    interfaces: list[Interface] = Field(default_factory=list)
    storage: list[Storage] = Field(default_factory=list)
    ups: UpsStatus | None = None
    printer: PrinterStatus | None = None
    # Parts of the profile the device answered but could not be read in full, and why.
    incomplete: list[str] = Field(default_factory=list)


class SnmpRequestError(Exception):
    """One request got no usable answer; ``kind`` names why, for the probe's message."""

    def __init__(self, kind: str, message: str):
        super().__init__(message)
        self.kind = kind


class SnmpClient(Protocol):
    """The seam between the probe's logic and the wire (a fake in unit tests)."""

    async def get(self, oids: Sequence[str]) -> dict[str, Value]:
        """The values of ``oids`` that exist (missing objects are left out)."""
        ...

    async def get_next(self, oids: Sequence[str]) -> dict[str, tuple[str, Value]]:
        """For each OID, the next object after it and its value (end of MIB left out)."""
        ...

    async def walk(self, column: str) -> dict[str, Value]:
        """The rows of a column, keyed by the index part of their OIDs."""
        ...


# --- parsing: plain values in, result fields out (no SNMP here) ---


def text(value: Value | None) -> str | None:
    if value is None:
        return None
    if isinstance(value, bytes):
        # Devices pad fixed-size strings with NULs and often end them with a newline.
        return value.decode("utf-8", errors="replace").rstrip("\x00").strip()
    return str(value)


def number(value: Value | None) -> int | None:
    return value if isinstance(value, int) else None


def _ratio(part: float, whole: float) -> float | None:
    if whole <= 0 or part < 0 or not math.isfinite(part / whole):
        return None
    return min(1.0, part / whole)


def _index_key(index: str) -> tuple[int, ...]:
    return tuple(int(x) for x in index.split("."))


def parse_interfaces(columns: Mapping[str, Mapping[str, Value]]) -> list[Interface]:
    def col(oid: str) -> Mapping[str, Value]:
        return columns.get(oid, {})

    oper = col(P.IF_OPER_STATUS)
    interfaces = []
    for index in sorted(oper, key=_index_key):
        if not index.isdigit():
            continue
        high_speed = number(col(P.IF_HIGH_SPEED).get(index))
        speed = number(col(P.IF_SPEED).get(index))
        admin = number(col(P.IF_ADMIN_STATUS).get(index))
        in_bytes = number(col(P.IF_HC_IN_OCTETS).get(index))
        out_bytes = number(col(P.IF_HC_OUT_OCTETS).get(index))
        interfaces.append(Interface(
            index=int(index),
            name=text(col(P.IF_NAME).get(index)) or text(col(P.IF_DESCR).get(index))
            or f"if{index}",
            oper_up=oper[index] == 1,
            admin_up=None if admin is None else admin == 1,
            alias=text(col(P.IF_ALIAS).get(index)) or None,
            # ifSpeed saturates at 4.29 Gbit/s; ifHighSpeed (Mbit/s) does not.
            speed_bits_per_second=high_speed * 1e6 if high_speed else speed,
            in_bytes_total=in_bytes if in_bytes is not None
            else number(col(P.IF_IN_OCTETS).get(index)),
            out_bytes_total=out_bytes if out_bytes is not None
            else number(col(P.IF_OUT_OCTETS).get(index)),
            in_errors_total=number(col(P.IF_IN_ERRORS).get(index)),
            out_errors_total=number(col(P.IF_OUT_ERRORS).get(index)),
        ))
    return interfaces


def interfaces_without_hc_counters(columns: Mapping[str, Mapping[str, Value]]) -> bool:
    hc = columns.get(P.IF_HC_IN_OCTETS, {})
    return any(index not in hc for index in columns.get(P.IF_OPER_STATUS, {}))


def parse_storage(columns: Mapping[str, Mapping[str, Value]]) -> list[Storage]:
    types = columns.get(P.HR_STORAGE_TYPE, {})
    storage = []
    for index in sorted(columns.get(P.HR_STORAGE_SIZE, {}), key=_index_key):
        units = number(columns.get(P.HR_STORAGE_ALLOCATION_UNITS, {}).get(index))
        size = number(columns[P.HR_STORAGE_SIZE][index])
        used = number(columns.get(P.HR_STORAGE_USED, {}).get(index))
        # hrStorageSize is an Integer32: huge volumes wrap negative on some agents.
        if not units or units < 0 or size is None or size <= 0 or used is None or used < 0:
            continue
        storage.append(Storage(
            description=text(columns.get(P.HR_STORAGE_DESCR, {}).get(index)) or f"#{index}",
            kind=P.HR_STORAGE_TYPES.get(str(types.get(index)), "other"),
            size_bytes=size * units,
            used_bytes=used * units,
            used_ratio=_ratio(used, size),
        ))
    return storage


def memory_used_ratio(
    storage: Sequence[Storage], columns: Mapping[str, Mapping[str, Value]]
) -> float | None:
    ram = [s for s in storage if s.kind == "ram"]
    if ram:
        reclaimable = sum(
            s.used_bytes for s in storage
            if s.kind == "other" and s.description in P.NET_SNMP_RECLAIMABLE_MEMORY
        )
        size = sum(s.size_bytes for s in ram)
        return _ratio(max(0, sum(s.used_bytes for s in ram) - reclaimable), size)
    names = {i: text(v) for i, v in columns.get(P.CISCO_MEMORY_POOL_NAME, {}).items()}
    pools = [i for i, name in names.items() if name == "Processor"] or list(names)
    used = [number(columns.get(P.CISCO_MEMORY_POOL_USED, {}).get(i)) for i in pools]
    free = [number(columns.get(P.CISCO_MEMORY_POOL_FREE, {}).get(i)) for i in pools]
    if not pools or None in used or None in free:
        return None
    total_used = sum(u for u in used if u is not None)
    return _ratio(total_used, total_used + sum(f for f in free if f is not None))


def cpu_ratio(columns: Mapping[str, Mapping[str, Value]]) -> float | None:
    for column in (P.HR_PROCESSOR_LOAD, P.CISCO_CPU_TOTAL_1MIN):
        loads = [v for v in columns.get(column, {}).values() if isinstance(v, int)]
        if loads:
            return _ratio(sum(loads) / len(loads), 100.0)
    return None


def _first_row(column: Mapping[str, Value]) -> Value | None:
    return column[min(column, key=_index_key)] if column else None


def parse_ups(
    scalars: Mapping[str, Value], columns: Mapping[str, Mapping[str, Value]]
) -> UpsStatus | None:
    source = number(scalars.get(P.UPS_OUTPUT_SOURCE))
    charge = number(scalars.get(P.UPS_ESTIMATED_CHARGE_REMAINING))
    minutes = number(scalars.get(P.UPS_ESTIMATED_MINUTES_REMAINING))
    battery = number(scalars.get(P.UPS_BATTERY_STATUS))
    # Multi-phase UPSes have one row per line; line 1 stands for them all.
    volts_in = number(_first_row(columns.get(P.UPS_INPUT_VOLTAGE, {})))
    volts_out = number(_first_row(columns.get(P.UPS_OUTPUT_VOLTAGE, {})))
    if any(v is not None for v in (source, charge, minutes, battery)):
        return UpsStatus(
            mib="ups-mib",
            on_battery=None if source is None else source == P.UPS_OUTPUT_SOURCE_BATTERY,
            output_source=None if source is None else P.UPS_OUTPUT_SOURCES.get(source, "other"),
            battery_status=None if battery is None else P.UPS_BATTERY_STATUSES.get(battery),
            battery_charge_ratio=None if charge is None else _ratio(charge, 100.0),
            runtime_seconds=None if minutes is None else float(minutes * 60),
            input_voltage=None if volts_in is None else float(volts_in),
            output_voltage=None if volts_out is None else float(volts_out),
        )
    status = number(scalars.get(P.APC_BASIC_OUTPUT_STATUS))
    capacity = number(scalars.get(P.APC_ADV_BATTERY_CAPACITY))
    runtime = number(scalars.get(P.APC_ADV_BATTERY_RUNTIME_REMAINING))
    apc_battery = number(scalars.get(P.APC_BASIC_BATTERY_STATUS))
    apc_in = number(scalars.get(P.APC_ADV_INPUT_LINE_VOLTAGE))
    apc_out = number(scalars.get(P.APC_ADV_OUTPUT_VOLTAGE))
    if all(v is None for v in (status, capacity, runtime)):
        return None
    return UpsStatus(
        mib="apc-powernet",
        on_battery=None if status is None else status == P.APC_OUTPUT_ON_BATTERY,
        output_source=None if status is None
        else P.APC_OUTPUT_STATUSES.get(status, f"status_{status}"),
        battery_status=None if apc_battery is None
        else P.UPS_BATTERY_STATUSES.get(apc_battery),
        battery_charge_ratio=None if capacity is None else _ratio(capacity, 100.0),
        runtime_seconds=None if runtime is None else runtime / 100.0,
        input_voltage=None if apc_in is None else float(apc_in),
        output_voltage=None if apc_out is None else float(apc_out),
    )


def printer_errors(state: Value | None) -> list[str]:
    if not isinstance(state, bytes):
        return []
    errors = []
    for bit, name in enumerate(P.HR_PRINTER_ERRORS):
        octet, shift = divmod(bit, 8)
        if octet < len(state) and state[octet] & (0x80 >> shift):
            errors.append(name)
    return errors


def parse_printer(columns: Mapping[str, Mapping[str, Value]]) -> PrinterStatus | None:
    types = columns.get(P.HR_DEVICE_TYPE, {})
    printer_rows = columns.get(P.HR_PRINTER_STATUS, {})
    devices = [i for i, t in types.items() if t == P.HR_DEVICE_PRINTER] or list(printer_rows)
    supplies = []
    descriptions = columns.get(P.PRT_MARKER_SUPPLIES_DESCR, {})
    for index in sorted(descriptions, key=_index_key):
        level = number(columns.get(P.PRT_MARKER_SUPPLIES_LEVEL, {}).get(index))
        capacity = number(columns.get(P.PRT_MARKER_SUPPLIES_MAX_CAPACITY, {}).get(index))
        # Negative levels and capacities are codes (other, unknown, "some remaining").
        known = level is not None and capacity is not None and level >= 0 and capacity > 0
        supplies.append(PrinterSupply(
            description=text(descriptions[index]) or f"supply {index}",
            level_ratio=_ratio(level, capacity) if known else None,  # type: ignore[arg-type]
        ))
    if not devices and not supplies:
        return None
    device = min(devices, key=_index_key) if devices else None
    status = number(printer_rows.get(device)) if device else None
    device_status = number(columns.get(P.HR_DEVICE_STATUS, {}).get(device)) if device else None
    return PrinterStatus(
        description=text(columns.get(P.HR_DEVICE_DESCR, {}).get(device)) if device else None,
        status=None if status is None else P.HR_PRINTER_STATUSES.get(status, "other"),
        device_status=None if device_status is None
        else P.HR_DEVICE_STATUSES.get(device_status, "unknown"),
        errors=printer_errors(columns.get(P.HR_PRINTER_DETECTED_ERROR_STATE, {}).get(device))
        if device else [],
        supplies=supplies,
        page_count=number(_first_row(columns.get(P.PRT_MARKER_LIFE_COUNT, {}))),
    )


# --- collection: what to ask for, over any SnmpClient ---


@dataclass
class Collected:
    """What has been read so far; a probe cut short by its deadline reports this much."""

    # None until the agent has answered the first request.
    system: dict[str, Value] | None = None
    profile: P.ProfileName | None = None
    scalars: dict[str, Value] = field(default_factory=dict)
    columns: dict[str, dict[str, Value]] = field(default_factory=dict)
    incomplete: list[str] = field(default_factory=list)

    def fields(self) -> dict[str, Any]:
        system, columns = self.system or {}, self.columns
        uptime = number(self.scalars.get(P.HR_SYSTEM_UPTIME))
        if uptime is None:
            uptime = number(system.get(P.SYS_UPTIME))
        storage = parse_storage(columns)
        result: dict[str, Any] = {
            "profile": self.profile,
            "sys_name": text(system.get(P.SYS_NAME)),
            "sys_descr": text(system.get(P.SYS_DESCR)),
            "sys_object_id": text(system.get(P.SYS_OBJECT_ID)),
            "uptime_seconds": None if uptime is None else uptime / 100.0,
            "cpu_ratio": cpu_ratio(columns),
            "memory_used_ratio": memory_used_ratio(storage, columns),
            "interfaces": parse_interfaces(columns),
            "storage": storage,
            "incomplete": list(self.incomplete),
        }
        if self.profile == "ups":
            result["ups"] = parse_ups(self.scalars, columns)
        if self.profile == "printer":
            result["printer"] = parse_printer(columns)
        return result


async def detect_profile(client: SnmpClient, system: Mapping[str, Value]) -> P.ProfileName:
    """Pick a profile from sysObjectID and which MIBs answer (one GETNEXT)."""
    ip_forwarding_parent = P.IP_FORWARDING.rsplit(".", 1)[0]
    following = await client.get_next([*P.DETECTION_SUBTREES, ip_forwarding_parent])
    present = frozenset(
        subtree for subtree in P.DETECTION_SUBTREES
        if subtree in following and following[subtree][0].startswith(subtree + ".")
    )
    oid, value = following.get(ip_forwarding_parent, ("", 0))
    forwarding = number(value) if oid == P.IP_FORWARDING else None
    return P.choose_profile(text(system.get(P.SYS_OBJECT_ID)), present, forwarding)


async def collect(
    client: SnmpClient, profile: ProfileSetting, into: Collected
) -> Collected:
    """Read the system group, choose the profile, then read it (columns concurrently)."""
    into.system = await client.get(P.SYSTEM_SCALARS)
    into.profile = await detect_profile(client, into.system) if profile == "auto" else profile
    spec = P.PROFILE_TABLE[into.profile]

    async def read_scalars() -> None:
        try:
            into.scalars.update(await client.get(spec.scalars))
        except SnmpRequestError as exc:
            into.incomplete.append(f"{', '.join(spec.scalars)}: {exc}")

    async def read_column(column: str) -> None:
        try:
            into.columns[column] = await client.walk(column)
        except SnmpRequestError as exc:
            into.incomplete.append(f"{column}: {exc}")

    await asyncio.gather(
        *([read_scalars()] if spec.scalars else []), *(read_column(c) for c in spec.columns)
    )
    if P.IF_OPER_STATUS in spec.columns and interfaces_without_hc_counters(into.columns):
        await asyncio.gather(*(read_column(c) for c in P.INTERFACE_FALLBACK_COLUMNS))
    return into


# --- the wire: pysnmp ---


@dataclass
class _EnginePool:
    """One engine per event loop; a second only when one v3 user name has two key sets.

    pysnmp keeps one USM entry per user name in an engine, so two devices that share a
    user name but not its keys would overwrite each other's entry mid-flight.
    """

    main: SnmpEngine
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
            self.extra[config.user, digest] = new_engine()
        return self.extra[config.user, digest]

    def all(self) -> list[SnmpEngine]:
        return [self.main, *self.extra.values()]


_MIB_VIEW: dict[str, Any] = {}


def new_engine() -> SnmpEngine:
    engine = SnmpEngine()
    # pysnmp resolves every OID through a MIB view that takes 0.3 s to build; engines
    # share the first one (it is only read). Building it attaches pysnmp's MIB compiler,
    # which warns through pysmi: done here, once, quietly.
    if "view" in _MIB_VIEW:
        engine.cache["mibViewController"] = _MIB_VIEW["view"]
    with _quiet_pysmi():
        CommandGeneratorVarBinds().make_varbinds(
            engine.cache, (ObjectType(ObjectIdentity(P.SYS_UPTIME)),)
        )
    _MIB_VIEW.setdefault("view", engine.cache["mibViewController"])
    return engine


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
        pool = _POOLS[loop] = _EnginePool(new_engine())
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
    ):
        self.engine = engine
        self.auth = auth
        self.address = address
        self.context = ContextData(contextName=(context_name or "").encode())
        self.retries = retries
        self.max_repetitions = max_repetitions
        self.attempt_timeout = attempt_timeout
        self.deadline = deadline
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
        error_indication, error_status, error_index, varbinds = await command(
            self.engine, self.auth, transport, self.context, *args, lookupMib=False
        )
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


def parse_target(target: str) -> tuple[str, int]:
    """``host``, ``host:port``, ``[v6]:port`` or a bare IPv6 address."""
    host, port = target.strip(), DEFAULT_PORT
    if host.startswith("["):
        host, _, rest = host[1:].partition("]")
        if rest:
            port = int(rest.removeprefix(":"))
    elif host.count(":") == 1:
        host, port_text = host.split(":")
        port = int(port_text)
    if not host or not 0 < port < 65536:
        raise ValueError(f"not a host or host:port: {target!r}")
    return host, port


async def _resolve(host: str, port: int) -> tuple[str, int]:
    with contextlib.suppress(ValueError):
        return str(ipaddress.ip_address(host)), port
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_DGRAM)
    return str(infos[0][4][0]), port


async def _answers_v3_discovery(
    engine: SnmpEngine, address: tuple[str, int], wait_seconds: float
) -> bool:
    """Whether an SNMP agent answers at ``address`` at all (SNMPv3 engine ID discovery)."""
    if wait_seconds < TIMER_STEP:
        return False
    client = PysnmpClient(
        engine, UsmUserData(DISCOVERY_USER), address,
        attempt_timeout=wait_seconds, deadline=time.monotonic() + wait_seconds,
    )
    try:
        await client.get([P.SYS_UPTIME])
    except SnmpRequestError as exc:
        # A report (unknown user, unknown engine ID, ...) is an answer.
        return exc.kind not in ("RequestTimedOut", "timeout")
    return True


def _failure_message(
    exc: SnmpRequestError, config: SnmpConfig, where: str, waited: float, agent_answers: bool
) -> str:
    user = f"SNMPv3 user {config.user!r}"
    if exc.kind == "WrongDigest":
        return (
            f"SNMPv3 authentication failed at {where}: the agent reports a wrong digest "
            f"(wrong auth key or auth protocol for {user})"
        )
    if exc.kind == "UnknownUserName":
        return f"{user} is unknown to the agent at {where}"
    if exc.kind == "UnsupportedSecLevel":
        return f"{user} is not allowed authPriv at {where}"
    if exc.kind == "DecryptionError":
        return f"SNMPv3 decryption failed at {where}: wrong priv key or priv protocol"
    if exc.kind in ("RequestTimedOut", "timeout"):
        if not agent_answers:
            return (
                f"no SNMP answer from {where} in {waited:.1f} s "
                "(host down, port filtered, or no SNMP agent)"
            )
        if config.version == "2c":
            return (
                f"wrong community: the SNMP agent at {where} is alive (it answers SNMPv3 "
                "discovery) but ignored the SNMPv2c request (wrong community, or this "
                "address may not use it)"
            )
        return (
            f"SNMPv3 request unanswered though the agent at {where} is alive: wrong priv "
            f"key or priv protocol for {user}, or an unknown context"
        )
    return f"SNMP request to {where} failed: {exc} ({exc.kind})"


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
        max_repetitions=config.max_repetitions,
    )
    failure: SnmpRequestError | None = None
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
                pool.main, address, _tenths(end - TIMER_STEP - time.monotonic())
            )
    waited = time.monotonic() - started
    return result(False, _failure_message(failure, config, where, waited, alive))
