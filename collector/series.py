"""From one probe result to the series it contributes, under the contract's names.

One function per probe kind; each returns ``Sample`` values without the ``ward``
label (the state adds it). A value that was not measured yields no sample, so a
failed lookup never shows as a zero-second lookup. The ward's inventory entry is
at hand for what the result cannot know (a device's role, its uplink port).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from inventory.model import Ward

# One series value: (name, labels, value). A plain tuple of strings and a float on
# purpose: the garbage collector stops tracking exact tuples of atoms, so a national
# fleet's state costs nothing in full collections (a NamedTuple would stay tracked).
Sample = tuple[str, tuple[tuple[str, str], ...], float]


def sample(name: str, labels: tuple[tuple[str, str], ...], value: float) -> Sample:
    return (name, labels, float(value))


@functools.lru_cache(maxsize=65536)
def _shared(labels: tuple[tuple[str, str], ...]) -> tuple[tuple[str, str], ...]:
    """One tuple for each label set: every report repeats its series' labels, and at
    national scale a fresh copy for each was about a fifth of the collector's state."""
    return labels


def _add(out: list[Sample], name: str, labels: dict[str, str], value: Any) -> None:
    if value is None:
        return
    out.append(sample(name, _shared(tuple(labels.items())), value))


def icmp_series(target: str, result: Any, ward: Ward) -> list[Sample]:
    out: list[Sample] = []
    labels = {"target": target}
    _add(out, "sansang_icmp_rtt_avg_seconds", labels, result.rtt_avg_seconds)
    _add(out, "sansang_icmp_rtt_min_seconds", labels, result.rtt_min_seconds)
    _add(out, "sansang_icmp_rtt_max_seconds", labels, result.rtt_max_seconds)
    _add(out, "sansang_icmp_jitter_seconds", labels, result.jitter_seconds)
    _add(out, "sansang_icmp_loss_ratio", labels, result.loss_ratio)
    return out


def http_series(target: str, result: Any, ward: Ward) -> list[Sample]:
    out: list[Sample] = []
    labels = {"platform": target}
    _add(out, "sansang_platform_up", labels, 1 if result.up else 0)
    _add(out, "sansang_platform_response_seconds", labels, result.response_seconds)
    _add(out, "sansang_platform_status_code", labels, result.status_code)
    _add(out, "sansang_platform_tls_expiry_timestamp_seconds", labels,
         result.tls_expiry_timestamp_seconds)
    return out


def dns_series(target: str, result: Any, ward: Ward) -> list[Sample]:
    out: list[Sample] = []
    labels = {"resolver": result.resolver or "system", "name": target}
    _add(out, "sansang_dns_up", labels, 1 if result.up else 0)
    _add(out, "sansang_dns_lookup_seconds", labels, result.lookup_seconds)
    return out


def bandwidth_series(target: str, result: Any, ward: Ward) -> list[Sample]:
    out: list[Sample] = []
    labels = {"link": target}
    _add(out, "sansang_bandwidth_download_bytes_per_second", labels,
         result.download_bytes_per_second)
    _add(out, "sansang_bandwidth_upload_bytes_per_second", labels, result.upload_bytes_per_second)
    return out


def snmp_series(target: str, result: Any, ward: Ward) -> list[Sample]:
    device = next((d for d in ward.devices if d.id == target), None)
    role = device.role if device else (result.profile or "unknown")
    out: list[Sample] = []
    labels = {"device": target, "role": role}
    _add(out, "sansang_device_up", labels, 1 if result.up else 0)
    _add(out, "sansang_device_cpu_ratio", labels, result.cpu_ratio)
    _add(out, "sansang_device_memory_used_ratio", labels, result.memory_used_ratio)
    names = interface_labels(result.interfaces)
    for interface, name in zip(result.interfaces, names, strict=True):
        port = {"device": target, "interface": name}
        _add(out, "sansang_interface_oper_up", port, 1 if interface.oper_up else 0)
        for direction, octets, errors in (
            ("in", interface.in_bytes_total, interface.in_errors_total),
            ("out", interface.out_bytes_total, interface.out_errors_total),
        ):
            _add(out, "sansang_interface_bytes_total", {**port, "direction": direction}, octets)
            _add(out, "sansang_interface_errors_total", {**port, "direction": direction}, errors)
    if device is not None and device.uplink_interface and result.up:
        # Every interface of that name must be up: with two of one name, either could be
        # the uplink, and a down one must never be hidden behind an up one.
        uplinks = [i for i in result.interfaces if i.name == device.uplink_interface]
        _add(out, "sansang_device_uplink_up",
             {"device": target, "interface": device.uplink_interface},
             1 if uplinks and all(i.oper_up for i in uplinks) else 0)
    if result.ups is not None:
        ups = result.ups
        device_only = {"device": target}
        _add(out, "sansang_ups_on_battery", device_only,
             None if ups.on_battery is None else int(ups.on_battery))
        _add(out, "sansang_ups_battery_charge_ratio", device_only, ups.battery_charge_ratio)
        _add(out, "sansang_ups_runtime_seconds", device_only, ups.runtime_seconds)
    return out


def interface_labels(interfaces: Any) -> list[str]:
    """Each interface's label value, distinct within the device: a name several
    interfaces share (a device with two "eth0") gets its ifIndex added to each, so
    neither series hides the other in Prometheus. Stable across reports."""
    counts: dict[str, int] = {}
    for interface in interfaces:
        counts[interface.name] = counts.get(interface.name, 0) + 1
    labels = [f"{i.name} (ifIndex {i.index})" if counts[i.name] > 1 else i.name
              for i in interfaces]
    # A device (or an agent) that repeats an ifIndex too: number the repeats.
    seen: dict[str, int] = {}
    for position, label in enumerate(labels):
        seen[label] = seen.get(label, 0) + 1
        if seen[label] > 1:
            labels[position] = f"{label} #{seen[label]}"
    return labels


SERIES_BY_KIND: dict[str, Callable[[str, Any, Ward], list[Sample]]] = {
    "icmp": icmp_series,
    "http": http_series,
    "dns": dns_series,
    "bandwidth": bandwidth_series,
    "snmp": snmp_series,
}


def series_for(kind: str, target: str, result: Any, ward: Ward) -> list[Sample]:
    make = SERIES_BY_KIND.get(kind)
    return make(target, result, ward) if make else []


def inventory_series(ward: Ward) -> list[Sample]:
    """What the inventory alone says about a ward: its links' contracts and its devices."""
    out: list[Sample] = []
    for link in ward.links:
        _add(out, "sansang_link_contract_download_bytes_per_second", {"link": link.id},
             link.download_bytes_per_second)
        _add(out, "sansang_link_contract_upload_bytes_per_second", {"link": link.id},
             link.upload_bytes_per_second)
    for device in ward.devices:
        _add(out, "sansang_device_info",
             {"device": device.id, "role": device.role,
              "critical": "true" if device.critical else "false"}, 1)
    return out
