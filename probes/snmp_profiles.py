"""SNMP profiles as numeric-OID tables: what to read from a host, switch, router, UPS or printer.

Like snmp_exporter's generated file, nothing here needs a MIB at run time: every
object is named by its numeric OID, with the MIB name in a comment for readers.
"""

from __future__ import annotations

from dataclasses import dataclass
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
PRT_GENERAL = "1.3.6.1.2.1.43.5"  # its presence marks a printer
PRT_MARKER_LIFE_COUNT = "1.3.6.1.2.1.43.10.2.1.4"  # pages (or other units) printed
PRT_MARKER_SUPPLIES_DESCR = "1.3.6.1.2.1.43.11.1.1.6"
PRT_MARKER_SUPPLIES_MAX_CAPACITY = "1.3.6.1.2.1.43.11.1.1.8"
PRT_MARKER_SUPPLIES_LEVEL = "1.3.6.1.2.1.43.11.1.1.9"  # -1 other, -2 unknown, -3 some left
PRINTER_COLUMNS = (
    HR_DEVICE_TYPE, HR_DEVICE_DESCR, HR_DEVICE_STATUS, HR_PRINTER_STATUS,
    HR_PRINTER_DETECTED_ERROR_STATE, PRT_MARKER_LIFE_COUNT, PRT_MARKER_SUPPLIES_DESCR,
    PRT_MARKER_SUPPLIES_MAX_CAPACITY, PRT_MARKER_SUPPLIES_LEVEL,
)

# UPS-MIB (RFC 1628)
UPS_MIB = "1.3.6.1.2.1.33"
UPS_IDENT = "1.3.6.1.2.1.33.1.1"
UPS_BATTERY_STATUS = "1.3.6.1.2.1.33.1.2.1.0"
UPS_ESTIMATED_MINUTES_REMAINING = "1.3.6.1.2.1.33.1.2.3.0"
UPS_ESTIMATED_CHARGE_REMAINING = "1.3.6.1.2.1.33.1.2.4.0"  # percent
UPS_OUTPUT_SOURCE = "1.3.6.1.2.1.33.1.4.1.0"
UPS_INPUT_VOLTAGE = "1.3.6.1.2.1.33.1.3.3.1.3"  # column, one row per input line, RMS volts
UPS_OUTPUT_VOLTAGE = "1.3.6.1.2.1.33.1.4.4.1.2"  # column, one row per output line
UPS_SCALARS = (
    UPS_BATTERY_STATUS, UPS_ESTIMATED_MINUTES_REMAINING, UPS_ESTIMATED_CHARGE_REMAINING,
    UPS_OUTPUT_SOURCE,
)
UPS_COLUMNS = (UPS_INPUT_VOLTAGE, UPS_OUTPUT_VOLTAGE)
UPS_OUTPUT_SOURCES = {
    1: "other", 2: "none", 3: "normal", 4: "bypass", 5: "battery", 6: "booster", 7: "reducer",
}
UPS_OUTPUT_SOURCE_BATTERY = 5
UPS_BATTERY_STATUSES = {1: "unknown", 2: "normal", 3: "low", 4: "depleted"}

# APC PowerNet-MIB (enterprise 318), for APC cards with RFC 1628 support switched off
APC_UPS = "1.3.6.1.4.1.318.1.1.1"
APC_BASIC_BATTERY_STATUS = "1.3.6.1.4.1.318.1.1.1.2.1.1.0"  # unknown(1) normal(2) low(3)
APC_ADV_BATTERY_CAPACITY = "1.3.6.1.4.1.318.1.1.1.2.2.1.0"  # percent
APC_ADV_BATTERY_RUNTIME_REMAINING = "1.3.6.1.4.1.318.1.1.1.2.2.3.0"  # TimeTicks
APC_ADV_INPUT_LINE_VOLTAGE = "1.3.6.1.4.1.318.1.1.1.3.2.1.0"  # volts
APC_BASIC_OUTPUT_STATUS = "1.3.6.1.4.1.318.1.1.1.4.1.1.0"
APC_ADV_OUTPUT_VOLTAGE = "1.3.6.1.4.1.318.1.1.1.4.2.1.0"
APC_SCALARS = (
    APC_BASIC_BATTERY_STATUS, APC_ADV_BATTERY_CAPACITY, APC_ADV_BATTERY_RUNTIME_REMAINING,
    APC_ADV_INPUT_LINE_VOLTAGE, APC_BASIC_OUTPUT_STATUS, APC_ADV_OUTPUT_VOLTAGE,
)
# upsBasicOutputStatus, named like UPS-MIB's upsOutputSource where they mean the same
APC_OUTPUT_STATUSES = {
    1: "unknown", 2: "normal", 3: "battery", 4: "booster", 5: "timed_sleeping",
    6: "software_bypass", 7: "off", 8: "rebooting", 9: "bypass", 10: "hardware_failure_bypass",
    11: "sleeping_until_power_return", 12: "reducer", 13: "eco_mode",
}
APC_OUTPUT_ON_BATTERY = 3

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
    """What one profile reads: scalars by one GET, columns by bulk walks."""

    name: ProfileName
    scalars: tuple[str, ...] = ()
    columns: tuple[str, ...] = ()


NETWORK_DEVICE_COLUMNS = (
    *INTERFACE_COLUMNS, HR_PROCESSOR_LOAD, *STORAGE_COLUMNS, CISCO_CPU_TOTAL_1MIN,
    *CISCO_MEMORY_COLUMNS,
)

PROFILE_TABLE: dict[ProfileName, Profile] = {
    "host": Profile(
        "host", scalars=(HR_SYSTEM_UPTIME,),
        columns=(HR_PROCESSOR_LOAD, *STORAGE_COLUMNS, *INTERFACE_COLUMNS),
    ),
    "switch": Profile("switch", columns=NETWORK_DEVICE_COLUMNS),
    "router": Profile("router", columns=NETWORK_DEVICE_COLUMNS),
    "ups": Profile("ups", scalars=(*UPS_SCALARS, *APC_SCALARS), columns=UPS_COLUMNS),
    "printer": Profile("printer", columns=PRINTER_COLUMNS),
}

# Subtrees asked for with one GETNEXT when the profile is "auto": an answer inside
# the subtree means the device implements it.
DETECTION_SUBTREES = (UPS_IDENT, APC_UPS, PRT_GENERAL, DOT1D_BASE, HR_STORAGE_TABLE)
# sysObjectID prefixes that name a host operating system outright: net-snmp
# (Linux, BSD) and Microsoft Windows.
HOST_ENTERPRISES = ("1.3.6.1.4.1.8072.", "1.3.6.1.4.1.311.")


def choose_profile(
    sys_object_id: str | None, present: frozenset[str], ip_forwarding: int | None
) -> ProfileName:
    """The profile for a device, from its sysObjectID and which subtrees answered.

    Power and printing MIBs are decisive; then an operating system's own agent; then
    a device that forwards IP is a router and one that bridges is a switch; a device
    with storage tables is a host; anything else is read as a switch (interfaces).
    """
    if UPS_IDENT in present or APC_UPS in present:
        return "ups"
    if PRT_GENERAL in present:
        return "printer"
    if sys_object_id and sys_object_id.startswith(HOST_ENTERPRISES):
        return "host"
    if ip_forwarding == 1:
        return "router"
    if DOT1D_BASE in present:
        return "switch"
    if HR_STORAGE_TABLE in present:
        return "host"
    return "switch"
