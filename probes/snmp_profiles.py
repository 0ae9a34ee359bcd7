"""SNMP profiles as numeric-OID tables: what to read from a host, switch, router, UPS or printer.

Like snmp_exporter's generated file, nothing here needs a MIB at run time: every
object is named by its numeric OID, with the MIB name in a comment for readers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

ProfileName = Literal["host", "switch", "router", "ups", "printer"]
PROFILES: tuple[ProfileName, ...] = ("host", "switch", "router", "ups", "printer")

# SNMPv2-MIB system group (scalars)
SYS_DESCR = "1.3.6.1.2.1.1.1.0"
SYS_OBJECT_ID = "1.3.6.1.2.1.1.2.0"
SYS_UPTIME = "1.3.6.1.2.1.1.3.0"  # TimeTicks of the agent, hundredths of a second
SYS_NAME = "1.3.6.1.2.1.1.5.0"
SYSTEM_SCALARS = (SYS_DESCR, SYS_OBJECT_ID, SYS_UPTIME, SYS_NAME)

# IP-MIB
IP_FORWARDING = "1.3.6.1.2.1.4.1.0"  # forwarding(1), notForwarding(2)

# IF-MIB ifTable columns
IF_DESCR = "1.3.6.1.2.1.2.2.1.2"
IF_SPEED = "1.3.6.1.2.1.2.2.1.5"  # bits/s, saturates at 4294967295
IF_ADMIN_STATUS = "1.3.6.1.2.1.2.2.1.7"  # up(1), down(2), testing(3)
IF_OPER_STATUS = "1.3.6.1.2.1.2.2.1.8"  # up(1), down(2), ... lowerLayerDown(7)
IF_IN_OCTETS = "1.3.6.1.2.1.2.2.1.10"  # Counter32, read only when ifHCInOctets is absent
IF_IN_ERRORS = "1.3.6.1.2.1.2.2.1.14"
IF_OUT_OCTETS = "1.3.6.1.2.1.2.2.1.16"
IF_OUT_ERRORS = "1.3.6.1.2.1.2.2.1.20"
# IF-MIB ifXTable columns
IF_NAME = "1.3.6.1.2.1.31.1.1.1.1"
IF_HC_IN_OCTETS = "1.3.6.1.2.1.31.1.1.1.6"  # Counter64
IF_HC_OUT_OCTETS = "1.3.6.1.2.1.31.1.1.1.10"
IF_HIGH_SPEED = "1.3.6.1.2.1.31.1.1.1.15"  # Mbit/s
IF_ALIAS = "1.3.6.1.2.1.31.1.1.1.18"
INTERFACE_COLUMNS = (
    IF_DESCR, IF_SPEED, IF_ADMIN_STATUS, IF_OPER_STATUS, IF_IN_ERRORS, IF_OUT_ERRORS,
    IF_NAME, IF_HC_IN_OCTETS, IF_HC_OUT_OCTETS, IF_HIGH_SPEED, IF_ALIAS,
)
# Walked only for the interfaces that have no 64-bit counters (old or SNMPv1-era agents).
INTERFACE_FALLBACK_COLUMNS = (IF_IN_OCTETS, IF_OUT_OCTETS)

# HOST-RESOURCES-MIB
HR_SYSTEM_UPTIME = "1.3.6.1.2.1.25.1.1.0"  # the host's uptime, not the agent's
HR_STORAGE_TABLE = "1.3.6.1.2.1.25.2.3"
HR_STORAGE_TYPE = "1.3.6.1.2.1.25.2.3.1.2"
HR_STORAGE_DESCR = "1.3.6.1.2.1.25.2.3.1.3"
HR_STORAGE_ALLOCATION_UNITS = "1.3.6.1.2.1.25.2.3.1.4"
HR_STORAGE_SIZE = "1.3.6.1.2.1.25.2.3.1.5"
HR_STORAGE_USED = "1.3.6.1.2.1.25.2.3.1.6"
STORAGE_COLUMNS = (
    HR_STORAGE_TYPE, HR_STORAGE_DESCR, HR_STORAGE_ALLOCATION_UNITS, HR_STORAGE_SIZE,
    HR_STORAGE_USED,
)
HR_STORAGE_TYPES = {  # hrStorageTypes
    "1.3.6.1.2.1.25.2.1.1": "other",
    "1.3.6.1.2.1.25.2.1.2": "ram",
    "1.3.6.1.2.1.25.2.1.3": "virtual_memory",
    "1.3.6.1.2.1.25.2.1.4": "fixed_disk",
    "1.3.6.1.2.1.25.2.1.5": "removable_disk",
    "1.3.6.1.2.1.25.2.1.6": "floppy_disk",
    "1.3.6.1.2.1.25.2.1.7": "compact_disc",
    "1.3.6.1.2.1.25.2.1.8": "ram_disk",
    "1.3.6.1.2.1.25.2.1.9": "flash_memory",
    "1.3.6.1.2.1.25.2.1.10": "network_disk",
}
# net-snmp lists the kernel's buffers and page cache as "other" storage and counts
# them as used RAM; these are its exact descriptions (memory_linux.c).
NET_SNMP_RECLAIMABLE_MEMORY = frozenset({"Memory buffers", "Cached memory"})
HR_PROCESSOR_LOAD = "1.3.6.1.2.1.25.3.3.1.2"  # percent, average over the last minute
HR_DEVICE_TYPE = "1.3.6.1.2.1.25.3.2.1.2"
HR_DEVICE_DESCR = "1.3.6.1.2.1.25.3.2.1.3"
HR_DEVICE_STATUS = "1.3.6.1.2.1.25.3.2.1.5"
HR_DEVICE_PRINTER = "1.3.6.1.2.1.25.3.1.5"  # the hrDeviceType of a printer
HR_DEVICE_STATUSES = {1: "unknown", 2: "running", 3: "warning", 4: "testing", 5: "down"}
HR_PRINTER_STATUS = "1.3.6.1.2.1.25.3.5.1.1"
HR_PRINTER_STATUSES = {1: "other", 2: "unknown", 3: "idle", 4: "printing", 5: "warmup"}
HR_PRINTER_DETECTED_ERROR_STATE = "1.3.6.1.2.1.25.3.5.1.2"
# BITS, most significant bit of the first octet first (RFC 2790 and RFC 3805).
HR_PRINTER_ERRORS = (
    "low_paper", "no_paper", "low_toner", "no_toner", "door_open", "jammed", "offline",
    "service_requested", "input_tray_missing", "output_tray_missing",
    "marker_supply_missing", "output_near_full", "output_full", "input_tray_empty",
    "overdue_prevent_maint",
)

# Printer-MIB (RFC 3805)
PRT_MARKER_LIFE_COUNT = "1.3.6.1.2.1.43.10.2.1.4"  # pages (or other units) printed
PRT_MARKER_SUPPLIES_DESCR = "1.3.6.1.2.1.43.11.1.1.6"
PRT_MARKER_SUPPLIES_MAX_CAPACITY = "1.3.6.1.2.1.43.11.1.1.8"
PRT_MARKER_SUPPLIES_LEVEL = "1.3.6.1.2.1.43.11.1.1.9"  # -1 other, -2 unknown, -3 some left
PRT_MARKER_SUPPLIES_TYPE = "1.3.6.1.2.1.43.11.1.1.5"  # PrtMarkerSuppliesTypeTC
PRINTER_COLUMNS = (
    HR_DEVICE_TYPE, HR_DEVICE_DESCR, HR_DEVICE_STATUS, HR_PRINTER_STATUS,
    HR_PRINTER_DETECTED_ERROR_STATE, PRT_MARKER_LIFE_COUNT, PRT_MARKER_SUPPLIES_TYPE,
    PRT_MARKER_SUPPLIES_DESCR, PRT_MARKER_SUPPLIES_MAX_CAPACITY, PRT_MARKER_SUPPLIES_LEVEL,
)
# PrtMarkerSuppliesTypeTC (RFC 3805), in the words of the ward page: what runs out.
# For a receptacle (waste toner, waste ink) the MIB's level is the space left in it.
PRT_SUPPLY_KINDS = {
    1: "other", 2: "unknown", 3: "toner", 4: "waste_toner", 5: "ink", 6: "ink",
    7: "ink_ribbon", 8: "waste_ink", 9: "drum", 10: "developer", 11: "fuser_oil",
    12: "wax", 13: "wax", 14: "waste_wax", 15: "fuser", 16: "corona_wire",
    17: "fuser_oil_wick", 18: "cleaner_unit", 19: "fuser_cleaning_pad", 20: "transfer_unit",
    21: "toner", 22: "fuser_oiler", 23: "water", 24: "waste_water", 25: "glue",
    26: "waste_paper", 27: "binding", 28: "banding", 29: "stitching_wire", 30: "shrink_wrap",
    31: "paper_wrap", 32: "staples", 33: "inserts", 34: "covers",
}
# Either marks a printer: the Printer-MIB (some printers hold only its supplies table)
# or HOST-RESOURCES' printer table (printers that lack the Printer-MIB general group).
PRT_MIB = "1.3.6.1.2.1.43"
HR_PRINTER_TABLE = "1.3.6.1.2.1.25.3.5"

# UPS readings, one table per MIB. Each unit is the MIB's own; ``scale`` turns it into
# the result's (volts, seconds, percent). Where a MIB leaves a unit unstated, the
# comment says so and what NUT's driver for it assumes.


@dataclass(frozen=True)
class UpsValue:
    """A scalar OID, or (``column``) the first row of a column: line 1 of a multi-phase
    UPS stands for them all. ``high`` is the largest value the MIB's type allows.
    ``fallback`` is read when the device does not hold ``oid`` at all (APC cards that
    have only the whole-number objects, or only the high-precision ones)."""

    oid: str
    scale: float = 1.0
    column: bool = False
    high: int = 2**31 - 1
    low: int = 0
    fallback: UpsValue | None = None

    def chain(self) -> tuple[UpsValue, ...]:
        """This value and its fallbacks, in the order they are tried."""
        return (self, *(self.fallback.chain() if self.fallback else ()))


@dataclass(frozen=True)
class UpsMib:
    """Where one MIB keeps a UPS's state, and what its enumerations mean."""

    name: str
    subtree: str  # answering anything under it means the device implements the MIB
    output_source: UpsValue
    output_sources: dict[int, str]
    on_battery: frozenset[int]
    battery_status: UpsValue | None = None
    battery_statuses: dict[int, str] = field(default_factory=dict)
    charge_percent: UpsValue | None = None
    runtime_seconds: UpsValue | None = None
    input_voltage: UpsValue | None = None
    output_voltage: UpsValue | None = None
    self_test: UpsValue | None = None
    self_tests: dict[int, str] = field(default_factory=dict)

    def values(self) -> tuple[UpsValue, ...]:
        """Every object to fetch, fallbacks included."""
        return tuple(chained for v in (
            self.output_source, self.battery_status, self.charge_percent,
            self.runtime_seconds, self.input_voltage, self.output_voltage, self.self_test,
        ) if v is not None for chained in v.chain())


