"""SNMP probe: identity, uptime, CPU, memory, interfaces, UPS and printer state of one device.

Speaks SNMPv2c or SNMPv3 authPriv with numeric OIDs only (profiles in
``snmp_profiles``) and never runs past ``min(timeout_seconds, deadline)``. A device
that cannot be read is a result with ``up=False`` and an error that says which of
wrong community, wrong key or silent host. This module holds the types and the logic;
the wire (``snmp_wire``) is imported by the first probe, so the result types cost no
SNMP library to whoever only reads results.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field, model_validator

from probes import snmp_profiles as P
from probes.base import ProbeCli, ProbeConfig, ProbeKind, ProbeResult, timeout_budget
from probes.secret import Secret
from probes.series import Family, Sample, add

if TYPE_CHECKING:
    import argparse

    from inventory.model import Ward

ProfileSetting = Literal["auto", "host", "switch", "router", "ups", "printer"]
# Numbers are int, OCTET STRINGs bytes, OBJECT IDENTIFIERs and IpAddresses dotted str.
Value = int | bytes | str

DEFAULT_PORT = 161
MAX_REPETITIONS = 25


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
            # Each message reads after "expected", as every validation message does.
            raise ValueError("a community for SNMPv2c")
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
                raise ValueError(f"{', '.join(missing)} for SNMPv3 authPriv")
            for name, key in (("auth_key", self.auth_key), ("priv_key", self.priv_key)):
                if key is not None and len(key.reveal()) < 8:
                    # RFC 3414 forbids shorter pass phrases; agents reject them anyway.
                    raise ValueError(f"an {name} of at least 8 characters")
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
    # The last battery self-test's result, in the MIB's words (passed, failed, ...).
    self_test: str | None = None
    # The MIB the reading came from (snmp_profiles.UPS_MIBS).
    mib: Literal["ups-mib", "apc-powernet", "eaton-xups", "mge", "cyberpower", "delta", "xppc",
                 "eppc"]


class PrinterSupply(Strict):
    description: str
    # toner, drum, waste_toner, ink, ... (snmp_profiles.PRT_SUPPLY_KINDS); None if unsaid.
    kind: str | None = None
    # For a receptacle (waste toner, waste ink) the share of space left, as the MIB says.
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


# The kind of SnmpRequestError for an answer that came but could not be decoded: the
# agent is there, so what it was asked for is a failed reading, not a silent device.
UNDECODABLE = "UndecodableAnswer"
# The ranges of SNMP's unsigned types (RFC 2578): Gauge32, TimeTicks and Counter32 end
# at 2**32 - 1, Counter64 at 2**64 - 1. A device that reports outside them is broken.
MAX_UNSIGNED32 = 2**32 - 1
MAX_COUNTER64 = 2**64 - 1


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


def _shown(value: int) -> str:
    # A hostile device's number may be too long for str() (and for a log line).
    return str(value) if abs(value) < 10**20 else f"a {value.bit_length()}-bit number"


def reading(value: Value | None, what: str, problems: list[str], high: int,
            low: int = 0) -> int | None:
    """``value`` if it is a number within ``low..high``; else None, and why in ``problems``.

    Out-of-range device data is a failed reading of that one field, never a result
    that cannot be built (which would show a device that answered as down).
    """
    found = number(value)
    if found is None or low <= found <= high:
        return found
    problems.append(f"{what}: {_shown(found)} is outside {low}..{_shown(high)}")
    return None


def _ratio(part: float, whole: float) -> float | None:
    if whole <= 0 or part < 0 or not math.isfinite(part / whole):
        return None
    return min(1.0, part / whole)


def _index_key(index: str) -> tuple[int, ...]:
    return tuple(int(x) for x in index.split("."))


def parse_interfaces(
    columns: Mapping[str, Mapping[str, Value]], problems: list[str]
) -> list[Interface]:
    def col(oid: str) -> Mapping[str, Value]:
        return columns.get(oid, {})

    def counter(oid: str, index: str, high: int = MAX_COUNTER64) -> int | None:
        return reading(col(oid).get(index), f"{oid}.{index}", problems, high)

    oper = col(P.IF_OPER_STATUS)
    interfaces = []
    for index in sorted(oper, key=_index_key):
        if not index.isdigit():
            continue
        high_speed = counter(P.IF_HIGH_SPEED, index, MAX_UNSIGNED32)
        speed = counter(P.IF_SPEED, index, MAX_UNSIGNED32)
        admin = number(col(P.IF_ADMIN_STATUS).get(index))
        # The 32-bit counters only where the 64-bit ones are missing, never in place of
        # a broken one: a series that switches counters looks like a counter reset.
        in_bytes = (counter(P.IF_HC_IN_OCTETS, index) if index in col(P.IF_HC_IN_OCTETS)
                    else counter(P.IF_IN_OCTETS, index, MAX_UNSIGNED32))
        out_bytes = (counter(P.IF_HC_OUT_OCTETS, index) if index in col(P.IF_HC_OUT_OCTETS)
                     else counter(P.IF_OUT_OCTETS, index, MAX_UNSIGNED32))
        interfaces.append(Interface(
            index=int(index),
            name=text(col(P.IF_NAME).get(index)) or text(col(P.IF_DESCR).get(index))
            or f"if{index}",
            oper_up=oper[index] == 1,
            admin_up=None if admin is None else admin == 1,
            alias=text(col(P.IF_ALIAS).get(index)) or None,
            # ifSpeed saturates at 4.29 Gbit/s; ifHighSpeed (Mbit/s) does not.
            speed_bits_per_second=high_speed * 1e6 if high_speed else speed,
            in_bytes_total=in_bytes,
            out_bytes_total=out_bytes,
            in_errors_total=counter(P.IF_IN_ERRORS, index, MAX_UNSIGNED32),
            out_errors_total=counter(P.IF_OUT_ERRORS, index, MAX_UNSIGNED32),
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


def _first_row_reading(columns: Mapping[str, Mapping[str, Value]], oid: str,
                       problems: list[str], high: int, low: int = 0) -> int | None:
    column = columns.get(oid, {})
    if not column:
        return None
    index = min(column, key=_index_key)
    return reading(column[index], f"{oid}.{index}", problems, high, low)


def _ups_value(value: P.UpsValue | None, scalars: Mapping[str, Value],
               columns: Mapping[str, Mapping[str, Value]], problems: list[str]
               ) -> int | None:
    if value is None:
        return None
    if value.column:
        return _first_row_reading(columns, value.oid, problems, value.high, value.low)
    return reading(scalars.get(value.oid), value.oid, problems, value.high, value.low)


def _held(value: P.UpsValue, scalars: Mapping[str, Value],
          columns: Mapping[str, Mapping[str, Value]]) -> bool:
    return bool(columns.get(value.oid)) if value.column else value.oid in scalars


def _ups_quantity(value: P.UpsValue | None, scalars: Mapping[str, Value],
                  columns: Mapping[str, Mapping[str, Value]], problems: list[str]
                  ) -> float | None:
    """The first object of ``value``'s chain that the device holds, in the result's unit.

    A fallback stands in only for an object the device does not have, never for one it
    holds with a broken value (that is a failed reading, said in ``problems``)."""
    for candidate in value.chain() if value is not None else ():
        if not _held(candidate, scalars, columns):
            continue
        raw = _ups_value(candidate, scalars, columns, problems)
        if raw is None:
            return None
        # Divide by 10 or 100 rather than multiply by 0.1 or 0.01, so that 1195 tenths
        # of a volt are 119.5 V and not 119.50000000000001.
        return (raw * candidate.scale if candidate.scale >= 1
                else raw / round(1 / candidate.scale))
    return None


def parse_ups_mib(
    mib: P.UpsMib, scalars: Mapping[str, Value], columns: Mapping[str, Mapping[str, Value]],
    problems: list[str],
) -> UpsStatus | None:
    """The UPS as one MIB describes it; None when the device holds none of its state."""
    def read(value: P.UpsValue | None) -> int | None:
        return _ups_value(value, scalars, columns, problems)

    def quantity(value: P.UpsValue | None) -> float | None:
        return _ups_quantity(value, scalars, columns, problems)

    source, battery = read(mib.output_source), read(mib.battery_status)
    charge, runtime = quantity(mib.charge_percent), quantity(mib.runtime_seconds)
    if all(v is None for v in (source, charge, runtime, battery)):
        return None
    test = read(mib.self_test)
    return UpsStatus(
        mib=mib.name,  # type: ignore[arg-type]
        on_battery=None if source is None else source in mib.on_battery,
        output_source=None if source is None
        else mib.output_sources.get(source, f"status_{source}"),
        battery_status=None if battery is None
        else mib.battery_statuses.get(battery, f"status_{battery}"),
        battery_charge_ratio=None if charge is None else _ratio(charge, 100.0),
        runtime_seconds=runtime,
        input_voltage=quantity(mib.input_voltage),
        output_voltage=quantity(mib.output_voltage),
        self_test=None if test is None else mib.self_tests.get(test, f"status_{test}"),
    )


def parse_ups(
    scalars: Mapping[str, Value], columns: Mapping[str, Mapping[str, Value]],
    problems: list[str],
) -> UpsStatus | None:
    """The first MIB in ``UPS_MIBS`` that says whether the UPS is on battery; failing
    that, the first that holds any of its state."""
    readings = []
    for mib in P.UPS_MIBS:
        found = parse_ups_mib(mib, scalars, columns, problems)
        if found is not None and found.on_battery is not None:
            return found
        if found is not None:
            readings.append(found)
    return readings[0] if readings else None


def printer_errors(state: Value | None) -> list[str]:
    if not isinstance(state, bytes):
        return []
    errors = []
    for bit, name in enumerate(P.HR_PRINTER_ERRORS):
        octet, shift = divmod(bit, 8)
        if octet < len(state) and state[octet] & (0x80 >> shift):
            errors.append(name)
    return errors


def parse_printer(
    columns: Mapping[str, Mapping[str, Value]], problems: list[str]
) -> PrinterStatus | None:
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
        kind = number(columns.get(P.PRT_MARKER_SUPPLIES_TYPE, {}).get(index))
        supplies.append(PrinterSupply(
            description=text(descriptions[index]) or f"supply {index}",
            kind=None if kind is None else P.PRT_SUPPLY_KINDS.get(kind, "other"),
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
        page_count=_first_row_reading(columns, P.PRT_MARKER_LIFE_COUNT, problems,
                                      MAX_UNSIGNED32),
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
        problems = list(self.incomplete)
        # The host's uptime where it has one, else the agent's (never the agent's in place
        # of a broken host figure: they are different clocks).
        uptime_oid = P.HR_SYSTEM_UPTIME if P.HR_SYSTEM_UPTIME in self.scalars else P.SYS_UPTIME
        uptime = reading({**system, **self.scalars}.get(uptime_oid), uptime_oid, problems,
                         MAX_UNSIGNED32)
        storage = parse_storage(columns)
        result: dict[str, Any] = {
            "profile": self.profile,
            "sys_name": text(system.get(P.SYS_NAME)),
            "sys_descr": text(system.get(P.SYS_DESCR)),
            "sys_object_id": text(system.get(P.SYS_OBJECT_ID)),
            "uptime_seconds": None if uptime is None else uptime / 100.0,
            "cpu_ratio": cpu_ratio(columns),
            "memory_used_ratio": memory_used_ratio(storage, columns),
            "interfaces": parse_interfaces(columns, problems),
            "storage": storage,
            "incomplete": problems,
        }
        if self.profile == "ups":
            result["ups"] = parse_ups(self.scalars, columns, problems)
        if self.profile == "printer":
            result["printer"] = parse_printer(columns, problems)
        return result


@dataclass(frozen=True)
class _Detected:
    profile: P.ProfileName
    sys_object_id: str | None
    uptime: int | None
    at: float


class DetectionCache:
    """What "auto" found each device to be, so detection is one probe round per device,
    not one GETNEXT every round. An entry is dropped, and the device detected again,
    when its sysObjectID changes (another device at that address), its agent's uptime
    goes back (a restart: new firmware may answer other MIBs) or it is older than
    ``max_age_seconds``. At most ``max_entries`` devices are remembered, the least
    recently read out first, so a stranger's stream of targets cannot grow it."""

    def __init__(self, max_entries: int = 4096, max_age_seconds: float = 6 * 3600.0,
                 clock: Callable[[], float] = time.monotonic):
        self.max_entries = max_entries
        self.max_age_seconds = max_age_seconds
        self.clock = clock
        self._entries: OrderedDict[Hashable, _Detected] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: Hashable, system: Mapping[str, Value]) -> P.ProfileName | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        uptime = number(system.get(P.SYS_UPTIME))
        if (entry.sys_object_id != text(system.get(P.SYS_OBJECT_ID))
                or (uptime is not None and entry.uptime is not None and uptime < entry.uptime)
                or self.clock() - entry.at > self.max_age_seconds):
            del self._entries[key]
            return None
        if uptime is not None:
            self._entries[key] = replace(entry, uptime=uptime)
        self._entries.move_to_end(key)  # the least recently read goes first
        return entry.profile

    def put(self, key: Hashable, system: Mapping[str, Value], profile: P.ProfileName) -> None:
        self._entries.pop(key, None)
        self._entries[key] = _Detected(profile, text(system.get(P.SYS_OBJECT_ID)),
                                       number(system.get(P.SYS_UPTIME)), self.clock())
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)


