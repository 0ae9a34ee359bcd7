"""The SNMP probe reads what net-snmp reads, fails readably and in time, and parses recordings.

Lab tests run the probe against Debian's snmpd and snmpsim's recorded devices over
SNMPv2c and SNMPv3 authPriv and compare every value with snmpget/snmpwalk; the rest
drive the probe's logic over an in-memory agent built from the same recordings.
"""

from __future__ import annotations

import asyncio
import gc
import inspect
import re
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from probes import snmp, snmp_wire
from probes import snmp_profiles as P
from probes.base import deadline_in
from probes.secret import Secret
from probes.snmp import SnmpConfig, SnmpResult, Value, text
from tests.lab.fixtures_snmp import SNMPREC_DIR, SnmpAgent

# Probes share one event loop (and so one SNMP engine) per module, as in the agent.
module_loop = pytest.mark.asyncio(loop_scope="module")

AUTHS = ("v2c", "sha-aes", "sha256-aes256")
DEVICE_PROFILES = {
    "host": "host", "switch": "switch", "router": "router", "ups": "ups", "ups-apc": "ups",
    "printer": "printer",
}
# Scheduling on a busy two-core machine, beyond the probe's own budget.
SLACK_SECONDS = 0.15


def probe_config(agent: SnmpAgent, auth: str, device: str | None = None, **options: Any
                 ) -> SnmpConfig:
    if auth == "v2c":
        return SnmpConfig(community=Secret(agent.community or device or ""), **options)
    user = agent.users[auth]
    return SnmpConfig(
        version="3", user=user.name, auth_protocol=user.auth_protocol,
        auth_key=Secret(user.auth_key), priv_protocol=user.priv_protocol,
        priv_key=Secret(user.priv_key), context_name=device, **options,
    )


# --- net-snmp as the reference reader ---


def parse_netsnmp(output: str) -> dict[str, Value]:
    """``snmpwalk -On -Ox -Ot`` output as {numeric OID: value}, like the probe's values."""
    values: dict[str, Value] = {}
    entries: list[str] = []
    for line in output.splitlines():
        if line.startswith("."):
            entries.append(line)
        elif entries:  # a long Hex-STRING continues on the next lines
            entries[-1] += " " + line
    for entry in entries:
        oid, _, rest = entry.partition(" = ")
        kind, _, raw = rest.partition(": ")
        if rest == '""':
            kind, raw = "STRING", rest
        elif rest.isdigit():  # -Ot prints TimeTicks as a bare number
            kind, raw = "Timeticks", rest
        key = oid.lstrip(".")
        if kind == "Hex-STRING":
            values[key] = bytes.fromhex(raw)
        elif kind == "STRING":
            values[key] = raw.strip('"').encode()
        elif kind in ("INTEGER", "Counter32", "Counter64", "Gauge32", "Timeticks", "Unsigned32"):
            values[key] = int(raw)
        elif kind == "OID":
            values[key] = raw.lstrip(".")
        elif kind == "IpAddress":
            values[key] = raw
        # Anything else is an exception ("No Such Object ...", "No more variables ...").
    return values


@dataclass
class NetSnmp:
    """snmpwalk against one agent with one set of credentials."""

    tools: dict[str, str]
    env: dict[str, str]
    target: str
    auth: list[str]

    def walk(self, subtrees: Sequence[str]) -> dict[str, Value]:
        values: dict[str, Value] = {}
        for subtree in subtrees:
            completed = subprocess.run(
                [self.tools["snmpwalk"], "-On", "-Ox", "-Ot", "-t", "3", "-r", "1", *self.auth,
                 self.target, subtree],
                capture_output=True, text=True, env=self.env, timeout=30, check=False,
            )
            assert completed.returncode == 0, completed.stderr
            values.update(parse_netsnmp(completed.stdout))
        return values


def netsnmp_for(agent: SnmpAgent, auth: str, tools: tuple[dict[str, str], dict[str, str]],
                device: str | None = None) -> NetSnmp:
    if auth == "v2c":
        args = ["-v2c", "-c", agent.community or device or ""]
    else:
        args = agent.users[auth].netsnmp_args(context=device)
    return NetSnmp(tools[0], tools[1], agent.target, args)


IF_TABLE, IF_X_TABLE = "1.3.6.1.2.1.2.2", "1.3.6.1.2.1.31.1.1"
SYSTEM = "1.3.6.1.2.1.1"
REFERENCE_SUBTREES = {
    "host": (SYSTEM, P.HR_SYSTEM_UPTIME.removesuffix(".0"), P.HR_STORAGE_TABLE,
             P.HR_PROCESSOR_LOAD, IF_TABLE, IF_X_TABLE),
    "switch": (SYSTEM, IF_TABLE, IF_X_TABLE, P.HR_STORAGE_TABLE, P.HR_PROCESSOR_LOAD,
               P.CISCO_CPU_TOTAL_1MIN, "1.3.6.1.4.1.9.9.48.1.1.1"),
    "ups": (SYSTEM, P.UPS_MIB, P.APC_UPS),
    "printer": (SYSTEM, "1.3.6.1.2.1.25.3.2", "1.3.6.1.2.1.25.3.5", "1.3.6.1.2.1.43"),
}
REFERENCE_SUBTREES["router"] = REFERENCE_SUBTREES["switch"]


def column(reference: Mapping[str, Value], oid: str) -> dict[str, Value]:
    prefix = oid + "."
    return {k.removeprefix(prefix): v for k, v in reference.items() if k.startswith(prefix)}


def first_row(reference: Mapping[str, Value], oid: str) -> Value | None:
    rows = column(reference, oid)
    return rows[min(rows, key=lambda i: tuple(map(int, i.split("."))))] if rows else None


def mean(values: Sequence[int]) -> float | None:
    return sum(values) / len(values) if values else None


# What each value the probe reports is, written from the MIBs (not from the probe's code).
def expected_system(ref: Mapping[str, Value], profile: str) -> dict[str, Any]:
    uptime = ref.get(P.HR_SYSTEM_UPTIME) if profile == "host" else None
    uptime = uptime if uptime is not None else ref.get(P.SYS_UPTIME)
    return {
        "sys_name": text(ref.get(P.SYS_NAME)),
        "sys_descr": text(ref.get(P.SYS_DESCR)),
        "sys_object_id": ref.get(P.SYS_OBJECT_ID),
        "uptime_seconds": None if uptime is None else int(uptime) / 100,
    }


def expected_cpu(ref: Mapping[str, Value]) -> float | None:
    for oid in (P.HR_PROCESSOR_LOAD, P.CISCO_CPU_TOTAL_1MIN):
        load = mean([int(v) for v in column(ref, oid).values()])
        if load is not None:
            return load / 100
    return None