MAX_UNSIGNED32 = 2**32 - 1

# UPS-MIB (RFC 1628)
UPS_MIB = "1.3.6.1.2.1.33"
UPS_IDENT = "1.3.6.1.2.1.33.1.1"
UPS_BATTERY_STATUS = "1.3.6.1.2.1.33.1.2.1.0"
UPS_ESTIMATED_MINUTES_REMAINING = "1.3.6.1.2.1.33.1.2.3.0"
UPS_ESTIMATED_CHARGE_REMAINING = "1.3.6.1.2.1.33.1.2.4.0"  # percent
UPS_OUTPUT_SOURCE = "1.3.6.1.2.1.33.1.4.1.0"
UPS_INPUT_VOLTAGE = "1.3.6.1.2.1.33.1.3.3.1.3"  # column, one row per input line, RMS volts
UPS_OUTPUT_VOLTAGE = "1.3.6.1.2.1.33.1.4.4.1.2"  # column, one row per output line
UPS_TEST_RESULTS_SUMMARY = "1.3.6.1.2.1.33.1.7.3.0"
UPS_OUTPUT_SOURCES = {
    1: "other", 2: "none", 3: "normal", 4: "bypass", 5: "battery", 6: "booster", 7: "reducer",
}
UPS_OUTPUT_SOURCE_BATTERY = 5
UPS_BATTERY_STATUSES = {1: "unknown", 2: "normal", 3: "low", 4: "depleted"}
RFC1628 = UpsMib(
    name="ups-mib", subtree="1.3.6.1.2.1.33.1",
    output_source=UpsValue(UPS_OUTPUT_SOURCE), output_sources=UPS_OUTPUT_SOURCES,
    on_battery=frozenset({UPS_OUTPUT_SOURCE_BATTERY}),
    battery_status=UpsValue(UPS_BATTERY_STATUS), battery_statuses=UPS_BATTERY_STATUSES,
    charge_percent=UpsValue(UPS_ESTIMATED_CHARGE_REMAINING),
    # Minutes, a PositiveInteger (1..): the 0 that cards send when they cannot estimate
    # (a lightly loaded Phoenixtec or EAST UPS on mains) is no runtime, not an empty battery.
    runtime_seconds=UpsValue(UPS_ESTIMATED_MINUTES_REMAINING, scale=60.0, low=1),
    input_voltage=UpsValue(UPS_INPUT_VOLTAGE, column=True),
    output_voltage=UpsValue(UPS_OUTPUT_VOLTAGE, column=True),
    self_test=UpsValue(UPS_TEST_RESULTS_SUMMARY),
    self_tests={1: "passed", 2: "warning", 3: "error", 4: "aborted", 5: "in_progress",
                6: "never_run"},
)

