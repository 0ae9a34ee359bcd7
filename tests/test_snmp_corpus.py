"""Recordings of real equipment, read by the probe and by net-snmp, compared field by field.

The corpus (tests/lab/snmprec/librenms, from LibreNMS's tests/snmpsim) is served by one
snmpsim; net-snmp's snmpwalk of the same recording is the truth. What each field should
be is written here from the MIBs, not from the probe's tables. A field the device holds
that the probe reports as null fails the test, listed by name.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import pytest

from probes import snmp
from probes import snmp_profiles as P
from probes.base import deadline_in
from probes.snmp import SnmpResult, Value, text
from tests.lab.fixtures_snmp import CORPUS_DIR, SnmpAgent
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
    probe_config,
)

module_loop = pytest.mark.asyncio(loop_scope="module")

# Each recording, with the class of equipment it is and the profile "auto" must pick.
CORPUS = {
    "abbups_abbups": "ups",  # ABB PowerScale, UPS-MIB behind net-snmp's sysObjectID
    "cyberpower": "ups",  # CyberPower OL2200RTXL2U, CPS-MIB
    "deltaups": "ups",  # Minuteman E1500RTXL2U on a Delta card, UPS-MIB
    "eaton-mgeups": "ups",  # MGE Galaxy 7000, MG-SNMP-UPS-MIB
    "eatonups": "ups",  # Eaton/Powerware on a ConnectUPS card, XUPS-MIB
    "brother": "printer",  # Brother MFC-L2710DW: hrPrinterTable, no Printer-MIB general
    "epson": "printer",  # Epson WF-C5790BA (ink)
    "sharp": "printer",  # Sharp MX-3570N (toner, drums, developers, waste)
    "xerox": "printer",  # Xerox AltaLink C8045: only the supplies table
    "routeros": "switch",  # MikroTik RB952Ui: bridges, and does not say it forwards
    "edgeswitch": "switch",  # Ubiquiti EdgeSwitch 24: system group only
}
# One recording per class, probed over SNMPv3 authPriv as well.
V3_DEVICES = ("cyberpower", "sharp", "routeros")

MIB_2 = "1.3.6.1.2.1"
REFERENCE = (
    SYSTEM, IF_TABLE, IF_X_TABLE, "1.3.6.1.2.1.25", "1.3.6.1.2.1.33", "1.3.6.1.2.1.43",
    "1.3.6.1.4.1.318.1.1.1", "1.3.6.1.4.1.534.1", "1.3.6.1.4.1.705.1",
    "1.3.6.1.4.1.3808.1.1.1", "1.3.6.1.4.1.2254.2.4",
)


# --- what each UPS MIB says, read from the MIB texts ---

def _scalar(ref: Mapping[str, Value], oid: str) -> int | None:
    value = ref.get(oid)
    return value if isinstance(value, int) else None


def _line_1(ref: Mapping[str, Value], oid: str) -> int | None:
    value = first_row(ref, oid)
    return value if isinstance(value, int) else None


def _times(value: int | None, factor: float) -> float | None:
    return None if value is None else value * factor


def _over(value: int | None, divisor: int) -> float | None:
    return None if value is None else value / divisor


def _ratio(value: int | None) -> float | None:
    return None if value is None else min(1.0, value / 100)


UpsReading = Callable[[Mapping[str, Value]], dict[str, Any]]

# name: (where the output source is, the value that means "on battery", the rest)
UPS_EXPECTATIONS: dict[str, tuple[str, int, UpsReading]] = {
    # RFC 1628: upsOutputSource battery(5); minutes; RMS volts per line.
    "ups-mib": ("1.3.6.1.2.1.33.1.4.1.0", 5, lambda r: {
        "battery_charge_ratio": _ratio(_scalar(r, "1.3.6.1.2.1.33.1.2.4.0")),
        "runtime_seconds": _times(_scalar(r, "1.3.6.1.2.1.33.1.2.3.0"), 60),
        "input_voltage": _line_1(r, "1.3.6.1.2.1.33.1.3.3.1.3"),
        "output_voltage": _line_1(r, "1.3.6.1.2.1.33.1.4.4.1.2"),
    }),
    # PowerNet: upsBasicOutputStatus onBattery(3); TimeTicks; volts.
    "apc-powernet": ("1.3.6.1.4.1.318.1.1.1.4.1.1.0", 3, lambda r: {
        "battery_charge_ratio": _ratio(_scalar(r, "1.3.6.1.4.1.318.1.1.1.2.2.1.0")),
        "runtime_seconds": _over(_scalar(r, "1.3.6.1.4.1.318.1.1.1.2.2.3.0"), 100),
        "input_voltage": _scalar(r, "1.3.6.1.4.1.318.1.1.1.3.2.1.0"),
        "output_voltage": _scalar(r, "1.3.6.1.4.1.318.1.1.1.4.2.1.0"),
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
}
# Vendor cards that also speak RFC 1628 are read through it; the first MIB that says
# whether the UPS is on battery wins, then the first that holds anything.
UPS_ORDER = ("ups-mib", "apc-powernet", "eaton-xups", "mge", "cyberpower", "delta")


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
    profile = CORPUS[device]
    reference = netsnmp_for(agent, auth, tools, device).walk(REFERENCE)
    result = await snmp.probe(
        agent.target, probe_config(agent, auth, device, timeout_seconds=5), deadline_in(10))
    assert result.up, result.error
    assert result.profile == profile
    assert result.incomplete == []
    nulls, wrong, compared = compare(result, reference, profile)
    assert nulls == [], f"{device}: the device holds these, the probe reported null: {nulls}"
    assert wrong == [], f"{device}: {wrong}"
    return compared


def test_the_corpus_is_what_this_file_lists() -> None:
    assert sorted(p.stem for p in CORPUS_DIR.glob("*.snmprec")) == sorted(CORPUS)


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
