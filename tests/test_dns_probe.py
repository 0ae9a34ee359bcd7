"""The DNS probe against a real dnsmasq on loopback, and against resolvers that fail."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import time
from pathlib import Path
from typing import Any

import dns.message
import dns.rrset
import pytest
from pydantic import ValidationError

from probes import PROBES, dns_wire
from probes.base import deadline_in
from probes.dns import MAX_ADDRESSES, DnsConfig, DnsResult, probe
from tests.lab.dns import LabResolver, dnsmasq
from tests.lab.require import require_binary


def at(resolver: LabResolver, **options: object) -> DnsConfig:
    return DnsConfig.model_validate(
        {"resolver": resolver.address, "port": resolver.port, **options}
    )


async def lookup(name: str, config: DnsConfig, deadline_seconds: float = 10.0) -> DnsResult:
    return await probe(name, config, deadline_in(deadline_seconds))


async def test_lab_resolver_gives_the_platform_address_and_lookup_time(
    lab_resolver: LabResolver,
) -> None:
    result = await lookup("platform.lab", at(lab_resolver))

    assert result.up, result.error
    assert result.error is None
    assert result.rcode == "NOERROR"
    assert result.addresses == lab_resolver.addresses("platform.lab")
    assert result.resolver == lab_resolver.address
    assert result.lookup_seconds is not None
    assert 0 < result.lookup_seconds <= result.duration_seconds < 2.0


async def test_every_address_of_a_name_is_reported(lab_resolver: LabResolver) -> None:
    result = await lookup("documents.lab", at(lab_resolver))

    assert sorted(result.addresses) == sorted(lab_resolver.addresses("documents.lab"))


async def test_aaaa_lookup_gives_ipv6_addresses(lab_resolver: LabResolver) -> None:
    result = await lookup("platform.lab", at(lab_resolver, record_type="AAAA"))

    assert result.up, result.error
    assert result.addresses == lab_resolver.addresses("platform.lab", socket.AF_INET6)


async def test_nxdomain_is_its_own_error(lab_resolver: LabResolver) -> None:
    result = await lookup("missing.lab", at(lab_resolver))

    assert not result.up
    assert result.rcode == "NXDOMAIN"
    assert result.error is not None and result.error.startswith("NXDOMAIN: missing.lab")
    assert result.addresses == []
    # The resolver did answer, promptly: that time is still a measurement.
    assert result.lookup_seconds is not None


async def test_refusal_is_its_own_error(lab_resolver: LabResolver) -> None:
    # The lab resolver has no upstream: a name outside .lab is refused, never forwarded.
    result = await lookup("example.org", at(lab_resolver))

    assert not result.up
    assert result.rcode == "REFUSED"
    assert result.error is not None and "refused" in result.error
    assert "NXDOMAIN" not in result.error


async def test_silent_resolver_fails_at_its_timeout(silent_resolver: tuple[str, int]) -> None:
    host, port = silent_resolver
    timeout = 0.5

    started = time.monotonic()
    config = DnsConfig(resolver=host, port=port, timeout_seconds=timeout)
    result = await lookup("platform.lab", config)
    took = time.monotonic() - started

    assert not result.up
    assert timeout <= took < timeout + 2.0
    assert result.error == f"no answer from resolver {host}:{port} within {timeout:.1f} s"
    assert result.rcode is None and result.lookup_seconds is None


async def test_closed_resolver_port_fails_fast_as_unreachable(
    closed_resolver: tuple[str, int],
) -> None:
    host, port = closed_resolver
    timeout = 1.0

    started = time.monotonic()
    config = DnsConfig(resolver=host, port=port, timeout_seconds=timeout)
    result = await lookup("platform.lab", config)

    assert not result.up
    assert time.monotonic() - started < timeout + 2.0
    assert result.error == (
        f"resolver {host}:{port} unreachable: connection refused (nothing listening)"
    )


async def test_deadline_shorter_than_timeout_wins(silent_resolver: tuple[str, int]) -> None:
    host, port = silent_resolver

    started = time.monotonic()
    result = await lookup(
        "platform.lab",
        DnsConfig(resolver=host, port=port, timeout_seconds=30.0),
        deadline_seconds=0.3,
    )

    assert not result.up
    assert time.monotonic() - started < 2.3


async def test_invalid_name_is_reported_without_a_query() -> None:
    result = await lookup("bad..name", DnsConfig(resolver="127.0.0.1", port=9))

    assert not result.up
    assert result.error is not None and result.error.startswith("not a valid DNS name")


def test_resolver_must_be_an_ip_address() -> None:
    with pytest.raises(ValidationError):
        DnsConfig(resolver="dns.example")


def test_dns_is_a_registered_probe_kind() -> None:
    kind = PROBES["dns"]

    assert kind.config_type is DnsConfig
    assert kind.result_type is DnsResult
    assert kind.run is probe


async def test_result_serialises_with_the_contract_field_names(
    lab_resolver: LabResolver,
) -> None:
    result = await lookup("platform.lab", at(lab_resolver))

    document = result.to_json()
    for name in ("up", "lookup_seconds", "addresses", "error"):
        assert name in document
    assert DnsResult.model_validate(document) == result


async def test_a_truncated_answer_is_asked_again_over_tcp(tmp_path: Path) -> None:
    # 60 A records do not fit the 512 octets of a UDP answer without EDNS.
    many = [f"10.77.1.{i}" for i in range(1, 61)]
    binary = require_binary("dnsmasq")["dnsmasq"]
    with dnsmasq(binary, tmp_path, {"many.lab": many}) as resolver:
        result = await lookup("many.lab", at(resolver))

    assert result.up, result.error
    assert sorted(result.addresses) == sorted(many)


# --- answers from a resolver stand-in on loopback, built with dnspython ---


class ScriptedResolver(asyncio.DatagramProtocol):
    """Answers each query with ``records`` A records, after a stray answer to another id."""

    def __init__(self, records: int) -> None:
        self.records = records

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport: Any = transport

    def datagram_received(self, data: bytes, addr: Any) -> None:
        query = dns.message.from_wire(data)
        stray = dns.message.make_response(query)
        stray.id = (query.id + 1) % 65536
        stray.answer.append(dns.rrset.from_text(query.question[0].name, 60, "IN", "A",
                                                "10.77.9.9"))
        answer = dns.message.make_response(query)
        answer.answer.append(dns.rrset.from_text_list(
            query.question[0].name, 60, "IN", "A",
            [str(ipaddress.IPv4Address("10.77.0.0") + i) for i in range(self.records)]))
        self.transport.sendto(stray.to_wire(), addr)
        self.transport.sendto(answer.to_wire(), addr)


async def scripted_lookup(records: int) -> DnsResult:
    transport, _ = await asyncio.get_running_loop().create_datagram_endpoint(
        lambda: ScriptedResolver(records), local_addr=("127.0.0.1", 0))
    try:
        port = transport.get_extra_info("sockname")[1]
        return await lookup("many.lab", DnsConfig(resolver="127.0.0.1", port=port))
    finally:
        transport.close()


async def test_an_answer_to_another_query_is_ignored_and_ours_awaited() -> None:
    result = await scripted_lookup(2)

    assert result.up, result.error
    # An answer's records are a set: dnspython keeps no order among them.
    assert sorted(result.addresses) == ["10.77.0.0", "10.77.0.1"]


async def test_an_answer_with_too_many_addresses_is_cut_short_and_says_so() -> None:
    result = await scripted_lookup(MAX_ADDRESSES + 500)

    assert result.up  # the resolver answered, in time
    assert result.lookup_seconds is not None
    assert len(result.addresses) == MAX_ADDRESSES
    assert result.error == (f"{MAX_ADDRESSES + 500} A records for many.lab: only the first "
                            f"{MAX_ADDRESSES} are reported")
    assert DnsResult.model_validate(result.to_json()) == result


def test_the_system_resolver_is_the_first_address_in_resolv_conf(tmp_path: Path) -> None:
    resolv_conf = tmp_path / "resolv.conf"
    resolv_conf.write_text("# a comment\nsearch lab\nnameserver https://doh.example/q\n"
                           "nameserver 10.77.0.53 ; the ward's\nnameserver 10.77.0.54\n")

    assert dns_wire.system_resolver(str(resolv_conf)) == "10.77.0.53"
    assert dns_wire.system_resolver(str(tmp_path / "missing")) is None
