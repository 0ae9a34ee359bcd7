"""DNS probe: one lookup of a name at one resolver, timed, with its addresses and rcode.

One query, no hidden retries or search domains: the name is looked up as given
(absolute), so the time measured is the resolver's. NXDOMAIN, a refusal, a
closed port and silence are each reported as a result with its own error. The
lookup itself (``dns_wire``) is imported by the first probe.
"""

from __future__ import annotations

import ipaddress
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field, field_validator

from probes.base import ProbeCli, ProbeConfig, ProbeKind, ProbeResult, timeout_budget
from probes.series import Family, Sample, add

if TYPE_CHECKING:
    import argparse

    from inventory.model import Ward

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


# --- the kind, declared once

FAMILIES = (
    Family("sansang_dns_up", "1 when the resolver answered the lookup."),
    Family("sansang_dns_lookup_seconds", "Time the ward's resolver took to answer."),
)


def series(target: str, result: DnsResult, ward: Ward) -> list[Sample]:
    out: list[Sample] = []
    labels = {"resolver": result.resolver or "system", "name": target}
    add(out, "sansang_dns_up", labels, 1 if result.up else 0)
    add(out, "sansang_dns_lookup_seconds", labels, result.lookup_seconds)
    return out


def failed(target: str, error: str) -> DnsResult:
    return DnsResult(up=False, error=error, name=target[:300], resolver="")


def _arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("name", metavar="NAME", help="the name to look up")
    parser.add_argument("--resolver", default=None,
                        help="resolver IP[:PORT] (default: the system's resolver)")
    parser.add_argument("--timeout", type=float, default=2.0, help="seconds (default 2)")


def _from_arguments(args: argparse.Namespace) -> tuple[list[str], dict[str, Any]]:
    fields: dict[str, Any] = {"timeout_seconds": args.timeout}
    if args.resolver:
        host, _, port = (args.resolver.rpartition(":") if args.resolver.count(":") == 1
                         else (args.resolver, "", ""))
        fields["resolver"] = host or args.resolver
        if port:
            # Checked by the config type, so a bad port is reported like any option.
            fields["port"] = port
    return [args.name], fields


KIND = ProbeKind(
    "dns", DnsConfig, DnsResult, probe, FAMILIES, series, failed, timeout_budget,
    columns=[("name", "name", ""), ("resolver", "resolver", ""), ("up", "up", ""),
             ("lookup_seconds", "lookup", "s"), ("addresses", "addresses", "")],
    cli=ProbeCli("DNS lookup time and addresses", _arguments, _from_arguments,
                 options={"resolver": "--resolver", "port": "--resolver"}),
)
