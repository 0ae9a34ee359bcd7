"""SNMP agents on loopback: Debian's net-snmp snmpd and snmpsim with the recorded devices.

Registered in tests/conftest.py through ``pytest_plugins``. Each agent listens on a
free UDP port of 127.0.0.1, is polled (bounded) until it answers before a test gets
it, and is stopped at the end of the session whether the tests passed or failed.
"""

from __future__ import annotations

import os
import secrets
import socket
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import pytest

from tests.lab.require import require_binary, unavailable
from tests.lab.servers import spawn, stop_process

SNMPREC_DIR = Path(__file__).resolve().parent / "snmprec"
# Recordings of real equipment from LibreNMS (GPL-3.0; see the README beside them).
CORPUS_DIR = SNMPREC_DIR / "librenms"
# Recordings of real equipment shipped with snmpsim itself, and in the snmpsim-data
# package (both BSD-2-Clause; README beside each).
SNMPSIM_CORPUS_DIR = SNMPREC_DIR / "snmpsim"
SNMPSIM_DATA_CORPUS_DIR = SNMPREC_DIR / "snmpsim-data"
# Recordings made from the snmpwalk output that Network UPS Tools keeps in its driver
# sources (GPL-2.0-or-later; README beside them).
NUT_CORPUS_DIR = SNMPREC_DIR / "nut"
CORPUS_DIRS = (CORPUS_DIR, SNMPSIM_CORPUS_DIR, SNMPSIM_DATA_CORPUS_DIR, NUT_CORPUS_DIR)
HOST = "127.0.0.1"
STARTUP_SECONDS = 20.0


@dataclass(frozen=True)
class V3User:
    """An SNMPv3 authPriv user, in the probe's words and in net-snmp's."""

    name: str
    auth_protocol: Literal["sha", "sha256"]
    auth_key: str
    priv_protocol: Literal["aes", "aes256"]
    priv_key: str

    def netsnmp_args(self, context: str | None = None) -> list[str]:
        """Options for snmpget/snmpwalk."""
        auth = {"sha": "SHA", "sha256": "SHA-256"}[self.auth_protocol]
        priv = {"aes": "AES", "aes256": "AES-256"}[self.priv_protocol]
        args = ["-v3", "-l", "authPriv", "-u", self.name, "-a", auth, "-A", self.auth_key,
                "-x", priv, "-X", self.priv_key]
        return [*args, "-n", context] if context else args


@dataclass(frozen=True)
class SnmpAgent:
    """An agent answering on ``HOST:port``: its v2c community and v3 users."""

    port: int
    users: dict[str, V3User]
    # snmpd: the one community. snmpsim: none; each device's community is its name.
    community: str | None = None
    # snmpsim: the recorded devices (data file names), each also a v3 context name.
    devices: tuple[str, ...] = ()

    @property
    def target(self) -> str:
        return f"{HOST}:{self.port}"


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def _ber(tag: int, payload: bytes) -> bytes:
    assert len(payload) < 128  # short-form lengths are enough for one small request
    return bytes([tag, len(payload)]) + payload


def v2c_get_sysuptime(community: str) -> bytes:
    """An SNMPv2c GetRequest for sysUpTime.0, encoded by hand so polling needs no library."""
    sys_uptime = bytes([0x2B, 6, 1, 2, 1, 1, 3, 0])  # 1.3.6.1.2.1.1.3.0
    varbind = _ber(0x30, _ber(0x06, sys_uptime) + b"\x05\x00")
    pdu = _ber(0xA0, _ber(0x02, b"\x01") + _ber(0x02, b"\x00") + _ber(0x02, b"\x00")
               + _ber(0x30, varbind))
    return _ber(0x30, _ber(0x02, b"\x01") + _ber(0x04, community.encode()) + pdu)


def wait_until_answers(port: int, community: str, process_alive: Callable[[], bool],
                       timeout: float = STARTUP_SECONDS) -> None:
    """Send GETs every 0.2 s until one is answered, at most ``timeout`` seconds."""
    request = v2c_get_sysuptime(community)
    deadline = time.monotonic() + timeout
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(0.2)
        while time.monotonic() < deadline:
            if not process_alive():
                raise RuntimeError(f"the SNMP agent on port {port} exited while starting")
            s.sendto(request, (HOST, port))
            try:
                s.recvfrom(4096)
                return
            except TimeoutError:
                continue
    raise TimeoutError(f"no SNMP agent answered on {HOST}:{port} within {timeout:.0f} s")


def netsnmp_env(directory: Path) -> dict[str, str]:
    """The environment for net-snmp's programs, the agent and the command-line tools."""
    # No MIB loading (numeric OIDs only), and persistent state (engine boots, keys)
    # in the test's own directory rather than /var/lib/snmp.
    return {**os.environ, "MIBS": "", "SNMP_PERSISTENT_DIR": str(directory / "persist")}