# APC PowerNet-MIB (enterprise 318), for APC cards with RFC 1628 support switched off
APC_UPS = "1.3.6.1.4.1.318.1.1.1"
APC_BASIC_BATTERY_STATUS = "1.3.6.1.4.1.318.1.1.1.2.1.1.0"
APC_ADV_BATTERY_CAPACITY = "1.3.6.1.4.1.318.1.1.1.2.2.1.0"  # percent
APC_ADV_BATTERY_RUNTIME_REMAINING = "1.3.6.1.4.1.318.1.1.1.2.2.3.0"  # TimeTicks
APC_ADV_INPUT_LINE_VOLTAGE = "1.3.6.1.4.1.318.1.1.1.3.2.1.0"  # VAC
APC_BASIC_OUTPUT_STATUS = "1.3.6.1.4.1.318.1.1.1.4.1.1.0"
APC_ADV_OUTPUT_VOLTAGE = "1.3.6.1.4.1.318.1.1.1.4.2.1.0"  # VAC
# The upsHighPrec* objects (PowerNet-MIB, Gauge32): "tenths of percent" of full capacity
# and "tenths of VAC". A Smart-UPS RT on an AP9619 card holds only these, not the
# whole-number upsAdv* objects above.
APC_HIGH_PREC_BATTERY_CAPACITY = "1.3.6.1.4.1.318.1.1.1.2.3.1.0"
APC_HIGH_PREC_INPUT_LINE_VOLTAGE = "1.3.6.1.4.1.318.1.1.1.3.3.1.0"
APC_HIGH_PREC_OUTPUT_VOLTAGE = "1.3.6.1.4.1.318.1.1.1.4.3.1.0"
# upsBasicOutputStatus, named like UPS-MIB's upsOutputSource where they mean the same
APC_OUTPUT_STATUSES = {
    1: "unknown", 2: "normal", 3: "battery", 4: "booster", 5: "timed_sleeping",
    6: "software_bypass", 7: "off", 8: "rebooting", 9: "bypass", 10: "hardware_failure_bypass",
    11: "sleeping_until_power_return", 12: "reducer", 13: "eco_mode",
}
APC_OUTPUT_ON_BATTERY = 3
APC = UpsMib(
    name="apc-powernet", subtree=APC_UPS,
    output_source=UpsValue(APC_BASIC_OUTPUT_STATUS), output_sources=APC_OUTPUT_STATUSES,
    on_battery=frozenset({APC_OUTPUT_ON_BATTERY}),
    battery_status=UpsValue(APC_BASIC_BATTERY_STATUS),
    battery_statuses={1: "unknown", 2: "normal", 3: "low", 4: "fault"},
    # The high-precision objects where the card has them, else the whole-number ones.
    charge_percent=UpsValue(
        APC_HIGH_PREC_BATTERY_CAPACITY, scale=0.1, high=MAX_UNSIGNED32,
        fallback=UpsValue(APC_ADV_BATTERY_CAPACITY, high=MAX_UNSIGNED32)),  # Gauge32
    runtime_seconds=UpsValue(APC_ADV_BATTERY_RUNTIME_REMAINING, scale=0.01,
                             high=MAX_UNSIGNED32),  # TimeTicks
    input_voltage=UpsValue(
        APC_HIGH_PREC_INPUT_LINE_VOLTAGE, scale=0.1, high=MAX_UNSIGNED32,
        fallback=UpsValue(APC_ADV_INPUT_LINE_VOLTAGE, high=MAX_UNSIGNED32)),
    output_voltage=UpsValue(
        APC_HIGH_PREC_OUTPUT_VOLTAGE, scale=0.1, high=MAX_UNSIGNED32,
        fallback=UpsValue(APC_ADV_OUTPUT_VOLTAGE, high=MAX_UNSIGNED32)),
    # upsAdvTestDiagnosticsResults
    self_test=UpsValue("1.3.6.1.4.1.318.1.1.1.7.2.3.0"),
    self_tests={1: "passed", 2: "failed", 3: "invalid_test", 4: "in_progress"},
)

