"""The probe command line of DESIGN.md, field for field, run as a technician would run it."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

from tests.lab.dns import LabResolver
from tests.lab.fixtures_snmp import SnmpAgent
from tests.lab.servers import ROOT, running_collector, running_platforms

ICMP_FIELDS = {"rtt_avg_seconds", "rtt_min_seconds", "rtt_max_seconds", "jitter_seconds",
               "loss_ratio", "sent", "received"}
HTTP_FIELDS = {"up", "status_code", "response_seconds", "tls_expiry_timestamp_seconds"}
DNS_FIELDS = {"lookup_seconds", "addresses"}
BANDWIDTH_FIELDS = {"download_bytes_per_second", "upload_bytes_per_second"}
SNMP_FIELDS = {"up", "sys_name", "sys_descr", "uptime_seconds", "cpu_ratio",
               "memory_used_ratio", "interfaces", "ups"}
INTERFACE_FIELDS = {"index", "name", "oper_up", "in_bytes_total", "out_bytes_total",
                    "in_errors_total", "out_errors_total"}
UPS_FIELDS = {"on_battery", "battery_charge_ratio", "runtime_seconds"}


def probe(*args: str) -> tuple[int, Any]:
    run = subprocess.run([sys.executable, "agent.py", "probe", *args, "--json"], cwd=ROOT,
                         capture_output=True, text=True, timeout=120)
    return run.returncode, json.loads(run.stdout)


def test_icmp_prints_one_object_per_host() -> None:
    code, document = probe("icmp", "127.0.0.1", "127.0.0.2", "--count", "3", "--interval",
                           "0.05", "--timeout", "1")
    assert code == 0
    assert [d["host"] for d in document] == ["127.0.0.1", "127.0.0.2"]
    for host in document:
        assert ICMP_FIELDS <= set(host)
        assert (host["sent"], host["received"], host["loss_ratio"]) == (3, 3, 0.0)
        assert 0 < host["rtt_min_seconds"] <= host["rtt_avg_seconds"] <= host["rtt_max_seconds"]


def test_http_reports_the_platform_and_a_failure_exits_non_zero() -> None:
    with running_platforms() as urls:
        code, document = probe("http", urls["video"], "--timeout", "5")
    assert code == 0
    assert HTTP_FIELDS <= set(document)
    assert (document["up"], document["status_code"]) == (True, 200)
    code, document = probe("http", "http://127.0.0.1:9/", "--timeout", "2")
    assert code != 0
    assert document["up"] is False and document["error"]


def test_dns_against_the_lab_resolver(lab_resolver: LabResolver) -> None:
    name = next(iter(lab_resolver.records))
    code, document = probe("dns", name, "--resolver",
                           f"{lab_resolver.address}:{lab_resolver.port}")
    assert code == 0
    assert DNS_FIELDS <= set(document)
    assert sorted(document["addresses"]) == sorted(lab_resolver.addresses(name))


def test_snmp_reads_a_recorded_ups(snmpsim_agent: SnmpAgent) -> None:
    code, document = probe("snmp", f"127.0.0.1:{snmpsim_agent.port}", "--community", "ups")
    assert code == 0
    assert SNMP_FIELDS <= set(document)
    assert document["profile"] == "ups"
    assert UPS_FIELDS <= set(document["ups"])


def test_snmp_reads_a_switch_over_v3(snmpsim_agent: SnmpAgent) -> None:
    user = next(iter(snmpsim_agent.users.values()))
    code, document = probe(
        "snmp", f"127.0.0.1:{snmpsim_agent.port}", "--user", user.name,
        "--auth-protocol", user.auth_protocol, "--auth-key", user.auth_key,
        "--priv-protocol", user.priv_protocol, "--priv-key", user.priv_key,
        "--context", "switch")
    assert code == 0
    assert document["interfaces"]
    assert INTERFACE_FIELDS <= set(document["interfaces"][0])


def test_snmp_failure_prints_its_document_and_exits_non_zero(silent_snmp_port: int) -> None:
    code, document = probe("snmp", f"127.0.0.1:{silent_snmp_port}", "--community", "public",
                           "--timeout", "1")
    assert code != 0
    assert document["up"] is False and "no SNMP answer" in document["error"]


def test_bandwidth_against_the_collectors_speed_test(tmp_path: Any) -> None:
    with running_collector(tmp_path, ["26968"]) as collector:
        token = collector.token_file("26968")
        code, document = probe("bandwidth", collector.url, "--duration", "1", "--streams",
                               "2", "--token-file", str(token))
        refused_code, refused = probe("bandwidth", collector.url, "--duration", "1")
    assert refused_code != 0 and refused["up"] is False
    assert "401" in refused["error"], refused["error"]
    assert code == 0, document
    assert BANDWIDTH_FIELDS <= set(document)
    assert document["download_bytes_per_second"] > 0
    assert document["upload_bytes_per_second"] > 0


def refused(*args: str) -> tuple[int, str]:
    """A probe command line that must not run: its exit code and everything on stderr."""
    run = subprocess.run([sys.executable, "agent.py", "probe", *args], cwd=ROOT,
                         capture_output=True, text=True, timeout=60)
    assert run.stdout == ""
    return run.returncode, run.stderr


def test_an_out_of_range_option_is_one_line_naming_it_and_what_was_expected() -> None:
    code, stderr = refused("icmp", "127.0.0.1", "--count", "0", "--json")
    assert (code, stderr) == (2, "probe icmp: --count: expected a number ≥ 1, got 0\n")


def test_every_bad_option_gets_its_own_line() -> None:
    code, stderr = refused("icmp", "127.0.0.1", "--count", "0", "--interval", "99")
    assert code == 2
    assert sorted(stderr.splitlines()) == [
        "probe icmp: --count: expected a number ≥ 1, got 0",
        "probe icmp: --interval: expected a number ≤ 60.0, got 99.0",
    ]


def test_a_port_given_inside_another_option_names_that_option() -> None:
    code, stderr = refused("dns", "example.invalid", "--resolver", "127.0.0.1:99999")
    assert (code, stderr) == (2, "probe dns: --resolver: expected a number ≤ 65535, "
                                 "got '99999'\n")


def test_incomplete_snmpv3_options_say_what_is_missing() -> None:
    code, stderr = refused("snmp", "127.0.0.1", "--user", "u")
    assert (code, stderr) == (2, "probe snmp: options: expected auth_protocol, auth_key, "
                                 "priv_protocol, priv_key for SNMPv3 authPriv\n")


def test_an_unreadable_token_file_is_named(tmp_path: Any) -> None:
    missing = tmp_path / "token"
    code, stderr = refused("bandwidth", "http://127.0.0.1:9", "--token-file", str(missing))
    assert (code, stderr) == (2, f"probe bandwidth: cannot read {missing}: "
                                 "No such file or directory\n")