# The agent's one cache (a process polls its ward's devices; the key names the device).
DETECTED = DetectionCache()


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
    client: SnmpClient, profile: ProfileSetting, into: Collected,
    device: Hashable | None = None, cache: DetectionCache | None = None,
) -> Collected:
    """Read the system group, choose the profile, then read it (columns concurrently).
    With ``device`` (what identifies it: address and credentials), "auto" asks ``cache``
    before it detects, and remembers what it found (``DETECTED`` unless told)."""
    cache = DETECTED if cache is None else cache
    identified = True
    try:
        into.system = await client.get(P.SYSTEM_SCALARS)
    except SnmpRequestError as exc:
        if exc.kind != UNDECODABLE:
            raise
        into.system = {}  # the agent answered: the rest of its profile may still read
        into.incomplete.append(f"{', '.join(P.SYSTEM_SCALARS)}: {exc}")
        identified = False  # what it is cannot be compared next time: not remembered
    if profile != "auto":
        into.profile = profile
    elif device is not None and (known := cache.get(device, into.system)) is not None:
        into.profile = known
    else:
        into.profile = await detect_profile(client, into.system)
        if device is not None and identified:
            cache.put(device, into.system, into.profile)
    spec = P.PROFILE_TABLE[into.profile]

    async def read_scalars(group: tuple[str, ...]) -> None:
        try:
            into.scalars.update(await client.get(group))
        except SnmpRequestError as exc:
            into.incomplete.append(f"{', '.join(group)}: {exc}")

    async def read_column(column: str) -> None:
        try:
            into.columns[column] = await client.walk(column)
        except SnmpRequestError as exc:
            into.incomplete.append(f"{column}: {exc}")

    await asyncio.gather(
        *(read_scalars(group) for group in spec.scalars), *(read_column(c) for c in spec.columns)
    )
    if P.IF_OPER_STATUS in spec.columns and interfaces_without_hc_counters(into.columns):
        await asyncio.gather(*(read_column(c) for c in P.INTERFACE_FALLBACK_COLUMNS))
    return into


