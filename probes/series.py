"""The contract's series: the one ``Sample`` type that probe kinds make, the readiness criteria
judge and the collector renders, and the ``Family`` that declares a metric.

A sample is ``(name, labels, value)``: labels a tuple of (name, value) pairs, without
the ``ward`` label (whoever holds the ward adds it). A plain tuple of strings and a float
on purpose: the garbage collector stops tracking exact tuples of atoms, so a national
fleet's state costs nothing in full collections (a NamedTuple would stay tracked).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from inventory.model import Ward

Labels = tuple[tuple[str, str], ...]
Sample = tuple[str, Labels, float]


@dataclass(frozen=True, slots=True)
class Family:
    """One metric family: its name (base units, ``sansang_`` prefix), help and type."""

    name: str
    help: str
    type: str = "gauge"

    @property
    def header(self) -> str:
        return f"# HELP {self.name} {escape_help(self.help)}\n# TYPE {self.name} {self.type}\n"


def escape_help(text: str) -> str:
    """HELP text as the text format wants it: backslash and line feed escaped."""
    return text.replace("\\", "\\\\").replace("\n", "\\n")


def sample(name: str, labels: Labels | Mapping[str, str], value: float) -> Sample:
    pairs = tuple(labels.items()) if isinstance(labels, Mapping) else labels
    return (name, pairs, float(value))


@functools.lru_cache(maxsize=65536)
def shared(labels: Labels) -> Labels:
    """One tuple for each label set: every report repeats its series' labels, and at
    national scale a fresh copy for each was about a fifth of the collector's state."""
    return labels


def add(out: list[Sample], name: str, labels: dict[str, str], value: Any) -> None:
    """Append a sample unless ``value`` was not measured (None): a failed lookup never
    shows as a zero-second lookup."""
    if value is None:
        return
    out.append((name, shared(tuple(labels.items())), float(value)))


def label(sample_: Sample, name: str, default: str = "") -> str:
    for key, value in sample_[1]:
        if key == name:
            return value
    return default


def inventory_series(ward: Ward) -> list[Sample]:
    """What the inventory alone says about a ward: its links' contracts and its devices."""
    out: list[Sample] = []
    from inventory.naming import device_name, link_name  # inventory imports this module

    for link in ward.links:
        add(out, "sansang_link_info",
            {"link": link.id, "isp": link.isp, "name": link_name(link, "vi"),
             "name_en": link_name(link, "en")}, 1)
        add(out, "sansang_link_contract_download_bytes_per_second", {"link": link.id},
            link.download_bytes_per_second)
        add(out, "sansang_link_contract_upload_bytes_per_second", {"link": link.id},
            link.upload_bytes_per_second)
    for device in ward.devices:
        info = {"device": device.id, "role": device.role,
                "critical": "true" if device.critical else "false",
                "name": device_name(ward, device, "vi"),
                "name_en": device_name(ward, device, "en")}
        if device.role == "printer":
            # Whether its supplies count for readiness (criteria: devices, supply).
            info["supplies_required"] = "true" if device.supplies_required else "false"
        add(out, "sansang_device_info", info, 1)
    for server in ward.ntp_servers:
        add(out, "sansang_ntp_server_info", {"server": server}, 1)
    return out
