"""The one registry of probe kinds.

Each kind is a module exposing ``Config``/``Result`` pydantic types and
``async def probe(target, config, deadline) -> Result``. Adding a kind means one
module and one line in ``PROBES`` below.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from probes import bandwidth, dns, http, icmp, snmp
from probes.base import ProbeConfig, ProbeResult


@dataclass(frozen=True)
class ProbeKind:
    name: str
    config_type: type[ProbeConfig]
    result_type: type[ProbeResult]
    run: Callable[[str, Any, float], Awaitable[ProbeResult]]


PROBES: dict[str, ProbeKind] = {
    "icmp": ProbeKind("icmp", icmp.IcmpConfig, icmp.IcmpResult, icmp.probe),
    "http": ProbeKind("http", http.HttpConfig, http.HttpResult, http.probe),
    "dns": ProbeKind("dns", dns.DnsConfig, dns.DnsResult, dns.probe),
    "snmp": ProbeKind("snmp", snmp.SnmpConfig, snmp.SnmpResult, snmp.probe),
    "bandwidth": ProbeKind("bandwidth", bandwidth.BandwidthConfig, bandwidth.BandwidthResult,
                           bandwidth.probe),
}


def kind(name: str) -> ProbeKind:
    try:
        return PROBES[name]
    except KeyError:
        raise KeyError(f"unknown probe kind {name!r}; known: {', '.join(sorted(PROBES))}") from None