def expected_memory(ref: Mapping[str, Value]) -> float | None:
    kinds, units = column(ref, P.HR_STORAGE_TYPE), column(ref, P.HR_STORAGE_ALLOCATION_UNITS)
    sizes, used = column(ref, P.HR_STORAGE_SIZE), column(ref, P.HR_STORAGE_USED)
    descriptions = {i: text(v) for i, v in column(ref, P.HR_STORAGE_DESCR).items()}
    # A row without its size, use or unit (an Isilon's "Cached memory") says nothing.
    known = set(units) & set(sizes) & set(used)
    ram = [i for i, k in kinds.items() if k == "1.3.6.1.2.1.25.2.1.2" and i in known]
    if ram:
        # net-snmp counts the kernel's buffers and page cache as used RAM; free(1) does not.
        cache = [i for i, d in descriptions.items()
                 if d in ("Memory buffers", "Cached memory") and i in known]
        used_bytes = sum(int(used[i]) * int(units[i]) for i in ram) - sum(
            int(used[i]) * int(units[i]) for i in cache
        )
        return used_bytes / sum(int(sizes[i]) * int(units[i]) for i in ram)
    pool_used = column(ref, P.CISCO_MEMORY_POOL_USED).get("1")
    pool_free = column(ref, P.CISCO_MEMORY_POOL_FREE).get("1")
    if pool_used is None or pool_free is None:
        return None
    return int(pool_used) / (int(pool_used) + int(pool_free))


def expected_interfaces(ref: Mapping[str, Value]) -> dict[int, dict[str, Any]]:
    rows = {}
    for index, oper in column(ref, P.IF_OPER_STATUS).items():
        def at(oid: str, index: str = index) -> Value | None:
            return ref.get(f"{oid}.{index}")

        high_speed = at(P.IF_HIGH_SPEED)
        rows[int(index)] = {
            # A port with neither ifName nor ifDescr (a DrayTek's spare ones) still needs a
            # label: the probe names it after its ifIndex.
            "name": text(at(P.IF_NAME)) or text(at(P.IF_DESCR)) or f"if{index}",
            "oper_up": oper == 1,
            "admin_up": at(P.IF_ADMIN_STATUS) == 1,
            "alias": text(at(P.IF_ALIAS)) or None,
            "speed_bits_per_second": int(high_speed) * 1e6 if high_speed else at(P.IF_SPEED),
            # 64-bit counters where the agent has them (the recorded host has not).
            "in_bytes_total": at(P.IF_HC_IN_OCTETS) if P.IF_HC_IN_OCTETS + "." + index in ref
            else at(P.IF_IN_OCTETS),
            "out_bytes_total": at(P.IF_HC_OUT_OCTETS) if P.IF_HC_OUT_OCTETS + "." + index in ref
            else at(P.IF_OUT_OCTETS),
            "in_errors_total": at(P.IF_IN_ERRORS),
            "out_errors_total": at(P.IF_OUT_ERRORS),
        }
    return rows


def expected_ups(ref: Mapping[str, Value]) -> dict[str, Any]:
    if P.UPS_OUTPUT_SOURCE in ref:
        volts_in, volts_out = (first_row(ref, P.UPS_INPUT_VOLTAGE),
                               first_row(ref, P.UPS_OUTPUT_VOLTAGE))
        return {
            "on_battery": ref[P.UPS_OUTPUT_SOURCE] == 5,
            "battery_charge_ratio": int(ref[P.UPS_ESTIMATED_CHARGE_REMAINING]) / 100,
            "runtime_seconds": int(ref[P.UPS_ESTIMATED_MINUTES_REMAINING]) * 60,
            "input_voltage": volts_in, "output_voltage": volts_out,
        }
    return {
        "on_battery": ref[P.APC_BASIC_OUTPUT_STATUS] == 3,
        "battery_charge_ratio": int(ref[P.APC_ADV_BATTERY_CAPACITY]) / 100,
        "runtime_seconds": int(ref[P.APC_ADV_BATTERY_RUNTIME_REMAINING]) / 100,
        "input_voltage": ref[P.APC_ADV_INPUT_LINE_VOLTAGE],
        "output_voltage": ref[P.APC_ADV_OUTPUT_VOLTAGE],
    }