# Eaton XUPS-MIB (enterprise 534: Powerware and Eaton ConnectUPS / Network-M2 cards)
XUPS_OUTPUT_SOURCE = "1.3.6.1.4.1.534.1.4.5.0"
XUPS = UpsMib(
    name="eaton-xups", subtree="1.3.6.1.4.1.534.1",
    output_source=UpsValue(XUPS_OUTPUT_SOURCE),
    output_sources={
        1: "other", 2: "none", 3: "normal", 4: "bypass", 5: "battery", 6: "booster",
        7: "reducer", 8: "parallel_capacity", 9: "parallel_redundant",
        10: "high_efficiency_mode", 11: "maintenance_bypass", 12: "ess_mode",
    },
    on_battery=frozenset({5}),
    # xupsBatteryAbmStatus: what the Advanced Battery Management charger is doing
    battery_status=UpsValue("1.3.6.1.4.1.534.1.2.5.0"),
    battery_statuses={1: "charging", 2: "discharging", 3: "floating", 4: "resting",
                      5: "unknown", 6: "disconnected", 7: "under_test", 8: "check_battery"},
    charge_percent=UpsValue("1.3.6.1.4.1.534.1.2.4.0"),  # xupsBatCapacity, percent
    runtime_seconds=UpsValue("1.3.6.1.4.1.534.1.2.1.0"),  # xupsBatTimeRemaining, seconds
    input_voltage=UpsValue("1.3.6.1.4.1.534.1.3.4.1.2", column=True),  # RMS volts
    output_voltage=UpsValue("1.3.6.1.4.1.534.1.4.4.1.2", column=True),  # RMS volts
    self_test=UpsValue("1.3.6.1.4.1.534.1.8.2.0"),  # xupsTestBatteryStatus
    self_tests={1: "unknown", 2: "passed", 3: "failed", 4: "in_progress", 5: "not_supported",
                6: "inhibited", 7: "scheduled"},
)

