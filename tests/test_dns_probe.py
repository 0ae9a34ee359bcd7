"""The DNS probe against a real dnsmasq on loopback, and against resolvers that fail."""

from __future__ import annotations

import socket
import struct
import time
from pathlib import Path

import pytest
from pydantic import ValidationError

from probes import PROBES, dns_wire
from probes.base import deadline_in
from probes.dns import DnsConfig, DnsResult, probe
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


# --- the wire format, with dnspython (the probe's former library) as the reference ---


@pytest.mark.parametrize("name", [
    "platform.lab", "platform.lab.", "Mixed.Case.lab", ".", "bücher.lab", "a\\.b.lab",
    "esc\\065ped.lab", "x" * 63 + ".lab",
])
def test_names_are_encoded_as_dnspython_encodes_them(name: str) -> None:
    import dns.name

    assert dns_wire.encode_name(name) == dns.name.from_text(name).to_wire()


@pytest.mark.parametrize(("name", "problem"), [
    ("bad..name", "empty"), (".lab", "empty"), ("x" * 64 + ".lab", "longer than 63"),
    (".".join(["x" * 60] * 5), "longer than 255"),
])
def test_names_dnspython_refuses_are_refused(name: str, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        dns_wire.encode_name(name)


def test_addresses_are_read_past_a_cname_and_compressed_names() -> None:
    question = dns_wire.encode_name("www.lab") + struct.pack("!HH", 1, 1)
    header = dns_wire.HEADER.pack(0x1234, 0x8180, 1, 3, 0, 0)
    cname = b"\xc0\x0c" + struct.pack("!HHIH", 5, 1, 60, 6) + b"\x03web\xc0\x10"
    records = b"".join(
        b"\xc0\x25" + struct.pack("!HHIH", 1, 1, 60, 4) + socket.inet_aton(address)
        for address in ("10.77.0.5", "10.77.0.6")
    )
    answer = dns_wire.parse_answer(header + question + cname + records, 0x1234, question, 1)

    assert (answer.rcode, answer.addresses, answer.truncated) == (0, ["10.77.0.5", "10.77.0.6"],
                                                                  False)


def test_an_answer_to_another_query_is_not_ours() -> None:
    question = dns_wire.encode_name("www.lab") + struct.pack("!HH", 1, 1)
    header = dns_wire.HEADER.pack(0x1234, 0x8180, 1, 0, 0, 0)
    with pytest.raises(dns_wire.NotOurs):
        dns_wire.parse_answer(header + question, 0x4321, question, 1)


def test_an_answer_without_the_question_is_not_ours_unless_it_is_a_format_error() -> None:
    question = dns_wire.encode_name("www.lab") + struct.pack("!HH", 1, 1)
    record = dns_wire.encode_name("evil.lab") + struct.pack("!HHIH", 1, 1, 60, 4) + bytes(4)
    with pytest.raises(dns_wire.NotOurs):
        dns_wire.parse_answer(dns_wire.HEADER.pack(0x1234, 0x8180, 0, 1, 0, 0) + record,
                              0x1234, question, 1)
    formerr = dns_wire.parse_answer(dns_wire.HEADER.pack(0x1234, 0x8181, 0, 1, 0, 0) + record,
                                    0x1234, question, 1)
    assert (formerr.rcode, formerr.addresses) == (1, [])


def test_the_system_resolver_is_the_first_address_in_resolv_conf(tmp_path: Path) -> None:
    resolv_conf = tmp_path / "resolv.conf"
    resolv_conf.write_text("# a comment\nsearch lab\nnameserver https://doh.example/q\n"
                           "nameserver 10.77.0.53 ; the ward's\nnameserver 10.77.0.54\n")

    assert dns_wire.system_resolver(str(resolv_conf)) == "10.77.0.53"
    assert dns_wire.system_resolver(str(tmp_path / "missing")) is None