@pytest.fixture(scope="session")
def snmpd_agent(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SnmpAgent]:
    """Debian's snmpd: community, an SHA/AES user and an SHA-256/AES-256 user."""
    snmpd = require_binary("snmpd")["snmpd"]
    directory = tmp_path_factory.mktemp("snmpd")
    agent = SnmpAgent(
        port=free_udp_port(),
        community=f"lab-{secrets.token_hex(4)}",
        users={
            "sha-aes": V3User("monitor", "sha", "lab-auth-123", "aes", "lab-priv-123"),
            "sha256-aes256": V3User(
                "monitor256", "sha256", "lab-auth-256", "aes256", "lab-priv-256"
            ),
        },
    )
    net_snmp_names = {"sha": "SHA", "sha256": "SHA-256", "aes": "AES", "aes256": "AES-256"}
    lines = [f"agentAddress udp:{HOST}:{agent.port}", f"rocommunity {agent.community} {HOST}"]
    for user in agent.users.values():
        lines += [
            f'createUser {user.name} {net_snmp_names[user.auth_protocol]} "{user.auth_key}" '
            f'{net_snmp_names[user.priv_protocol]} "{user.priv_key}"',
            f"rouser {user.name} priv",
        ]
    config = directory / "snmpd.conf"
    config.write_text("\n".join(lines) + "\n")
    # The address is in the config only: given on the command line as well, snmpd
    # exits with "Error opening specified endpoint" (NOTES-LIBRARIES.md).
    process = spawn(
        [snmpd, "-f", "-Lo", "-C", "-c", str(config), "-p", str(directory / "snmpd.pid")],
        directory / "snmpd.log", env=netsnmp_env(directory),
    )
    try:
        wait_until_answers(agent.port, agent.community or "", lambda: process.poll() is None)
        yield agent
    finally:
        stop_process(process, grace=5)


def _snmpsim(data_dirs: tuple[Path, ...], tmp_path_factory: pytest.TempPathFactory
             ) -> Iterator[SnmpAgent]:
    """snmpsim serving every ``*.snmprec`` of ``data_dirs``, by community or v3 context
    (the file name without its folder: names must be unique across the folders).

    Its v3 users share snmpd's user names with other keys, as two devices of one
    ward could, so probing both at once checks that the keys do not get mixed up.
    """
    responder = Path(sys.executable).parent / "snmpsim-command-responder"
    if not responder.exists():
        unavailable("snmpsim is not installed in this environment (pip install -e .[dev])")
    directory = tmp_path_factory.mktemp("snmpsim")
    devices = tuple(sorted(p.stem for d in data_dirs for p in d.glob("*.snmprec")))
    assert len(set(devices)) == len(devices), "two recordings share a name"
    agent = SnmpAgent(
        port=free_udp_port(),
        devices=devices,
        users={
            "sha-aes": V3User("monitor", "sha", "sim-auth-123", "aes", "sim-priv-123"),
            "sha256-aes256": V3User(
                "monitor256", "sha256", "sim-auth-256", "aes256", "sim-priv-256"
            ),
        },
    )
    sim_names = {"sha": "SHA", "sha256": "SHA256", "aes": "AES", "aes256": "AES256BLMT"}
    args = [
        str(responder), *(f"--data-dir={d}" for d in data_dirs),
        f"--cache-dir={directory / 'cache'}",
        f"--agent-udpv4-endpoint={HOST}:{agent.port}",
    ]
    for user in agent.users.values():
        args += [
            f"--v3-user={user.name}",
            f"--v3-auth-key={user.auth_key}", f"--v3-auth-proto={sim_names[user.auth_protocol]}",
            f"--v3-priv-key={user.priv_key}", f"--v3-priv-proto={sim_names[user.priv_protocol]}",
        ]
    # As root, snmpsim refuses to start unless told that it may.
    env = {**os.environ, "SNMPSIM_ALLOW_ROOT": "true"}
    process = spawn(args, directory / "snmpsim.log", env=env)
    try:
        wait_until_answers(agent.port, devices[0], lambda: process.poll() is None)
        yield agent
    finally:
        stop_process(process, grace=5)


@pytest.fixture(scope="session")
def snmpsim_agent(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SnmpAgent]:
    """snmpsim serving the lab's own recordings (tests/lab/snmprec/*.snmprec)."""
    yield from _snmpsim((SNMPREC_DIR,), tmp_path_factory)


@pytest.fixture(scope="session")
def snmpsim_corpus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SnmpAgent]:
    """One snmpsim serving the whole corpus of real devices (tests/lab/snmprec/librenms,
    snmpsim, snmpsim-data and nut)."""
    yield from _snmpsim(CORPUS_DIRS, tmp_path_factory)


@pytest.fixture
def silent_snmp_port() -> Iterator[int]:
    """A UDP port on 127.0.0.1 bound by the test that takes requests and never answers."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sink:
        sink.bind((HOST, 0))
        yield int(sink.getsockname()[1])


@pytest.fixture(scope="session")
def netsnmp_tools(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[dict[str, str], dict[str, str]]:
    """Paths of snmpget and snmpwalk, and the environment to run them in."""
    return (
        require_binary("snmpget", "snmpwalk"),
        netsnmp_env(tmp_path_factory.mktemp("netsnmp-client")),
    )