# MGE / Eaton MG-SNMP-UPS-MIB (enterprise 705: MGE and Eaton Network-MS cards). It has no
# output source, only yes(1)/no(2) flags, and no self-test result this probe could read.
MGE_OUTPUT_ON_BATTERY = "1.3.6.1.4.1.705.1.7.3.0"
MGE = UpsMib(
    name="mge", subtree="1.3.6.1.4.1.705.1",
    output_source=UpsValue(MGE_OUTPUT_ON_BATTERY),  # upsmgOutputOnBattery
    output_sources={1: "battery", 2: "not_on_battery"}, on_battery=frozenset({1}),
    battery_status=UpsValue("1.3.6.1.4.1.705.1.5.14.0"),  # upsmgBatteryLowBattery
    battery_statuses={1: "low", 2: "normal"},
    charge_percent=UpsValue("1.3.6.1.4.1.705.1.5.2.0"),  # upsmgBatteryLevel, percent
    runtime_seconds=UpsValue("1.3.6.1.4.1.705.1.5.1.0"),  # upsmgBatteryRemainingTime, s
    # mginputVoltage / mgoutputVoltage: the MIB's DESCRIPTION gives no unit; NUT's
    # mge-mib.c and LibreNMS read them as tenths of a volt (dV), as devices send them.
    input_voltage=UpsValue("1.3.6.1.4.1.705.1.6.2.1.2", scale=0.1, column=True),
    output_voltage=UpsValue("1.3.6.1.4.1.705.1.7.2.1.2", scale=0.1, column=True),
)