# --- targets and failure messages (no SNMP here either) ---


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


def failure_message(
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
    from probes import snmp_wire

    return await snmp_wire.probe(target, config, deadline)


# --- the kind, declared once

FAMILIES = (
    Family("sansang_device_up", "1 when the device answered SNMP."),
    Family("sansang_device_cpu_ratio", "Device CPU load, 0 to 1."),
    Family("sansang_device_memory_used_ratio", "Share of device memory in use."),
    Family("sansang_device_uplink_up", "1 when the device's declared uplink interface is up."),
    Family("sansang_interface_oper_up", "1 when the interface is operationally up."),
    Family("sansang_interface_bytes_total", "Bytes through the interface.", "counter"),
    Family("sansang_interface_errors_total", "Errors on the interface.", "counter"),
    Family("sansang_ups_on_battery", "1 when the UPS runs on battery."),
    Family("sansang_ups_battery_charge_ratio", "UPS battery charge, 0 to 1."),
    Family("sansang_ups_runtime_seconds", "Estimated UPS runtime left on battery."),
    Family("sansang_printer_supply_level_ratio",
           "Printer supply left (toner, drum, ink), 0 to 1; for a waste box, the space left."),
    Family("sansang_printer_error",
           "1 for each error a printer reports now (hrPrinterDetectedErrorState)."),
)
# A device's own words for a supply, cut to a label's sensible length.
SUPPLY_LABEL_CHARS = 80


def interface_labels(interfaces: Sequence[Interface]) -> list[str]:
    """Each interface's label value, distinct within the device: a name several
    interfaces share (a device with two "eth0") gets its ifIndex added to each, so
    neither series hides the other in Prometheus. Stable across reports."""
    return distinct_labels([(i.name, f"ifIndex {i.index}") for i in interfaces])


def distinct_labels(named: Sequence[tuple[str, str]]) -> list[str]:
    """Label values for (name, what tells it apart) pairs, distinct within one device:
    a name several share gets its distinguishing part added to each."""
    counts: dict[str, int] = {}
    for name, _ in named:
        counts[name] = counts.get(name, 0) + 1
    labels = [f"{name} ({tag})" if counts[name] > 1 else name for name, tag in named]
    # A device (or an agent) that repeats the distinguishing part too: number the repeats.
    seen: dict[str, int] = {}
    for position, label in enumerate(labels):
        seen[label] = seen.get(label, 0) + 1
        if seen[label] > 1:
            labels[position] = f"{label} #{seen[label]}"
    return labels


def series(target: str, result: SnmpResult, ward: Ward) -> list[Sample]:
    device = next((d for d in ward.devices if d.id == target), None)
    role = device.role if device else (result.profile or "unknown")
    out: list[Sample] = []
    labels = {"device": target, "role": role}
    add(out, "sansang_device_up", labels, 1 if result.up else 0)
    add(out, "sansang_device_cpu_ratio", labels, result.cpu_ratio)
    add(out, "sansang_device_memory_used_ratio", labels, result.memory_used_ratio)
    names = interface_labels(result.interfaces)
    for interface, name in zip(result.interfaces, names, strict=True):
        port = {"device": target, "interface": name}
        add(out, "sansang_interface_oper_up", port, 1 if interface.oper_up else 0)
        for direction, octets, errors in (
            ("in", interface.in_bytes_total, interface.in_errors_total),
            ("out", interface.out_bytes_total, interface.out_errors_total),
        ):
            add(out, "sansang_interface_bytes_total", {**port, "direction": direction}, octets)
            add(out, "sansang_interface_errors_total", {**port, "direction": direction}, errors)
    if device is not None and device.uplink_interface and result.up:
        # Every interface of that name must be up: with two of one name, either could be
        # the uplink, and a down one must never be hidden behind an up one.
        uplinks = [i for i in result.interfaces if i.name == device.uplink_interface]
        add(out, "sansang_device_uplink_up",
            {"device": target, "interface": device.uplink_interface},
            1 if uplinks and all(i.oper_up for i in uplinks) else 0)
    if result.ups is not None:
        ups = result.ups
        device_only = {"device": target}
        add(out, "sansang_ups_on_battery", device_only,
            None if ups.on_battery is None else int(ups.on_battery))
        add(out, "sansang_ups_battery_charge_ratio", device_only, ups.battery_charge_ratio)
        add(out, "sansang_ups_runtime_seconds", device_only, ups.runtime_seconds)
    if result.printer is not None:
        printer = result.printer
        supplies = printer.supplies
        names = distinct_labels([(s.description[:SUPPLY_LABEL_CHARS], f"#{n}")
                                 for n, s in enumerate(supplies, start=1)])
        for supply, name in zip(supplies, names, strict=True):
            add(out, "sansang_printer_supply_level_ratio",
                {"device": target, "supply": name, "kind": supply_kind(supply)},
                supply.level_ratio)
        # Only the names the MIB defines: a report's words never become label values.
        for error in P.HR_PRINTER_ERRORS:
            if error in printer.errors:
                add(out, "sansang_printer_error", {"device": target, "error": error}, 1)
    return out


KNOWN_SUPPLY_KINDS = frozenset(P.PRT_SUPPLY_KINDS.values()) - {"other", "unknown"}


def supply_kind(supply: PrinterSupply) -> str:
    """A supply's kind label: the MIB's; for a printer that gives none (a Xerox AltaLink
    says no type at all), "waste" where its own name says it is a waste box (its level is
    then the space left, RFC 3805), else "unknown". Never a report's own words."""
    if supply.kind in KNOWN_SUPPLY_KINDS:
        return supply.kind
    return "waste" if "waste" in supply.description.lower() else "unknown"


def failed(target: str, error: str) -> SnmpResult:
    return SnmpResult(up=False, error=error, target=target, version="2c")


def _arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("host", metavar="HOST[:PORT]", help="device address; port 161 by default")
    auth = parser.add_mutually_exclusive_group(required=True)
    auth.add_argument("--community", help="SNMP v2c community")
    auth.add_argument("--user", help="SNMP v3 user (authPriv)")
    parser.add_argument("--auth-protocol", choices=["sha", "sha256"], help="v3 auth protocol")
    parser.add_argument("--auth-key", help="v3 auth key")
    parser.add_argument("--priv-protocol", choices=["aes", "aes256"], help="v3 privacy protocol")
    parser.add_argument("--priv-key", help="v3 privacy key")
    parser.add_argument("--context", default=None, help="v3 context name")
    parser.add_argument("--profile", default="auto",
                        choices=["auto", "host", "switch", "router", "ups", "printer"],
                        help="what to read (default: auto, from sysObjectID)")
    parser.add_argument("--timeout", type=float, default=2.0, help="seconds (default 2)")


def _from_arguments(args: argparse.Namespace) -> tuple[list[str], dict[str, Any]]:
    fields: dict[str, Any]
    if args.community is not None:
        fields = {"version": "2c", "community": Secret(args.community)}
    else:
        fields = {"version": "3", "user": args.user, "auth_protocol": args.auth_protocol,
                  "auth_key": Secret(args.auth_key or ""), "priv_protocol": args.priv_protocol,
                  "priv_key": Secret(args.priv_key or ""), "context_name": args.context}
    return [args.host], {**fields, "profile": args.profile, "timeout_seconds": args.timeout}


KIND = ProbeKind(
    "snmp", SnmpConfig, SnmpResult, probe, FAMILIES, series, failed, timeout_budget,
    columns=[("up", "up", ""), ("profile", "profile", ""), ("sys_name", "name", ""),
             ("uptime_seconds", "uptime", ""), ("cpu_ratio", "cpu", "ratio"),
             ("memory_used_ratio", "memory", "ratio")],
    cli=ProbeCli("SNMP device: identity, CPU, memory, interfaces, UPS", _arguments,
                 _from_arguments),
)
