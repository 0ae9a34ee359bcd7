"""Recordings of real equipment, read by the probe and by net-snmp, compared field by field.

The corpus (tests/lab/snmprec/librenms, from LibreNMS's tests/snmpsim;
tests/lab/snmprec/snmpsim and snmpsim-data, from snmpsim's own data and the snmpsim-data
package; tests/lab/snmprec/nut, from the walks in Network UPS Tools' driver sources) is
served by one snmpsim; net-snmp's snmpwalk of the same recording is the truth. What each
field should be is written here from the MIBs, not from the probe's tables. A field the
device holds that the probe reports as null fails the test, listed by name.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import pytest

from probes import snmp
from probes import snmp_profiles as P
from probes.base import deadline_in
from probes.snmp import SnmpResult, Value, text
from tests.lab.fixtures_snmp import CORPUS_DIRS, SnmpAgent
from tests.test_snmp_probe import (
    IF_TABLE,
    IF_X_TABLE,
    SYSTEM,
    column,
    expected_cpu,
    expected_interfaces,
    expected_memory,
    expected_system,
    first_row,
    netsnmp_for,
    oid_key,
    probe_config,
)

module_loop = pytest.mark.asyncio(loop_scope="module")

# Each recording: the class of equipment it is, and the profile "auto" must pick.
CORPUS: dict[str, tuple[str, str]] = {
    # UPS
    "abbups_abbups": ("ups", "ups"),  # ABB PowerScale, UPS-MIB behind net-snmp's sysObjectID
    "apc_surt3000xl": ("ups", "ups"),  # APC Smart-UPS RT 3000 XL, AP9619 card, PowerNet
    "cyberpower": ("ups", "ups"),  # CyberPower OL2200RTXL2U, CPS-MIB
    "dell-ups": ("ups", "ups"),  # Dell UPS Rack 3750W: UPS-MIB identity only, no state
    "deltaups": ("ups", "ups"),  # Minuteman E1500RTXL2U on a Delta card, UPS-MIB
    "eaton-9PX-partial-walk": ("ups", "ups"),  # Eaton 9PX 2200i, XUPS-MIB and MGE (snmpsim)
    "eaton-mgeups": ("ups", "ups"),  # MGE Galaxy 7000, MG-SNMP-UPS-MIB
    "eatonups": ("ups", "ups"),  # Eaton/Powerware on a ConnectUPS card, XUPS-MIB
    "netagent2": ("ups", "ups"),  # Megatec NetAgent II card, XPPC-MIB only
    "powerwalker": ("ups", "ups"),  # PowerWalker network card, EPPC-MIB only
    "riello": ("ups", "ups"),  # Riello UPS on a NetMan 204 card, UPS-MIB
    "eaton-93e-80": ("ups", "ups"),  # Eaton 93E 80 kVA, MGE and UPS-MIB (snmpsim-data)
    "eastpower-istars-swv053": ("ups", "ups"),  # EAST iStars, UPS-MIB (snmpsim-data)
    "huawei-gse200m": ("ups", "ups"),  # Huawei UPS on a GSE200M card (snmpsim-data)
    "phoenixtec-power": ("ups", "ups"),  # Phoenixtec (Megatec) card, XPPC-MIB (snmpsim-data)
    # Socomec NETYS RT 1/1 on a Delta card: DeltaUPS-MIB only, no system group (NUT)
    "socomec-netys-rt-delta": ("ups", "ups"),
    # printer
    "brother": ("printer", "printer"),  # Brother MFC-L2710DW: hrPrinterTable, no Printer-MIB
    "epson": ("printer", "printer"),  # Epson WF-C5790BA (ink)
    "sharp": ("printer", "printer"),  # Sharp MX-3570N (toner, drums, developers, waste)
    "xerox": ("printer", "printer"),  # Xerox AltaLink C8045: only the supplies table
    # switch
    "edgeswitch": ("switch", "switch"),  # Ubiquiti EdgeSwitch 24: system group only
    "jetstream_t1600g-28ts": ("switch", "switch"),  # TP-Link T1600G-28TS: system group only
    "bdcom-s5612": ("switch", "switch"),  # BDCOM S5612 (snmpsim-data)
    # Cisco Catalyst, IOS 12, 24 Fast Ethernet and 2 Gigabit ports (snmpsim-data)
    "cisco-unmarked-0": ("switch", "switch"),
    "dlink-des3200": ("switch", "switch"),  # D-Link DES-3200-18 (snmpsim-data)
    "huawei-s5720": ("switch", "switch"),  # Huawei S5720-36C-EI (snmpsim-data)
    "ruijie-s5750-24gt12sfp": ("switch", "switch"),  # Ruijie S5750-24GT/12SFP (snmpsim-data)
    # router: none of these says it forwards IP, so "auto" reads them as switches (the
    # same columns); an inventory role "router" is what names them routers.
    "draytek": ("router", "switch"),  # DrayTek Vigor2920
    # Ubiquiti EdgeRouter (EdgeOS 1.8): read as a host, for the storage table it holds
    "edgeos": ("router", "host"),
    "linksys-system": ("router", "switch"),  # Linksys BEFSX41: system group only (snmpsim)
    "routeros": ("router", "switch"),  # MikroTik RB952Ui: bridges, and does not say it forwards
    # host / NAS
    "linux-full-walk": ("host", "host"),  # Linux 2.6 (Cray), net-snmp (snmpsim)
    "linux_ups-apcups-legacy": ("host", "host"),  # Linux 3.10 server: system and uptime only
    "qnap": ("host", "host"),  # QNAP TVS-871U-RP NAS
    "isilon-onefs": ("host", "host"),  # Isilon OneFS NAS (snmpsim-data)
    # NetApp FAS3270 filer: no HOST-RESOURCES-MIB, so read for its interfaces
    "netapp-fas3270": ("host", "switch"),
    "server-2003-5-2": ("host", "host"),  # Windows Server 2003 (snmpsim-data)
    "solaris-system": ("host", "switch"),  # Sun Blade 100: system group only (snmpsim)
    "winxp-full-walk": ("host", "host"),  # Windows XP (snmpsim)
}
# One recording per class, probed over SNMPv3 authPriv as well.
V3_DEVICES = ("cyberpower", "sharp", "dlink-des3200", "draytek", "qnap")

MIB_2 = "1.3.6.1.2.1"
REFERENCE = (
    SYSTEM, IF_TABLE, IF_X_TABLE, "1.3.6.1.2.1.25", "1.3.6.1.2.1.33", "1.3.6.1.2.1.43",
    "1.3.6.1.4.1.318.1.1.1", "1.3.6.1.4.1.534.1", "1.3.6.1.4.1.705.1",
    "1.3.6.1.4.1.3808.1.1.1", "1.3.6.1.4.1.2254.2.4", "1.3.6.1.4.1.935.1.1.1",
    "1.3.6.1.4.1.935.10.1.1",
)


# --- what each UPS MIB says, read from the MIB texts ---

# Every UPS object read here is non-negative by its MIB (upsEstimatedMinutesRemaining
# positive); a value outside that (-1 or 0 for "unknown" on some cards) is a failed
# reading, which the probe must name (see read_and_compare).
def _scalar(ref: Mapping[str, Value], oid: str, low: int = 0) -> int | None:
    value = ref.get(oid)
    return value if isinstance(value, int) and value >= low else None


def _line_1(ref: Mapping[str, Value], oid: str) -> int | None:
    value = first_row(ref, oid)
    return value if isinstance(value, int) and value >= 0 else None


def _times(value: int | None, factor: float) -> float | None:
    return None if value is None else value * factor


def _over(value: float | None, divisor: int) -> float | None:
    return None if value is None else value / divisor


def _ratio(value: float | None) -> float | None:
    return None if value is None else min(1.0, value / 100)


def _either(first: float | None, second: float | None) -> float | None:
    return second if first is None else first


UpsReading = Callable[[Mapping[str, Value]], dict[str, Any]]

# name: (where the output source is, the value that means "on battery", the rest)
UPS_EXPECTATIONS: dict[str, tuple[str, int, UpsReading]] = {
    # RFC 1628: upsOutputSource battery(5); minutes, a PositiveInteger (1..); RMS volts
    # per line.
    "ups-mib": ("1.3.6.1.2.1.33.1.4.1.0", 5, lambda r: {
        "battery_charge_ratio": _ratio(_scalar(r, "1.3.6.1.2.1.33.1.2.4.0")),
        "runtime_seconds": _times(_scalar(r, "1.3.6.1.2.1.33.1.2.3.0", low=1), 60),
        "input_voltage": _line_1(r, "1.3.6.1.2.1.33.1.3.3.1.3"),
        "output_voltage": _line_1(r, "1.3.6.1.2.1.33.1.4.4.1.2"),
    }),
    # PowerNet: upsBasicOutputStatus onBattery(3); TimeTicks; upsHighPrec* in tenths of a
    # percent and of a volt where the card has them, else upsAdv* in percent and volts.
    "apc-powernet": ("1.3.6.1.4.1.318.1.1.1.4.1.1.0", 3, lambda r: {
        "battery_charge_ratio": _ratio(_either(
            _over(_scalar(r, "1.3.6.1.4.1.318.1.1.1.2.3.1.0"), 10),
            _scalar(r, "1.3.6.1.4.1.318.1.1.1.2.2.1.0"))),
        "runtime_seconds": _over(_scalar(r, "1.3.6.1.4.1.318.1.1.1.2.2.3.0"), 100),
        "input_voltage": _either(_over(_scalar(r, "1.3.6.1.4.1.318.1.1.1.3.3.1.0"), 10),
                                 _scalar(r, "1.3.6.1.4.1.318.1.1.1.3.2.1.0")),
        "output_voltage": _either(_over(_scalar(r, "1.3.6.1.4.1.318.1.1.1.4.3.1.0"), 10),
                                  _scalar(r, "1.3.6.1.4.1.318.1.1.1.4.2.1.0")),
    }),
    # XUPS: xupsOutputSource battery(5); seconds; RMS volts per phase.
    "eaton-xups": ("1.3.6.1.4.1.534.1.4.5.0", 5, lambda r: {
        "battery_charge_ratio": _ratio(_scalar(r, "1.3.6.1.4.1.534.1.2.4.0")),
        "runtime_seconds": _scalar(r, "1.3.6.1.4.1.534.1.2.1.0"),
        "input_voltage": _line_1(r, "1.3.6.1.4.1.534.1.3.4.1.2"),
        "output_voltage": _line_1(r, "1.3.6.1.4.1.534.1.4.4.1.2"),
    }),
    # MGE: upsmgOutputOnBattery yes(1); seconds; tenths of a volt (as NUT reads them).
    "mge": ("1.3.6.1.4.1.705.1.7.3.0", 1, lambda r: {
        "battery_charge_ratio": _ratio(_scalar(r, "1.3.6.1.4.1.705.1.5.2.0")),
        "runtime_seconds": _scalar(r, "1.3.6.1.4.1.705.1.5.1.0"),
        "input_voltage": _over(_line_1(r, "1.3.6.1.4.1.705.1.6.2.1.2"), 10),
        "output_voltage": _over(_line_1(r, "1.3.6.1.4.1.705.1.7.2.1.2"), 10),
    }),
    # CPS: upsBaseOutputStatus onBattery(3); TimeTicks; tenths of a volt.
    "cyberpower": ("1.3.6.1.4.1.3808.1.1.1.4.1.1.0", 3, lambda r: {
        "battery_charge_ratio": _ratio(_scalar(r, "1.3.6.1.4.1.3808.1.1.1.2.2.1.0")),
        "runtime_seconds": _over(_scalar(r, "1.3.6.1.4.1.3808.1.1.1.2.2.4.0"), 100),
        "input_voltage": _over(_scalar(r, "1.3.6.1.4.1.3808.1.1.1.3.2.1.0"), 10),
        "output_voltage": _over(_scalar(r, "1.3.6.1.4.1.3808.1.1.1.4.2.1.0"), 10),
    }),
    # DeltaUPS: dupsOutputSource battery(1); minutes; tenths of a volt.
    "delta": ("1.3.6.1.4.1.2254.2.4.5.1.0", 1, lambda r: {
        "battery_charge_ratio": _ratio(_scalar(r, "1.3.6.1.4.1.2254.2.4.7.8.0")),
        "runtime_seconds": _times(_scalar(r, "1.3.6.1.4.1.2254.2.4.7.5.0"), 60),
        "input_voltage": _over(_scalar(r, "1.3.6.1.4.1.2254.2.4.4.3.0"), 10),
        "output_voltage": _over(_scalar(r, "1.3.6.1.4.1.2254.2.4.5.4.0"), 10),
    }),
    # XPPC (NetAgent): upsBaseOutputStatus onBattery(3); seconds; tenths of a volt (NUT).
    "xppc": ("1.3.6.1.4.1.935.1.1.1.4.1.1.0", 3, lambda r: {
        "battery_charge_ratio": _ratio(_scalar(r, "1.3.6.1.4.1.935.1.1.1.2.2.1.0")),
        "runtime_seconds": _scalar(r, "1.3.6.1.4.1.935.1.1.1.2.2.4.0"),
        "input_voltage": _over(_scalar(r, "1.3.6.1.4.1.935.1.1.1.3.2.1.0"), 10),
        "output_voltage": _over(_scalar(r, "1.3.6.1.4.1.935.1.1.1.4.2.1.0"), 10),
    }),
    # EPPC: upsESystemStatus battery(5); minutes; tenths of a volt per phase (LibreNMS).
    "eppc": ("1.3.6.1.4.1.935.10.1.1.2.1.0", 5, lambda r: {
        "battery_charge_ratio": _ratio(_scalar(r, "1.3.6.1.4.1.935.10.1.1.3.4.0")),
        "runtime_seconds": _times(_scalar(r, "1.3.6.1.4.1.935.10.1.1.3.3.0"), 60),
        "input_voltage": _over(_line_1(r, "1.3.6.1.4.1.935.10.1.1.2.16.1.3"), 10),
        "output_voltage": _over(_line_1(r, "1.3.6.1.4.1.935.10.1.1.2.18.1.3"), 10),
    }),
}
# Vendor cards that also speak RFC 1628 are read through it; the first MIB that says
# whether the UPS is on battery wins, then the first that holds anything.
UPS_ORDER = ("ups-mib", "apc-powernet", "eaton-xups", "mge", "cyberpower", "delta", "xppc",
             "eppc")


# The enumerated states of each MIB (battery status, last self-test), where it has them.
# Their names are the probe's words, so only their presence is checked here: a state the
# device holds must not be reported as null.
UPS_STATES: dict[str, dict[str, str]] = {
    "ups-mib": {"battery_status": "1.3.6.1.2.1.33.1.2.1.0",  # upsBatteryStatus
                "self_test": "1.3.6.1.2.1.33.1.7.3.0"},  # upsTestResultsSummary
    "apc-powernet": {"battery_status": "1.3.6.1.4.1.318.1.1.1.2.1.1.0",
                     "self_test": "1.3.6.1.4.1.318.1.1.1.7.2.3.0"},
    "eaton-xups": {"battery_status": "1.3.6.1.4.1.534.1.2.5.0",  # xupsBatteryAbmStatus
                   "self_test": "1.3.6.1.4.1.534.1.8.2.0"},  # xupsTestBatteryStatus
    "mge": {"battery_status": "1.3.6.1.4.1.705.1.5.14.0"},  # upsmgBatteryLowBattery
    "cyberpower": {"battery_status": "1.3.6.1.4.1.3808.1.1.1.2.1.1.0",
                   "self_test": "1.3.6.1.4.1.3808.1.1.1.7.2.3.0"},
    "delta": {"battery_status": "1.3.6.1.4.1.2254.2.4.7.2.0",
              "self_test": "1.3.6.1.4.1.2254.2.4.8.2.0"},
    "xppc": {"battery_status": "1.3.6.1.4.1.935.1.1.1.2.1.1.0"},  # upsBaseBatteryStatus
    "eppc": {"battery_status": "1.3.6.1.4.1.935.10.1.1.3.1.0"},  # upsEBatteryStatus
}


def held_ups_states(ref: Mapping[str, Value], mib: str) -> list[str]:
    """The result's state fields that ``mib``'s reading must fill, the output source too."""
    source_oid = UPS_EXPECTATIONS[mib][0]
    held = ["output_source"] if _scalar(ref, source_oid) is not None else []
    return held + [name for name, oid in UPS_STATES[mib].items() if _scalar(ref, oid) is not None]


def expected_ups(ref: Mapping[str, Value]) -> dict[str, Any] | None:
    readings = []
    for name in UPS_ORDER:
        source_oid, battery, rest = UPS_EXPECTATIONS[name]
        source = _scalar(ref, source_oid)
        values = {"mib": name, "on_battery": None if source is None else source == battery,
                  **rest(ref)}
        if source is not None:
            return values
        if values["battery_charge_ratio"] is not None or values["runtime_seconds"] is not None:
            readings.append(values)
    return readings[0] if readings else None


def expected_storage(ref: Mapping[str, Value]) -> dict[str, dict[str, Any]]:
    """hrStorageTable (RFC 2790): sizes in hrStorageAllocationUnits bytes. A row with no
    size (0, or an Integer32 wrapped negative) or no hrStorageUsed holds nothing to read."""
    rows = {}
    for index, description in column(ref, P.HR_STORAGE_DESCR).items():
        units = ref.get(f"{P.HR_STORAGE_ALLOCATION_UNITS}.{index}")
        size = ref.get(f"{P.HR_STORAGE_SIZE}.{index}")
        used = ref.get(f"{P.HR_STORAGE_USED}.{index}")
        if not (isinstance(units, int) and isinstance(size, int) and isinstance(used, int)):
            continue
        if units <= 0 or size <= 0 or used < 0:
            continue
        rows[text(description) or f"#{index}"] = {
            "kind": P.HR_STORAGE_TYPES.get(str(ref.get(f"{P.HR_STORAGE_TYPE}.{index}")),
                                           "other"),
            "size_bytes": size * units,
            "used_bytes": used * units,
        }
    return rows


def expected_printer(ref: Mapping[str, Value]) -> dict[str, Any]:
    printers = [i for i, t in column(ref, P.HR_DEVICE_TYPE).items() if t == P.HR_DEVICE_PRINTER]
    devices = printers or list(column(ref, P.HR_PRINTER_STATUS))
    device = min(devices, key=lambda i: tuple(map(int, i.split(".")))) if devices else None
    status = ref.get(f"{P.HR_PRINTER_STATUS}.{device}")
    device_status = ref.get(f"{P.HR_DEVICE_STATUS}.{device}")
    supplies = []
    descriptions = column(ref, P.PRT_MARKER_SUPPLIES_DESCR)
    for index in sorted(descriptions, key=lambda i: tuple(map(int, i.split(".")))):
        level = ref.get(f"{P.PRT_MARKER_SUPPLIES_LEVEL}.{index}")
        capacity = ref.get(f"{P.PRT_MARKER_SUPPLIES_MAX_CAPACITY}.{index}")
        known = isinstance(level, int) and isinstance(capacity, int) and level >= 0 < capacity
        supplies.append((text(descriptions[index]),
                         level / capacity if known else None))  # type: ignore[operator]
    state = ref.get(f"{P.HR_PRINTER_DETECTED_ERROR_STATE}.{device}")
    bits = bytes(state) if isinstance(state, bytes) else b""
    # RFC 2790 BITS: bit 0 is the most significant bit of the first octet.
    errors = [name for bit, name in enumerate(P.HR_PRINTER_ERRORS)
              if bit // 8 < len(bits) and bits[bit // 8] >> (7 - bit % 8) & 1]
    return {
        "errors": errors,
        "description": text(ref.get(f"{P.HR_DEVICE_DESCR}.{device}")),
        "status": None if status is None else P.HR_PRINTER_STATUSES[int(status)],
        "device_status": None if device_status is None
        else P.HR_DEVICE_STATUSES[int(device_status)],
        "supplies": supplies,
        "page_count": first_row(ref, P.PRT_MARKER_LIFE_COUNT),
    }


def compare(result: SnmpResult, ref: Mapping[str, Value], profile: str
            ) -> tuple[list[str], list[str], int]:
    """(fields reported null that the device holds, fields that differ, fields compared)."""
    nulls: list[str] = []
    wrong: list[str] = []
    compared = 0

    def check(name: str, actual: Any, expected: Any) -> None:
        nonlocal compared
        if expected is None:
            return
        compared += 1
        if actual is None:
            nulls.append(name)
        elif actual != expected:
            wrong.append(f"{name}: probe {actual!r}, net-snmp {expected!r}")

    for name, value in expected_system(ref, profile).items():
        check(name, getattr(result, name), value)
    if profile in ("host", "switch", "router"):
        check("cpu_ratio", result.cpu_ratio, expected_cpu(ref))
        check("memory_used_ratio", result.memory_used_ratio, expected_memory(ref))
    reported = {i.index: i for i in result.interfaces}
    for index, row in expected_interfaces(ref).items():
        for name, value in row.items():
            check(f"interface {index} {name}", getattr(reported.get(index), name, None), value)
    if set(reported) - set(expected_interfaces(ref)):
        extra = set(reported) - set(expected_interfaces(ref))
        wrong.append(f"interfaces net-snmp does not see: {sorted(extra)}")
    if profile == "ups":
        expected = expected_ups(ref)
        if expected is not None:
            for name, value in expected.items():
                check(f"ups.{name}", getattr(result.ups, name, None), value)
            for name in held_ups_states(ref, expected["mib"]):
                compared += 1
                if getattr(result.ups, name, None) is None:
                    nulls.append(f"ups.{name}")
    if profile == "host":
        reported_storage = {s.description: s for s in result.storage}
        for description, row in expected_storage(ref).items():
            for name, value in row.items():
                check(f"storage {description!r} {name}",
                      getattr(reported_storage.get(description), name, None), value)
    if profile == "printer":
        expected = expected_printer(ref)
        printer = result.printer
        for name in ("description", "status", "device_status", "page_count"):
            check(f"printer.{name}", getattr(printer, name, None), expected[name])
        check("printer.errors", getattr(printer, "errors", None), expected["errors"])
        supplies = [] if printer is None else printer.supplies
        check("printer.supplies", len(supplies), len(expected["supplies"]))
        for position, (description, level) in enumerate(expected["supplies"]):
            supply = supplies[position] if position < len(supplies) else None
            check(f"printer.supply {position + 1} description",
                  getattr(supply, "description", None), description)
            check(f"printer.supply {position + 1} level_ratio",
                  getattr(supply, "level_ratio", None), level)
    return nulls, wrong, compared


async def read_and_compare(agent: SnmpAgent, tools: Any, device: str, auth: str) -> int:
    profile = CORPUS[device][1]
    reference = netsnmp_for(agent, auth, tools, device).walk(REFERENCE)
    result = await snmp.probe(
        agent.target, probe_config(agent, auth, device, timeout_seconds=5), deadline_in(10))
    assert result.up, result.error
    assert result.profile == profile
    # The only readings allowed to fail are values the device holds outside their range.
    for problem in result.incomplete:
        oid, _, rest = problem.partition(": ")
        value = reference.get(oid)
        assert isinstance(value, int) and rest.startswith(f"{value} is outside"), problem
        low = int(rest.removeprefix(f"{value} is outside ").split("..")[0])
        assert value < low, problem
    nulls, wrong, compared = compare(result, reference, profile)
    assert nulls == [], f"{device}: the device holds these, the probe reported null: {nulls}"
    assert wrong == [], f"{device}: {wrong}"
    return compared


def test_the_corpus_is_what_this_file_lists() -> None:
    recorded = [p.stem for d in CORPUS_DIRS for p in d.glob("*.snmprec")]
    assert sorted(recorded) == sorted(CORPUS)


def test_corpus_recordings_are_in_oid_order_without_repeats() -> None:
    # snmpsim answers GETNEXT from its index in file order.
    for directory in CORPUS_DIRS:
        for path in directory.glob("*.snmprec"):
            oids = [line.split("|", 1)[0] for line in path.read_text().splitlines()]
            assert oids == sorted(set(oids), key=oid_key), path.name


def test_the_corpus_holds_thirty_devices_and_every_class() -> None:
    assert len(CORPUS) >= 30
    assert {kind for kind, _profile in CORPUS.values()} == {
        "ups", "printer", "switch", "router", "host"}


def test_snmpv3_covers_every_class() -> None:
    assert {CORPUS[device][0] for device in V3_DEVICES} == {
        "ups", "printer", "switch", "router", "host"}


@module_loop
@pytest.mark.servers
@pytest.mark.parametrize("device", sorted(CORPUS))
async def test_every_field_of_a_real_device_equals_netsnmps_reading(
    snmpsim_corpus: SnmpAgent, netsnmp_tools: Any, device: str
) -> None:
    assert await read_and_compare(snmpsim_corpus, netsnmp_tools, device, "v2c") > 0


@module_loop
@pytest.mark.servers
@pytest.mark.parametrize("device", V3_DEVICES)
async def test_the_same_over_snmpv3_authpriv(
    snmpsim_corpus: SnmpAgent, netsnmp_tools: Any, device: str
) -> None:
    assert await read_and_compare(snmpsim_corpus, netsnmp_tools, device, "sha-aes") > 0