# CyberPower CPS-MIB (enterprise 3808)
CPS_OUTPUT_STATUS = "1.3.6.1.4.1.3808.1.1.1.4.1.1.0"
CPS = UpsMib(
    name="cyberpower", subtree="1.3.6.1.4.1.3808.1.1.1",
    output_source=UpsValue(CPS_OUTPUT_STATUS),  # upsBaseOutputStatus
    output_sources={1: "unknown", 2: "normal", 3: "battery", 4: "booster", 5: "sleeping",
                    6: "off", 7: "rebooting", 8: "reducer", 9: "bypass"},
    on_battery=frozenset({3}),
    battery_status=UpsValue("1.3.6.1.4.1.3808.1.1.1.2.1.1.0"),  # upsBaseBatteryStatus
    battery_statuses={1: "unknown", 2: "normal", 3: "low", 4: "not_present"},
    # upsAdvanceBatteryCapacity, percent (Gauge32)
    charge_percent=UpsValue("1.3.6.1.4.1.3808.1.1.1.2.2.1.0", high=MAX_UNSIGNED32),
    # upsAdvanceBatteryRunTimeRemaining, TimeTicks
    runtime_seconds=UpsValue("1.3.6.1.4.1.3808.1.1.1.2.2.4.0", scale=0.01,
                             high=MAX_UNSIGNED32),
    # upsAdvanceInputLineVoltage / upsAdvanceOutputVoltage (Gauge32): tenths of a volt,
    # as NUT's cyberpower-mib.c reads them.
    input_voltage=UpsValue("1.3.6.1.4.1.3808.1.1.1.3.2.1.0", scale=0.1, high=MAX_UNSIGNED32),
    output_voltage=UpsValue("1.3.6.1.4.1.3808.1.1.1.4.2.1.0", scale=0.1,
                            high=MAX_UNSIGNED32),
    self_test=UpsValue("1.3.6.1.4.1.3808.1.1.1.7.2.3.0"),  # upsAdvanceTestDiagnosticsResults
    self_tests={1: "passed", 2: "failed", 3: "invalid_test", 4: "in_progress"},
)

# Delta DeltaUPS-MIB (enterprise 2254: Delta cards, also in Socomec and Minuteman UPSes)
DELTA_OUTPUT_SOURCE = "1.3.6.1.4.1.2254.2.4.5.1.0"
DELTA = UpsMib(
    name="delta", subtree="1.3.6.1.4.1.2254.2.4",
    output_source=UpsValue(DELTA_OUTPUT_SOURCE),  # dupsOutputSource
    output_sources={0: "normal", 1: "battery", 2: "bypass", 3: "reducer", 4: "booster",
                    5: "maintenance_bypass", 6: "other", 7: "none"},
    on_battery=frozenset({1}),
    battery_status=UpsValue("1.3.6.1.4.1.2254.2.4.7.2.0"),  # dupsBatteryStatus
    battery_statuses={0: "normal", 1: "low", 2: "depleted"},
    charge_percent=UpsValue("1.3.6.1.4.1.2254.2.4.7.8.0"),  # dupsBatteryCapacity, percent
    # dupsBatteryEstimatedTime, minutes
    runtime_seconds=UpsValue("1.3.6.1.4.1.2254.2.4.7.5.0", scale=60.0),
    # dupsInputVoltage1 / dupsOutputVoltage1, tenths of a volt
    input_voltage=UpsValue("1.3.6.1.4.1.2254.2.4.4.3.0", scale=0.1),
    output_voltage=UpsValue("1.3.6.1.4.1.2254.2.4.5.4.0", scale=0.1),
    # dupsTestResultsSummary: noTestsInitiated(0), donePass(1), inProgress(2),
    # generalTestFail(3), batteryTestFail(4), deepBatteryTestFail(5); not UPS-MIB's order.
    self_test=UpsValue("1.3.6.1.4.1.2254.2.4.8.2.0"),
    self_tests={0: "never_run", 1: "passed", 2: "in_progress", 3: "failed",
                4: "battery_failed", 5: "deep_battery_failed"},
)