def expected_printer(ref: Mapping[str, Value]) -> dict[str, Any]:
    printers = [i for i, t in column(ref, P.HR_DEVICE_TYPE).items() if t == P.HR_DEVICE_PRINTER]
    device = printers[0]
    state = bytes(ref[f"{P.HR_PRINTER_DETECTED_ERROR_STATE}.{device}"])  # type: ignore[arg-type]
    bits = [(state[i // 8] >> (7 - i % 8)) & 1 if i // 8 < len(state) else 0
            for i in range(len(P.HR_PRINTER_ERRORS))]
    supplies = []
    for index, description in column(ref, P.PRT_MARKER_SUPPLIES_DESCR).items():
        level = int(ref[f"{P.PRT_MARKER_SUPPLIES_LEVEL}.{index}"])
        capacity = int(ref[f"{P.PRT_MARKER_SUPPLIES_MAX_CAPACITY}.{index}"])
        supplies.append((text(description), level / capacity if level >= 0 < capacity else None))
    return {
        "description": text(ref[f"{P.HR_DEVICE_DESCR}.{device}"]),
        "status": P.HR_PRINTER_STATUSES[int(ref[f"{P.HR_PRINTER_STATUS}.{device}"])],
        "device_status": P.HR_DEVICE_STATUSES[int(ref[f"{P.HR_DEVICE_STATUS}.{device}"])],
        "errors": [name for name, bit in zip(P.HR_PRINTER_ERRORS, bits, strict=True) if bit],
        "supplies": supplies,
        "page_count": first_row(ref, P.PRT_MARKER_LIFE_COUNT),
    }


def assert_between(actual: Any, before: Any, after: Any, what: str, tolerance: float = 0.0
                   ) -> None:
    """``actual`` was read between two reference reads: equal to a static value, and
    between the two readings of a growing counter."""
    if isinstance(before, int | float) and isinstance(after, int | float):
        assert actual is not None, what
        low, high = min(before, after) - tolerance, max(before, after) + tolerance
        assert low <= actual <= high, f"{what}: {actual} not within [{before}, {after}]"
    else:
        assert actual in (before, after), f"{what}: {actual!r}, net-snmp read {before!r}"


def assert_agrees(result: SnmpResult, before: Mapping[str, Value], after: Mapping[str, Value],
                  profile: str, tolerance: float = 0.0) -> list[str]:
    """Compare every reported value with net-snmp's two readings; name what was compared."""
    compared = []
    for name, value in expected_system(before, profile).items():
        assert_between(getattr(result, name), value, expected_system(after, profile)[name], name)
        compared.append(name)
    if profile in ("host", "switch", "router"):
        for name, expect in (("cpu_ratio", expected_cpu), ("memory_used_ratio", expected_memory)):
            # A live host's load and memory move a little between reads.
            assert_between(getattr(result, name), expect(before), expect(after), name, tolerance)
            compared.append(name)
        rows_before, rows_after = expected_interfaces(before), expected_interfaces(after)
        reported = {i.index: i for i in result.interfaces}
        # Interfaces may come and go on a live host (other tests add veth pairs).
        assert set(rows_before) & set(rows_after) <= set(reported) <= set(rows_before) | set(
            rows_after)
        for index in set(rows_before) & set(rows_after) & set(reported):
            for name, value in rows_before[index].items():
                assert_between(getattr(reported[index], name), value, rows_after[index][name],
                               f"interface {index} {name}")
        compared.append(f"interfaces({len(reported)})")
    if profile == "host":
        descriptions = {text(v) for v in column(before, P.HR_STORAGE_DESCR).values()}
        assert {s.description for s in result.storage} <= descriptions | {
            text(v) for v in column(after, P.HR_STORAGE_DESCR).values()}
        compared.append("storage")
    if profile == "ups":
        assert result.ups is not None
        for name, value in expected_ups(before).items():
            assert_between(getattr(result.ups, name), value, expected_ups(after)[name], name)
            compared.append(f"ups.{name}")
    if profile == "printer":
        assert result.printer is not None
        expected = expected_printer(before)
        reported_printer = result.printer.model_dump()
        reported_printer["supplies"] = [
            (s.description, s.level_ratio) for s in result.printer.supplies
        ]
        assert reported_printer == expected
        compared += [f"printer.{name}" for name in expected]
    return compared


# --- lab: the probe against real agents ---


@module_loop
@pytest.mark.servers
@pytest.mark.parametrize("auth", AUTHS)
@pytest.mark.parametrize("device", sorted(DEVICE_PROFILES))
async def test_probe_reads_what_netsnmp_reads_from_recorded_devices(
    snmpsim_agent: SnmpAgent, netsnmp_tools: Any, device: str, auth: str
) -> None:
    profile = DEVICE_PROFILES[device]
    reference = netsnmp_for(snmpsim_agent, auth, netsnmp_tools, device)
    before = reference.walk(REFERENCE_SUBTREES[profile])
    result = await snmp.probe(
        snmpsim_agent.target, probe_config(snmpsim_agent, auth, device, timeout_seconds=5),
        deadline_in(10),
    )
    after = reference.walk(REFERENCE_SUBTREES[profile])

    assert result.up, result.error
    assert result.profile == profile
    assert result.incomplete == []
    assert assert_agrees(result, before, after, profile)


@module_loop
@pytest.mark.servers
@pytest.mark.parametrize("auth", AUTHS)
async def test_probe_reads_what_netsnmp_reads_from_snmpd(
    snmpd_agent: SnmpAgent, netsnmp_tools: Any, auth: str
) -> None:
    reference = netsnmp_for(snmpd_agent, auth, netsnmp_tools)
    before = reference.walk(REFERENCE_SUBTREES["host"])
    result = await snmp.probe(
        snmpd_agent.target, probe_config(snmpd_agent, auth, timeout_seconds=5), deadline_in(10)
    )
    after = reference.walk(REFERENCE_SUBTREES["host"])

    assert result.up, result.error
    assert result.profile == "host"
    assert result.incomplete == []
    assert result.interfaces and result.storage and result.memory_used_ratio is not None
    assert_agrees(result, before, after, "host", tolerance=0.02)


@module_loop
@pytest.mark.servers
async def test_auto_picks_the_profile_of_every_recorded_device(
    snmpsim_agent: SnmpAgent, snmpd_agent: SnmpAgent
) -> None:
    devices = sorted(DEVICE_PROFILES)
    results = await asyncio.gather(
        *(snmp.probe(snmpsim_agent.target, probe_config(snmpsim_agent, "v2c", device),
                     deadline_in(5)) for device in devices),
        snmp.probe(snmpd_agent.target, probe_config(snmpd_agent, "v2c"), deadline_in(5)),
    )
    picked = {name: r.profile for name, r in zip([*devices, "snmpd"], results, strict=True)}
    assert picked == {**DEVICE_PROFILES, "snmpd": "host"}


@module_loop
@pytest.mark.servers
async def test_a_real_device_is_detected_in_its_first_round_only(
    snmpsim_agent: SnmpAgent, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[str] = []
    detect = snmp.detect_profile

    async def counted(client: Any, system: Mapping[str, Value]) -> Any:
        calls.append(str(system.get(P.SYS_OBJECT_ID)))
        return await detect(client, system)

    monkeypatch.setattr(snmp, "detect_profile", counted)
    monkeypatch.setattr(snmp, "DETECTED", snmp.DetectionCache())
    config = probe_config(snmpsim_agent, "v2c", "ups")
    for _ in range(3):
        result = await snmp.probe(snmpsim_agent.target, config, deadline_in(5))
        assert result.up and result.profile == "ups" and result.ups is not None
    assert len(calls) == 1
    # The same address with another community is another device to the cache.
    other = await snmp.probe(snmpsim_agent.target, probe_config(snmpsim_agent, "v2c", "switch"),
                             deadline_in(5))
    assert other.profile == "switch" and len(calls) == 2


@module_loop
@pytest.mark.servers
async def test_a_fixed_profile_is_read_as_asked(snmpsim_agent: SnmpAgent) -> None:
    result = await snmp.probe(
        snmpsim_agent.target,
        probe_config(snmpsim_agent, "v2c", "router", profile="switch", timeout_seconds=5),
        deadline_in(10),
    )
    assert result.up and result.profile == "switch"
    assert [i.name for i in result.interfaces] == ["Gi0/0/0", "Gi0/0/1", "Nu0"]


@module_loop
@pytest.mark.servers
async def test_two_agents_with_one_user_name_and_different_keys_both_answer(
    snmpsim_agent: SnmpAgent, snmpd_agent: SnmpAgent
) -> None:
    assert snmpsim_agent.users["sha-aes"].name == snmpd_agent.users["sha-aes"].name
    results = await asyncio.gather(*(
        snmp.probe(agent.target, probe_config(agent, "sha-aes", device), deadline_in(5))
        for agent, device in ((snmpd_agent, None), (snmpsim_agent, "switch")) * 3
    ))
    assert [r.up for r in results] == [True] * 6, [r.error for r in results]
    assert {r.sys_name for r in results[1::2]} == {"sw-ward26734-access"}


@module_loop
@pytest.mark.servers
async def test_probes_share_one_engine_which_discovers_an_agent_once(
    snmpsim_agent: SnmpAgent, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pysnmp.proto.secmod.rfc3414.service import SnmpUSMSecurityModel

    snmp_wire.close()  # the next probe builds a fresh engine that knows no agent yet
    discoveries = []
    generate = SnmpUSMSecurityModel.generate_request_message

    def counted(self: SnmpUSMSecurityModel, *args: Any, **kwargs: Any) -> Any:
        # USM sends a request for an engine ID it does not know as an RFC 3414 discovery.
        bound = inspect.signature(generate).bind(self, *args, **kwargs)
        if not bound.arguments["securityEngineID"]:
            discoveries.append(bound.arguments["securityName"])
        return generate(self, *args, **kwargs)

    monkeypatch.setattr(SnmpUSMSecurityModel, "generate_request_message", counted)
    engines = []
    for device in ("host", "ups"):
        for auth in ("v2c", "sha256-aes256"):
            config = probe_config(snmpsim_agent, auth, device)
            assert (await snmp.probe(snmpsim_agent.target, config, deadline_in(5))).up
            engines.append((await snmp_wire._pool()).main)
    assert len(set(map(id, engines))) == 1
    assert len(discoveries) == 1


# --- lab: failures are results, readable, distinct and on time ---

FAILURE_TIMEOUT = 1.5


@dataclass
class Timed:
    result: SnmpResult
    seconds: float
    budget: float = field(default=FAILURE_TIMEOUT)


async def timed_probe(target: str, config: SnmpConfig, deadline_seconds: float = 10.0) -> Timed:
    started = time.monotonic()
    result = await snmp.probe(target, config, deadline_in(deadline_seconds))
    return Timed(result, time.monotonic() - started,
                 min(config.timeout_seconds, deadline_seconds))


def wrong_key(agent: SnmpAgent, which: str, device: str | None = None) -> SnmpConfig:
    config = probe_config(agent, "sha-aes", device, timeout_seconds=FAILURE_TIMEOUT)
    return config.model_copy(update={which: Secret("definitely-not-the-key")})


FAILURE_MESSAGES = {
    "wrong community": r"^wrong community: the SNMP agent at 127\.0\.0\.1:\d+ is alive",
    "wrong auth key": r"^SNMPv3 authentication failed at .*wrong digest",
    "wrong priv key": r"^SNMPv3 request unanswered though the agent at .* is alive: wrong priv",
    "silent host": r"^no SNMP answer from 127\.0\.0\.1:\d+ in \d\.\d s \(host down",
}


async def failure(case: str, snmpd_agent: SnmpAgent, silent_port: int) -> Timed:
    if case == "wrong community":
        return await timed_probe(snmpd_agent.target, SnmpConfig(
            community=Secret("not-the-community"), timeout_seconds=FAILURE_TIMEOUT))
    if case == "wrong auth key":
        return await timed_probe(snmpd_agent.target, wrong_key(snmpd_agent, "auth_key"))
    if case == "wrong priv key":
        return await timed_probe(snmpd_agent.target, wrong_key(snmpd_agent, "priv_key"))
    return await timed_probe(f"127.0.0.1:{silent_port}", SnmpConfig(
        community=Secret("public"), timeout_seconds=FAILURE_TIMEOUT))


@module_loop
@pytest.mark.servers
@pytest.mark.parametrize("case", sorted(FAILURE_MESSAGES))
async def test_a_failure_is_a_result_with_its_own_readable_error_within_the_timeout(
    snmpd_agent: SnmpAgent, silent_snmp_port: int, case: str
) -> None:
    timed = await failure(case, snmpd_agent, silent_snmp_port)
    assert timed.result.up is False
    assert timed.result.error is not None
    for other, pattern in FAILURE_MESSAGES.items():
        matches = re.search(pattern, timed.result.error) is not None
        assert matches == (other == case), (other, timed.result.error)
    assert timed.seconds <= timed.budget + SLACK_SECONDS, timed.seconds
    assert "definitely-not-the-key" not in timed.result.model_dump_json()
    assert "not-the-community" not in timed.result.model_dump_json()


@module_loop
@pytest.mark.servers
@pytest.mark.parametrize("auth", ["v2c", "sha-aes"])
async def test_recorded_devices_report_wrong_credentials_too(
    snmpsim_agent: SnmpAgent, auth: str
) -> None:
    config = (
        SnmpConfig(community=Secret("no-such-device"), timeout_seconds=FAILURE_TIMEOUT)
        if auth == "v2c" else wrong_key(snmpsim_agent, "auth_key", "switch")
    )
    timed = await timed_probe(snmpsim_agent.target, config)
    assert timed.result.up is False
    pattern = FAILURE_MESSAGES["wrong community" if auth == "v2c" else "wrong auth key"]
    assert re.search(pattern, timed.result.error or ""), timed.result.error
    assert timed.seconds <= FAILURE_TIMEOUT + SLACK_SECONDS


@module_loop
@pytest.mark.servers
async def test_a_deadline_sooner_than_the_timeout_wins(silent_snmp_port: int) -> None:
    config = SnmpConfig(community=Secret("public"), timeout_seconds=5)
    timed = await timed_probe(f"127.0.0.1:{silent_snmp_port}", config, deadline_seconds=0.6)
    assert timed.result.up is False
    assert timed.seconds <= 0.6 + SLACK_SECONDS


@module_loop
@pytest.mark.servers
async def test_an_unknown_v3_user_is_named(snmpd_agent: SnmpAgent) -> None:
    config = probe_config(snmpd_agent, "sha-aes").model_copy(update={"user": "nobody-here"})
    timed = await timed_probe(snmpd_agent.target, config)
    assert timed.result.error == (
        f"SNMPv3 user 'nobody-here' is unknown to the agent at {snmpd_agent.target}"
    )


def test_a_probe_leaves_no_socket_open(silent_snmp_port: int) -> None:
    def open_files() -> int:
        return len(list(Path("/proc/self/fd").iterdir()))

    async def one_probe() -> None:
        config = SnmpConfig(community=Secret("x"), timeout_seconds=0.3)
        await snmp.probe(f"127.0.0.1:{silent_snmp_port}", config, deadline_in(1))

    before = open_files()
    asyncio.run(one_probe())
    # A socket left open would also show here as an unclosed-socket warning (an error).
    gc.collect()
    assert open_files() == before


# --- what pysnmp gets wrong: an answer with one value outside its type is lost ---


def tlv(tag: int, content: bytes) -> bytes:
    size = len(content)
    length = bytes([size]) if size < 0x80 else bytes([0x82]) + size.to_bytes(2, "big")
    return bytes([tag]) + length + content


class OutOfRangeAgent(asyncio.DatagramProtocol):
    """Answers every SNMPv2c request, each varbind with TimeTicks -1 (``43 01 ff``), as a
    broken device would encode 2**32 - 1; what is not v2c (v3 discovery) goes unanswered."""

    answers = 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport: Any = transport

    def datagram_received(self, data: bytes, addr: Any) -> None:
        from pyasn1.codec.ber import decoder, encoder
        from pyasn1.error import PyAsn1Error
        from pysnmp.proto import api

        try:
            message, _ = decoder.decode(data, asn1Spec=api.v2c.Message())
        except PyAsn1Error:
            return
        pdu = api.v2c.apiMessage.get_pdu(message)
        varbinds = b"".join(
            tlv(0x30, encoder.encode(oid) + b"\x43\x01\xff")
            for oid, _ in api.v2c.apiPDU.get_varbinds(pdu)
        )
        request_id = int(api.v2c.apiPDU.get_request_id(pdu)).to_bytes(4, "big", signed=True)
        answer = tlv(0xA2, tlv(0x02, request_id) + b"\x02\x01\x00\x02\x01\x00"
                     + tlv(0x30, varbinds))
        community = bytes(api.v2c.apiMessage.get_community(message))
        self.transport.sendto(tlv(0x30, b"\x02\x01\x01" + tlv(0x04, community) + answer), addr)
        self.answers += 1


@pytest.fixture
async def out_of_range_agent() -> Any:
    """The agent on a free port of 127.0.0.1, in the test's own event loop."""
    transport, agent = await asyncio.get_running_loop().create_datagram_endpoint(
        OutOfRangeAgent, local_addr=("127.0.0.1", 0))
    agent.target = f"127.0.0.1:{transport.get_extra_info('sockname')[1]}"
    try:
        yield agent
    finally:
        transport.close()


async def test_pysnmp_drops_an_answer_holding_a_negative_timeticks(
    out_of_range_agent: Any
) -> None:
    # pysnmp's own view: the agent answered at once, yet the request times out.
    from pysnmp.hlapi.v3arch.asyncio import (
        CommunityData,
        ContextData,
        ObjectIdentity,
        ObjectType,
        UdpTransportTarget,
        get_cmd,
    )

    host, port = snmp.parse_target(out_of_range_agent.target)
    engine = (await snmp_wire._pool()).main
    error, _status, _index, varbinds = await get_cmd(
        engine, CommunityData("public"), await UdpTransportTarget.create(
            (host, port), timeout=0.3, retries=0),
        ContextData(), ObjectType(ObjectIdentity(P.SYS_UPTIME)), lookupMib=False,
    )
    assert out_of_range_agent.answers == 1
    assert type(error).__name__ == "RequestTimedOut" and not varbinds


async def test_an_answer_pysnmp_cannot_decode_is_a_failed_reading_at_once(
    out_of_range_agent: Any
) -> None:
    config = SnmpConfig(community=Secret("public"), profile="host", timeout_seconds=4)
    timed = await timed_probe(out_of_range_agent.target, config)

    assert timed.result.up, timed.result.error
    assert timed.result.uptime_seconds is None
    assert timed.result.incomplete
    assert all("could not decode the answer" in problem for problem in timed.result.incomplete)
    assert timed.seconds < 1.0  # not the timeout the lost answers would have cost


# --- no agent: the logic over recorded varbinds ---


def recorded_value(tag: str, raw: str) -> Value:
    tag, _, variation = tag.partition(":")
    if variation == "numeric":  # a growing value reads as its initial value here
        settings = dict(item.split("=") for item in raw.split(","))
        return int(float(settings.get("initial", "0")))
    if tag in ("2", "65", "66", "67", "70"):
        return int(raw)
    if tag == "4x":
        return bytes.fromhex(raw)
    if tag == "4":
        return raw.encode()
    return raw  # 6 (OID), 64 (IpAddress)


def load_snmprec(path: Path) -> dict[str, Value]:
    records = {}
    for line in path.read_text().splitlines():
        oid, tag, raw = line.split("|", 2)
        if tag == "5":
            # An object the agent answers with NULL holds no value: the wire client
            # leaves it out too (snmp_wire.plain_value).
            continue
        records[oid] = recorded_value(tag, raw)
    return records


def oid_key(oid: str) -> tuple[int, ...]:
    return tuple(int(x) for x in oid.split("."))


@dataclass
class RecordedAgent:
    """An in-memory SnmpClient over recorded varbinds; it logs what it was asked."""

    records: dict[str, Value]
    asked: list[tuple[str, tuple[str, ...]]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.order = sorted(self.records, key=oid_key)

    async def get(self, oids: Sequence[str]) -> dict[str, Value]:
        self.asked.append(("get", tuple(oids)))
        return {oid: self.records[oid] for oid in oids if oid in self.records}

    async def get_next(self, oids: Sequence[str]) -> dict[str, tuple[str, Value]]:
        self.asked.append(("get_next", tuple(oids)))
        following = {}
        for oid in oids:
            later = [o for o in self.order if oid_key(o) > oid_key(oid)]
            if later:
                following[oid] = (later[0], self.records[later[0]])
        return following

    async def walk(self, column: str) -> dict[str, Value]:
        self.asked.append(("walk", (column,)))
        prefix = column + "."
        return {o.removeprefix(prefix): self.records[o] for o in self.order
                if o.startswith(prefix)}


def recorded(device: str) -> RecordedAgent:
    return RecordedAgent(load_snmprec(SNMPREC_DIR / f"{device}.snmprec"))


async def collected(agent: RecordedAgent, profile: snmp.ProfileSetting = "auto"
                    ) -> dict[str, Any]:
    return (await snmp.collect(agent, profile, snmp.Collected())).fields()


def test_recordings_are_sorted_and_unique() -> None:
    # snmpsim answers GETNEXT from its index in file order.
    for path in SNMPREC_DIR.glob("*.snmprec"):
        oids = [line.split("|", 1)[0] for line in path.read_text().splitlines()]
        assert oids == sorted(set(oids), key=oid_key), path.name


@pytest.mark.parametrize(("device", "profile"), sorted(DEVICE_PROFILES.items()))
async def test_auto_detection_from_recorded_varbinds(device: str, profile: str) -> None:
    assert (await collected(recorded(device)))["profile"] == profile


async def test_host_from_recorded_varbinds() -> None:
    fields = await collected(recorded("host"))
    assert fields["sys_name"] == "ward-fs01"
    assert fields["uptime_seconds"] == 17300.0  # hrSystemUptime, not the agent's sysUpTime
    assert fields["cpu_ratio"] == pytest.approx((12 + 30 + 7 + 51) / 4 / 100)
    # Physical memory used, less buffers and page cache, over its size.
    assert fields["memory_used_ratio"] == pytest.approx(
        (14102360 - 412680 - 9215340) / 16311512)
    data = next(s for s in fields["storage"] if s.description == "/srv/ho-so")
    assert (data.kind, data.size_bytes, data.used_bytes) == (
        "fixed_disk", 488378000 * 4096, 401120333 * 4096)
    assert [i.name for i in fields["interfaces"]] == ["lo", "eno1"]


async def test_switch_from_recorded_varbinds() -> None:
    fields = await collected(recorded("switch"))
    ports = {i.name: i for i in fields["interfaces"]}
    assert list(ports) == ["Vl1", "Gi1/0/1", "Gi1/0/2", "Gi1/0/3", "Gi1/0/4"]
    assert [name for name, port in ports.items() if not port.oper_up] == ["Gi1/0/3"]
    assert ports["Gi1/0/1"].in_bytes_total == 987654321000  # ifHCInOctets, not ifInOctets
    assert ports["Gi1/0/1"].alias == "uplink to router Gi0/0/1"
    assert ports["Gi1/0/2"].speed_bits_per_second == 100e6
    assert (ports["Gi1/0/2"].in_errors_total, ports["Gi1/0/2"].out_errors_total) == (1520, 310)
    assert fields["cpu_ratio"] == pytest.approx(0.09)
    assert fields["memory_used_ratio"] == pytest.approx(41234567 / (41234567 + 123456789))


async def test_ups_on_battery_from_recorded_varbinds() -> None:
    ups = (await collected(recorded("ups")))["ups"]
    assert ups.model_dump() == {
        "on_battery": True, "output_source": "battery", "battery_status": "normal",
        "battery_charge_ratio": 0.64, "runtime_seconds": 23 * 60.0, "input_voltage": 0.0,
        "output_voltage": 230.0, "self_test": None, "mib": "ups-mib",
    }


async def test_apc_ups_from_recorded_varbinds() -> None:
    ups = (await collected(recorded("ups-apc")))["ups"]
    assert ups.model_dump() == {
        "on_battery": False, "output_source": "normal", "battery_status": "normal",
        "battery_charge_ratio": 1.0, "runtime_seconds": 2940.0, "input_voltage": 229.0,
        "output_voltage": 230.0, "self_test": None, "mib": "apc-powernet",
    }


async def test_printer_from_recorded_varbinds() -> None:
    printer = (await collected(recorded("printer")))["printer"]
    assert printer.model_dump() == {
        "description": "HP LaserJet Pro M404dn", "status": "idle", "device_status": "warning",
        "errors": ["low_toner"],
        "supplies": [
            {"description": "Black Cartridge HP CF259A", "kind": None, "level_ratio": 0.08},
            # -3: "some remaining"
            {"description": "Imaging Drum", "kind": None, "level_ratio": None},
        ],
        "page_count": 18342,
    }


async def test_a_fixed_profile_skips_detection() -> None:
    agent = recorded("switch")
    await collected(agent, "switch")
    assert not any(kind == "get_next" for kind, _ in agent.asked)


def detections(agent: RecordedAgent) -> int:
    return sum(1 for kind, _ in agent.asked if kind == "get_next")


async def test_auto_detects_a_device_once_and_then_reads_its_profile_straight_away() -> None:
    cache = snmp.DetectionCache()
    agent = recorded("ups")
    first = await snmp.collect(agent, "auto", snmp.Collected(), "ups-at-1", cache)
    second = await snmp.collect(agent, "auto", snmp.Collected(), "ups-at-1", cache)
    assert first.profile == second.profile == "ups"
    assert detections(agent) == 1
    # Another device (another key) is detected on its own.
    switch = recorded("switch")
    assert (await snmp.collect(switch, "auto", snmp.Collected(), "sw", cache)).profile == "switch"
    assert detections(switch) == 1 and len(cache) == 2


async def test_a_device_is_detected_again_when_it_changes_restarts_or_the_entry_ages() -> None:
    now = [1000.0]
    cache = snmp.DetectionCache(max_age_seconds=3600.0, clock=lambda: now[0])
    agent = recorded("ups")
    uptime = agent.records[P.SYS_UPTIME]
    assert isinstance(uptime, int)

    async def read() -> str | None:
        return (await snmp.collect(agent, "auto", snmp.Collected(), "d", cache)).profile

    await read()
    agent.records[P.SYS_UPTIME] = uptime + 100  # time goes on: still the same device
    await read()
    assert detections(agent) == 1
    agent.records[P.SYS_UPTIME] = 5  # restarted (new firmware may answer other MIBs)
    await read()
    assert detections(agent) == 2
    now[0] += 3601  # the entry is too old
    await read()
    assert detections(agent) == 3
    # Another device answers at that address: a switch's identity, detected afresh.
    agent.records = {**recorded("switch").records}
    agent.order = sorted(agent.records, key=oid_key)
    assert await read() == "switch"
    assert detections(agent) == 4


async def test_the_detection_cache_keeps_at_most_its_limit_oldest_out_first() -> None:
    cache = snmp.DetectionCache(max_entries=3)
    agent = recorded("switch")
    for n in range(10):
        await snmp.collect(agent, "auto", snmp.Collected(), f"device {n}", cache)
    assert len(cache) == 3
    system = {P.SYS_OBJECT_ID: agent.records[P.SYS_OBJECT_ID]}
    assert cache.get("device 9", system) == "switch"
    assert cache.get("device 0", system) is None


async def test_a_device_without_a_system_group_is_remembered_one_whose_answer_broke_is_not(
) -> None:
    cache = snmp.DetectionCache()
    agent = recorded("ups")
    for oid in P.SYSTEM_SCALARS:
        agent.records.pop(oid, None)
    agent.order = sorted(agent.records, key=oid_key)
    for _ in range(2):
        assert (await snmp.collect(agent, "auto", snmp.Collected(), "d", cache)).profile == "ups"
    assert detections(agent) == 1

    class Undecodable(RecordedAgent):
        async def get(self, oids: Sequence[str]) -> dict[str, Value]:
            if tuple(oids) == P.SYSTEM_SCALARS:
                raise snmp.SnmpRequestError(snmp.UNDECODABLE, "cannot decode")
            return await super().get(oids)

    broken = Undecodable(recorded("ups").records)
    for _ in range(2):
        await snmp.collect(broken, "auto", snmp.Collected(), "b", cache)
    assert detections(broken) == 2


@pytest.mark.parametrize(("value", "words"), [
    (0, "never_run"), (1, "passed"), (2, "in_progress"), (3, "failed"),
    (4, "battery_failed"), (5, "deep_battery_failed")])
def test_delta_self_test_results_in_the_mib_s_own_order(value: int, words: str) -> None:
    # DeltaUPS-MIB dupsTestResultsSummary: noTestsInitiated(0), donePass(1), inProgress(2),
    # generalTestFail(3), batteryTestFail(4), deepBatteryTestFail(5).
    scalars: dict[str, Value] = {P.DELTA_OUTPUT_SOURCE: 0,
                                 "1.3.6.1.4.1.2254.2.4.8.2.0": value}
    ups = snmp.parse_ups(scalars, {}, [])
    assert ups is not None and ups.mib == "delta" and ups.self_test == words


async def test_interfaces_without_64_bit_counters_fall_back_to_32_bit() -> None:
    records = {k: v for k, v in recorded("router").records.items()
               if not k.startswith(IF_X_TABLE + ".")}
    agent = RecordedAgent(records)
    interfaces = (await collected(agent, "router"))["interfaces"]
    assert [(i.name, i.in_bytes_total) for i in interfaces] == [
        ("GigabitEthernet0/0/0", 1000000000), ("GigabitEthernet0/0/1", 600000000),
        ("Null0", 0),
    ]
    assert ("walk", (P.IF_IN_OCTETS,)) in agent.asked


async def test_a_column_that_cannot_be_read_is_named_and_the_rest_is_kept() -> None:
    class LosesOneColumn(RecordedAgent):
        async def walk(self, column: str) -> dict[str, Value]:
            if column == P.IF_HC_IN_OCTETS:
                raise snmp.SnmpRequestError("RequestTimedOut", "no answer")
            return await super().walk(column)

    fields = await collected(LosesOneColumn(recorded("switch").records))
    assert fields["incomplete"] == [f"{P.IF_HC_IN_OCTETS}: no answer"]
    assert len(fields["interfaces"]) == 5 and fields["cpu_ratio"] == pytest.approx(0.09)


def first_interface(result: SnmpResult) -> snmp.Interface:
    return result.interfaces[0]


@pytest.mark.parametrize(("device", "oid", "value", "field"), [
    ("switch", P.SYS_UPTIME, -1, lambda r: r.uptime_seconds),
    ("host", P.HR_SYSTEM_UPTIME, -360000, lambda r: r.uptime_seconds),
    ("router", P.IF_SPEED, -100000000, lambda r: first_interface(r).speed_bits_per_second),
    ("switch", P.IF_HC_IN_OCTETS, -1, lambda r: first_interface(r).in_bytes_total),
    ("switch", P.IF_HC_OUT_OCTETS, 2**64, lambda r: first_interface(r).out_bytes_total),
    ("switch", P.IF_IN_ERRORS, 10**400, lambda r: first_interface(r).in_errors_total),
    ("ups", P.UPS_ESTIMATED_MINUTES_REMAINING, -3, lambda r: r.ups.runtime_seconds),
    ("ups-apc", P.APC_ADV_BATTERY_RUNTIME_REMAINING, -1, lambda r: r.ups.runtime_seconds),
    ("printer", P.PRT_MARKER_LIFE_COUNT, -7, lambda r: r.printer.page_count),
])
async def test_out_of_range_device_data_is_a_failed_reading_of_that_field(
    device: str, oid: str, value: int, field: Any
) -> None:
    agent = recorded(device)
    if oid == P.IF_SPEED:  # the router's ifHighSpeed would stand in for its ifSpeed
        agent = RecordedAgent({k: v for k, v in agent.records.items()
                               if not k.startswith(P.IF_HIGH_SPEED + ".")})
    key = oid if oid in agent.records else min(
        (k for k in agent.records if k.startswith(oid + ".")), key=oid_key)
    agent.records[key] = value

    result = SnmpResult(up=True, target="t", version="2c", **await collected(agent))

    assert field(result) is None
    (problem,) = result.incomplete
    assert problem.startswith(f"{key}: ") and " is outside " in problem
    assert len(problem) < 200  # a huge number is described, not printed


@pytest.mark.parametrize(("state", "errors"), [
    (b"", []),
    (b"\x00\x00", []),
    (b"\x20\x00", ["low_toner"]),
    (b"\xc0", ["low_paper", "no_paper"]),
    (b"\x00\x80", ["input_tray_missing"]),
    (b"\x00\x02", ["overdue_prevent_maint"]),
    (b"\x00\x01", []),  # bit 15 is not defined
    (7, []),
])
def test_printer_error_bits(state: Value, errors: list[str]) -> None:
    assert snmp.printer_errors(state) == errors


@pytest.mark.parametrize(("sys_object_id", "present", "forwarding", "profile"), [
    ("1.3.6.1.4.1.705.1", {P.RFC1628.subtree}, 2, "ups"),
    ("1.3.6.1.4.1.318.1.3.27", {P.APC_UPS}, None, "ups"),
    ("1.3.6.1.4.1.534.1", {P.XUPS.subtree}, None, "ups"),
    ("1.3.6.1.4.1.8072.3.2.10", {P.RFC1628.subtree, P.HR_STORAGE_TABLE}, 2, "ups"),
    ("1.3.6.1.4.1.11.2.3.9.1", {P.PRT_MIB, P.HR_STORAGE_TABLE}, 2, "printer"),
    ("1.3.6.1.4.1.2435.2.3.9.1", {P.HR_PRINTER_TABLE, P.HR_STORAGE_TABLE}, 2, "printer"),
    ("1.3.6.1.4.1.8072.3.2.10", {P.HR_PRINTER_TABLE, P.HR_STORAGE_TABLE}, 2, "host"),
    ("1.3.6.1.4.1.8072.3.2.10", {P.HR_STORAGE_TABLE}, 1, "host"),  # a Linux box forwarding
    ("1.3.6.1.4.1.311.1.1.3.1.2", set(), None, "host"),
    ("1.3.6.1.4.1.9.1.1707", set(), 1, "router"),
    ("1.3.6.1.4.1.14988.1", {P.HR_STORAGE_TABLE}, 1, "router"),
    ("1.3.6.1.4.1.9.1.1208", {P.DOT1D_BASE}, 2, "switch"),
    ("1.3.6.1.4.1.2011.2.23.276", {P.DOT1D_BASE}, 1, "switch"),  # a layer-3 switch
    ("1.3.6.1.4.1.99999.1", {P.HR_STORAGE_TABLE}, 2, "host"),
    ("1.3.6.1.4.1.99999.1", set(), None, "switch"),
    (None, set(), None, "switch"),
])
def test_choose_profile(sys_object_id: str | None, present: set[str], forwarding: int | None,
                        profile: str) -> None:
    assert P.choose_profile(sys_object_id, frozenset(present), forwarding) == profile


@pytest.mark.parametrize(("columns", "expected"), [
    ({P.IF_OPER_STATUS: {"3": 1}, P.IF_DESCR: {"3": b"eth0"}}, ("eth0", True, None)),
    ({P.IF_OPER_STATUS: {"3": 7}, P.IF_NAME: {"3": b""}, P.IF_DESCR: {"3": b"wan\x00\x00"}},
     ("wan", False, None)),
    ({P.IF_OPER_STATUS: {"3": 2}}, ("if3", False, None)),
    ({P.IF_OPER_STATUS: {"3": 1}, P.IF_SPEED: {"3": 4294967295}, P.IF_HIGH_SPEED: {"3": 10000}},
     ("if3", True, 10e9)),
    ({P.IF_OPER_STATUS: {"3": 1}, P.IF_SPEED: {"3": 100000000}, P.IF_HIGH_SPEED: {"3": 0}},
     ("if3", True, 100e6)),
])
def test_parse_interfaces(columns: dict[str, dict[str, Value]],
                          expected: tuple[str, bool, float | None]) -> None:
    (interface,) = snmp.parse_interfaces(columns, [])
    assert (interface.name, interface.oper_up, interface.speed_bits_per_second) == expected


def test_storage_with_a_wrapped_size_is_left_out() -> None:
    columns: dict[str, dict[str, Value]] = {
        P.HR_STORAGE_DESCR: {"1": b"/big", "2": b"/ok"},
        P.HR_STORAGE_ALLOCATION_UNITS: {"1": 4096, "2": 4096},
        P.HR_STORAGE_SIZE: {"1": -1294967296, "2": 100},
        P.HR_STORAGE_USED: {"1": 5, "2": 25},
    }
    assert [(s.description, s.used_ratio) for s in snmp.parse_storage(columns)] == [("/ok", 0.25)]


@pytest.mark.parametrize(("columns", "ratio"), [
    ({P.CISCO_MEMORY_POOL_NAME: {"1": b"Processor", "2": b"I/O"},
      P.CISCO_MEMORY_POOL_USED: {"1": 30, "2": 90}, P.CISCO_MEMORY_POOL_FREE: {"1": 70, "2": 10}},
     0.3),
    ({P.CISCO_MEMORY_POOL_NAME: {"1": b"main", "2": b"I/O"},
      P.CISCO_MEMORY_POOL_USED: {"1": 30, "2": 90}, P.CISCO_MEMORY_POOL_FREE: {"1": 70, "2": 10}},
     0.6),
    ({P.CISCO_MEMORY_POOL_NAME: {"1": b"Processor"}, P.CISCO_MEMORY_POOL_USED: {"1": 30}}, None),
    ({}, None),
])
def test_cisco_memory(columns: dict[str, dict[str, Value]], ratio: float | None) -> None:
    assert snmp.memory_used_ratio([], columns) == (pytest.approx(ratio) if ratio else None)


def test_ups_mib_wins_over_apc_when_both_answer() -> None:
    scalars: dict[str, Value] = {
        P.UPS_OUTPUT_SOURCE: 3, P.UPS_ESTIMATED_CHARGE_REMAINING: 90,
        P.APC_BASIC_OUTPUT_STATUS: 3, P.APC_ADV_BATTERY_CAPACITY: 10,
    }
    ups = snmp.parse_ups(scalars, {}, [])
    assert ups is not None
    assert (ups.mib, ups.on_battery, ups.battery_charge_ratio) == ("ups-mib", False, 0.9)
    assert snmp.parse_ups({}, {}, []) is None


def test_a_ups_mib_runtime_of_zero_minutes_is_no_runtime_and_says_why() -> None:
    # upsEstimatedMinutesRemaining is a PositiveInteger: cards send 0 when they cannot
    # estimate, and a healthy UPS on mains must not read as "0 s left".
    problems: list[str] = []
    ups = snmp.parse_ups({P.UPS_OUTPUT_SOURCE: 3, P.UPS_ESTIMATED_MINUTES_REMAINING: 0},
                         {}, problems)
    assert ups is not None and ups.runtime_seconds is None
    assert problems == [f"{P.UPS_ESTIMATED_MINUTES_REMAINING}: 0 is outside 1..2147483647"]


@pytest.mark.parametrize(("scalars", "charge", "volts"), [
    # An AP9619 card: only the high-precision objects, in tenths.
    ({P.APC_HIGH_PREC_BATTERY_CAPACITY: 995, P.APC_HIGH_PREC_INPUT_LINE_VOLTAGE: 2231},
     0.995, 223.1),
    # An older card: only the whole-number ones.
    ({P.APC_ADV_BATTERY_CAPACITY: 99, P.APC_ADV_INPUT_LINE_VOLTAGE: 223}, 0.99, 223),
    # Both: the high-precision one wins.
    ({P.APC_HIGH_PREC_BATTERY_CAPACITY: 995, P.APC_ADV_BATTERY_CAPACITY: 99}, 0.995, None),
])
def test_apc_reads_high_precision_objects_and_falls_back_to_whole_numbers(
    scalars: dict[str, Value], charge: float, volts: float | None
) -> None:
    ups = snmp.parse_ups({P.APC_BASIC_OUTPUT_STATUS: 2, **scalars}, {}, [])
    assert ups is not None and ups.mib == "apc-powernet"
    assert (ups.battery_charge_ratio, ups.input_voltage) == (charge, volts)


def test_a_broken_high_precision_value_is_not_replaced_by_the_whole_number_one() -> None:
    problems: list[str] = []
    ups = snmp.parse_ups({P.APC_BASIC_OUTPUT_STATUS: 2, P.APC_HIGH_PREC_BATTERY_CAPACITY: -5,
                          P.APC_ADV_BATTERY_CAPACITY: 99}, {}, problems)
    assert ups is not None and ups.battery_charge_ratio is None
    assert problems == [f"{P.APC_HIGH_PREC_BATTERY_CAPACITY}: -5 is outside 0..4294967295"]


@pytest.mark.parametrize(("target", "address"), [
    ("10.0.0.1", ("10.0.0.1", 161)),
    ("sw1.ward.example:1161", ("sw1.ward.example", 1161)),
    ("[2001:db8::1]:1161", ("2001:db8::1", 1161)),
    ("[2001:db8::1]", ("2001:db8::1", 161)),
    ("2001:db8::1", ("2001:db8::1", 161)),
])
def test_parse_target(target: str, address: tuple[str, int]) -> None:
    assert snmp.parse_target(target) == address


@pytest.mark.parametrize("target", ["", "host:0", "host:70000", "host:x", "[::1]:x"])
def test_bad_targets_are_refused(target: str) -> None:
    with pytest.raises(ValueError):
        snmp.parse_target(target)


@pytest.mark.parametrize(("options", "message"), [
    ({}, "a community for SNMPv2c"),
    ({"version": "3", "user": "u"}, "auth_protocol, auth_key, priv_protocol, priv_key for"),
    ({"version": "3", "user": "u", "auth_protocol": "sha", "auth_key": "short",
      "priv_protocol": "aes", "priv_key": "long-enough"}, "an auth_key of at least 8"),
    ({"community": "c", "retries": 9}, "less than or equal to 5"),
    ({"community": "c", "unknown": 1}, "Extra inputs are not permitted"),
])
def test_invalid_configs_are_refused(options: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        SnmpConfig(**options)


def test_secrets_in_a_config_never_print() -> None:
    # As loaded from a file: plain text becomes Secret.
    config = SnmpConfig.model_validate({
        "version": "3", "user": "u", "auth_protocol": "sha", "auth_key": "auth-secret-1",
        "priv_protocol": "aes", "priv_key": "priv-secret-1",
    })
    shown = repr(config) + str(config) + config.model_dump_json()
    assert "secret-1" not in shown and "<secret>" in shown
