"""DNS probe: one lookup of a name at one resolver, timed, with its addresses and rcode.

One query, no hidden retries or search domains: the name is looked up as given
(absolute), so the time measured is the resolver's. NXDOMAIN, a refusal, a
closed port and silence are each reported as a result with its own error. The
lookup itself (``dns_wire``) is imported by the first probe.
"""

from __future__ import annotations

import ipaddress
from typing import Literal

from pydantic import Field, field_validator

from probes.base import ProbeConfig, ProbeResult

# The most addresses a result carries (a ward's resolver gives a handful).
MAX_ADDRESSES = 1000


class DnsConfig(ProbeConfig):
    # An IP address; None means the first nameserver of /etc/resolv.conf.
    resolver: str | None = None
    port: int = Field(default=53, ge=1, le=65535)
    record_type: Literal["A", "AAAA"] = "A"
    timeout_seconds: float = Field(default=2.0, gt=0.0, le=60.0)

    @field_validator("resolver")
    @classmethod
    def _resolver_is_an_address(cls, value: str | None) -> str | None:
        if value is not None:
            ipaddress.ip_address(value)
        return value


class DnsResult(ProbeResult):
    name: str = Field(max_length=300)
    resolver: str | None = None
    lookup_seconds: float | None = Field(default=None, ge=0.0)
    addresses: list[str] = Field(default_factory=list, max_length=MAX_ADDRESSES)
    rcode: str | None = Field(default=None, max_length=20)


async def probe(target: str, config: DnsConfig, deadline: float) -> DnsResult:
    """Look ``target`` up once within ``min(config.timeout_seconds, deadline)``."""
    from probes import dns_wire

    return await dns_wire.probe(target, config, deadline)