# Megatec/Phoenixtec XPPC-MIB (enterprise 935, NetAgent II cards): the card in many
# inexpensive on-line UPSes sold in Asia. Units as NUT's xppc-mib.c reads them: volts in
# tenths; the MIB text gives none. upsSmartBatteryRunTimeRemaining is in seconds
# (check_ups_health divides it by 60 for minutes; NUT does not read it).
XPPC_OUTPUT_STATUS = "1.3.6.1.4.1.935.1.1.1.4.1.1.0"
XPPC = UpsMib(
    name="xppc", subtree="1.3.6.1.4.1.935.1.1.1",
    output_source=UpsValue(XPPC_OUTPUT_STATUS),  # upsBaseOutputStatus
    output_sources={1: "unknown", 2: "normal", 3: "battery", 4: "booster", 5: "sleeping",
                    6: "bypass", 7: "rebooting", 8: "standby", 9: "reducer"},
    on_battery=frozenset({3}),
    battery_status=UpsValue("1.3.6.1.4.1.935.1.1.1.2.1.1.0"),  # upsBaseBatteryStatus
    battery_statuses={1: "unknown", 2: "normal", 3: "low"},
    charge_percent=UpsValue("1.3.6.1.4.1.935.1.1.1.2.2.1.0"),  # upsSmartBatteryCapacity
    runtime_seconds=UpsValue("1.3.6.1.4.1.935.1.1.1.2.2.4.0"),
    # upsSmartInputLineVoltage / upsSmartOutputVoltage
    input_voltage=UpsValue("1.3.6.1.4.1.935.1.1.1.3.2.1.0", scale=0.1),
    output_voltage=UpsValue("1.3.6.1.4.1.935.1.1.1.4.2.1.0", scale=0.1),
)

# EPPC-MIB (enterprise 935.10: the newer "Network Management Card for UPS" of PowerWalker,
# Voltronic and their rebrands). Charge in percent and runtime in minutes, as the objects'
# names say; the input and output tables (one row per phase) give no unit, and LibreNMS
# divides them by 10 (tenths of a volt, as the recorded 2382 for a 238 V line shows).
EPPC_SYSTEM_STATUS = "1.3.6.1.4.1.935.10.1.1.2.1.0"
EPPC = UpsMib(
    name="eppc", subtree="1.3.6.1.4.1.935.10.1.1",
    output_source=UpsValue(EPPC_SYSTEM_STATUS),  # upsESystemStatus
    output_sources={1: "power_on", 2: "standby", 3: "bypass", 4: "normal", 5: "battery",
                    6: "battery_test", 7: "fault", 8: "converter", 9: "eco", 10: "shutdown",
                    11: "booster", 12: "reducer", 13: "other"},
    # battery-test(6) runs from the battery with the mains still there (LibreNMS: not
    # on battery either).
    on_battery=frozenset({5}),
    battery_status=UpsValue("1.3.6.1.4.1.935.10.1.1.3.1.0"),  # upsEBatteryStatus
    battery_statuses={1: "unknown", 2: "normal", 3: "low", 4: "depleted", 5: "discharging",
                      6: "failure"},
    # upsEBatteryEstimatedChargeRemaining, upsEBatteryEstimatedMinutesRemaining
    charge_percent=UpsValue("1.3.6.1.4.1.935.10.1.1.3.4.0"),
    runtime_seconds=UpsValue("1.3.6.1.4.1.935.10.1.1.3.3.0", scale=60.0),
    # upsESystemInputVoltage / upsESystemOutputVoltage
    input_voltage=UpsValue("1.3.6.1.4.1.935.10.1.1.2.16.1.3", scale=0.1, column=True),
    output_voltage=UpsValue("1.3.6.1.4.1.935.10.1.1.2.18.1.3", scale=0.1, column=True),
)

# Read in this order; the first MIB whose output source (or, without one, charge) the
# device answers is the reading. RFC 1628 first: Riello NetMan, ABB, Huawei and most
# other cards speak it and nothing else, and vendor cards that speak both keep the
# standard one accurate. A MIB with only some values answered is still read.
UPS_MIBS = (RFC1628, APC, XUPS, MGE, CPS, DELTA, XPPC, EPPC)
UPS_SCALARS = tuple(v.oid for mib in UPS_MIBS for v in mib.values() if not v.column)
UPS_COLUMNS = tuple(v.oid for mib in UPS_MIBS for v in mib.values() if v.column)

