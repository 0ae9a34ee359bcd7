"""The DNS probe's lookup over dnspython: one UDP query (TCP if truncated), timed.

The query is dnspython's ``make_query`` (one question, recursion desired, no EDNS);
datagrams that are not its answer are ignored. Imported by the first DNS probe, so the
probe's types cost no DNS library.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import time
from typing import Any

import dns.asyncbackend
import dns.asyncquery
import dns.exception
import dns.message
import dns.name
import dns.rcode
import dns.rdatatype
import dns.resolver

from probes.base import remaining
from probes.dns import MAX_ADDRESSES, DnsConfig, DnsResult

RESOLV_CONF = "/etc/resolv.conf"


def system_resolver(resolv_conf: str = RESOLV_CONF) -> str | None:
    """The first nameserver the system would use (from /etc/resolv.conf), if any."""
    try:
        nameservers = dns.resolver.Resolver(filename=resolv_conf, configure=True).nameservers
    except dns.resolver.NoResolverConfiguration:
        return None
    for nameserver in nameservers:
        text = str(nameserver)
        try:
            ipaddress.ip_address(text)
        except ValueError:
            # DoH/DoT URLs cannot be timed as a plain port-53 resolver.
            continue
        return text
    return None


async def _query(query: dns.message.Message, resolver: str, port: int) -> dns.message.Message:
    # A connected UDP socket is told by the kernel when the port is closed
    # (ICMP port unreachable), so a stopped resolver fails fast and says so
    # instead of looking like a silent one.
    family = socket.AF_INET6 if ipaddress.ip_address(resolver).version == 6 else socket.AF_INET
    backend = dns.asyncbackend.get_backend("asyncio")
    udp_socket = await backend.make_socket(family, socket.SOCK_DGRAM, 0, None, (resolver, port))
    async with udp_socket:
        # ignore_errors: a datagram that is not the answer to this query (a late one, a
        # stray, a spoof) is skipped, and the answer is still awaited.
        response, _ = await dns.asyncquery.udp_with_fallback(
            query, resolver, port=port, udp_sock=udp_socket, backend=backend,
            ignore_errors=True,
        )
    return response


def _where(resolver: str, port: int) -> str:
    if port == 53:
        return resolver
    return f"[{resolver}]:{port}" if ":" in resolver else f"{resolver}:{port}"


def _addresses(response: dns.message.Message, record_type: str) -> list[str]:
    wanted = dns.rdatatype.from_text(record_type)
    return [rdata.address for rrset in response.answer if rrset.rdtype == wanted for rdata in rrset]


def _rcode_error(rcode: str, name: str, resolver: str, record_type: str) -> str | None:
    if rcode == "NOERROR":
        return None
    if rcode == "NXDOMAIN":
        return f"NXDOMAIN: {name} does not exist (resolver {resolver})"
    if rcode == "REFUSED":
        return f"resolver {resolver} refused to answer for {name} (REFUSED)"
    if rcode == "SERVFAIL":
        return f"resolver {resolver} could not resolve {name} (SERVFAIL)"
    return f"resolver {resolver} answered {rcode} for {name} {record_type}"


async def probe(target: str, config: DnsConfig, deadline: float) -> DnsResult:
    """Look ``target`` up once within ``min(config.timeout_seconds, deadline)``."""
    started = time.monotonic()
    budget = min(config.timeout_seconds, remaining(deadline))
    resolver = config.resolver or system_resolver()
    fields: dict[str, Any] = {"name": target, "resolver": resolver}

    def failed(error: str) -> DnsResult:
        return DnsResult(
            up=False, error=error, duration_seconds=time.monotonic() - started, **fields
        )

    if resolver is None:
        return failed("no resolver given and none found in /etc/resolv.conf")
    if budget <= 0:
        return failed("no time left before the deadline")
    try:
        query = dns.message.make_query(dns.name.from_text(target), config.record_type)
    except (dns.exception.DNSException, UnicodeError) as exc:
        return failed(f"not a valid DNS name: {target!r} ({exc})")

    where = _where(resolver, config.port)
    sent = time.monotonic()
    try:
        async with asyncio.timeout(budget):
            response = await _query(query, resolver, config.port)
    except TimeoutError:
        return failed(f"no answer from resolver {where} within {budget:.1f} s")
    except ConnectionRefusedError:
        return failed(f"resolver {where} unreachable: connection refused (nothing listening)")
    except OSError as exc:
        return failed(f"resolver {where} unreachable: {exc.strerror or exc}")
    except dns.exception.DNSException as exc:
        return failed(f"bad answer from resolver {where}: {exc}")
    lookup_seconds = time.monotonic() - sent

    rcode = dns.rcode.to_text(response.rcode())
    addresses = _addresses(response, config.record_type)
    error = _rcode_error(rcode, target, where, config.record_type)
    if error is None and not addresses:
        error = f"no {config.record_type} record for {target} (resolver {where})"
    up = error is None
    if len(addresses) > MAX_ADDRESSES:
        # The resolver did answer, in time: the lookup stands, its list is cut short.
        error = (f"{len(addresses)} {config.record_type} records for {target}: only the "
                 f"first {MAX_ADDRESSES} are reported")
        addresses = addresses[:MAX_ADDRESSES]
    fields.update(lookup_seconds=lookup_seconds, addresses=addresses, rcode=rcode)
    return DnsResult(
        up=up, error=error, duration_seconds=time.monotonic() - started, **fields
    )