# Cisco CPU and memory (CISCO-PROCESS-MIB, CISCO-MEMORY-POOL-MIB): switches and routers
# that do not implement HOST-RESOURCES-MIB.
CISCO_CPU_TOTAL_1MIN = "1.3.6.1.4.1.9.9.109.1.1.1.1.7"  # percent
CISCO_MEMORY_POOL_NAME = "1.3.6.1.4.1.9.9.48.1.1.1.2"
CISCO_MEMORY_POOL_USED = "1.3.6.1.4.1.9.9.48.1.1.1.5"  # bytes
CISCO_MEMORY_POOL_FREE = "1.3.6.1.4.1.9.9.48.1.1.1.6"
CISCO_MEMORY_COLUMNS = (CISCO_MEMORY_POOL_NAME, CISCO_MEMORY_POOL_USED, CISCO_MEMORY_POOL_FREE)

# BRIDGE-MIB: a bridge (switch) answers dot1dBase
DOT1D_BASE = "1.3.6.1.2.1.17.1"


@dataclass(frozen=True)
class Profile:
    """What one profile reads: each group of scalars by one GET, columns by bulk walks."""

    name: ProfileName
    scalars: tuple[tuple[str, ...], ...] = ()
    columns: tuple[str, ...] = ()


NETWORK_DEVICE_COLUMNS = (
    *INTERFACE_COLUMNS, HR_PROCESSOR_LOAD, *STORAGE_COLUMNS, CISCO_CPU_TOTAL_1MIN,
    *CISCO_MEMORY_COLUMNS,
)

# Every profile reads the interface table: a UPS's network card and a printer's ports
# are interfaces too (which of them matters is the inventory's uplink_interface).
PROFILE_TABLE: dict[ProfileName, Profile] = {
    "host": Profile(
        "host", scalars=((HR_SYSTEM_UPTIME,),),
        columns=(HR_PROCESSOR_LOAD, *STORAGE_COLUMNS, *INTERFACE_COLUMNS),
    ),
    "switch": Profile("switch", columns=NETWORK_DEVICE_COLUMNS),
    "router": Profile("router", columns=NETWORK_DEVICE_COLUMNS),
    # One GET per UPS MIB: a card that knows one MIB answers the others' OIDs with
    # noSuchObject, and one short GET each keeps every answer far below any size limit.
    "ups": Profile(
        "ups",
        scalars=tuple(
            group for group in (
                tuple(v.oid for v in mib.values() if not v.column) for mib in UPS_MIBS
            ) if group
        ),
        columns=(*UPS_COLUMNS, *INTERFACE_COLUMNS),
    ),
    "printer": Profile("printer", columns=(*PRINTER_COLUMNS, *INTERFACE_COLUMNS)),
}

# Subtrees asked for with one GETNEXT when the profile is "auto": an answer inside
# the subtree means the device implements it (LibreNMS detects an OS the same way,
# by what the device answers, not by its enterprise number alone).
UPS_SUBTREES = tuple(mib.subtree for mib in UPS_MIBS)
DETECTION_SUBTREES = (
    *UPS_SUBTREES, PRT_MIB, HR_PRINTER_TABLE, DOT1D_BASE, HR_STORAGE_TABLE,
)
# sysObjectID prefixes that name a host operating system outright: net-snmp
# (Linux, BSD) and Microsoft Windows.
HOST_ENTERPRISES = ("1.3.6.1.4.1.8072.", "1.3.6.1.4.1.311.")


def choose_profile(
    sys_object_id: str | None, present: frozenset[str], ip_forwarding: int | None
) -> ProfileName:
    """The profile for a device, from its sysObjectID and which subtrees answered.

    Power and printing MIBs are decisive; then an operating system's own agent (whose
    host-resources printer table lists print queues, not a printer); then a device that
    bridges is a switch, even if it also forwards IP (layer-3 switches such as a Huawei
    S5720, and layer-2 ones such as a D-Link DES-3200 that say they forward anyway), and
    one that only forwards is a router; a device with storage tables is a host; anything
    else is read as a switch (interfaces).
    """
    if any(subtree in present for subtree in UPS_SUBTREES):
        return "ups"
    if PRT_MIB in present:
        return "printer"
    if sys_object_id and sys_object_id.startswith(HOST_ENTERPRISES):
        return "host"
    # After the operating systems: a Linux print server lists its queues here too.
    if HR_PRINTER_TABLE in present:
        return "printer"
    if DOT1D_BASE in present:
        return "switch"
    if ip_forwarding == 1:
        return "router"
    if HR_STORAGE_TABLE in present:
        return "host"
    return "switch"
