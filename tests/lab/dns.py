"""A real resolver for the tests: dnsmasq on 127.0.0.1 with static answers only.

It never forwards (no upstream servers, no resolv.conf, no hosts file): names
under ``lab`` not listed are NXDOMAIN, anything else is REFUSED. Also here: a
UDP port that swallows queries, and one with nothing listening.
"""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import dns.exception
import dns.message
import dns.query

LOOPBACK = "127.0.0.1"
LOCAL_DOMAIN = "lab"
# The platforms' names as the lab resolver answers them; 10.77.0.0/16 and
# fd77::/16 exist only in the lab's own namespaces, never on a real network.
DEFAULT_RECORDS: Mapping[str, Sequence[str]] = {
    "platform.lab": ("10.77.0.10", "fd77::10"),
    "documents.lab": ("10.77.0.21", "10.77.0.22"),
}
START_ATTEMPTS = 5
READY_WITHIN_SECONDS = 5.0


@dataclass(frozen=True)
class LabResolver:
    address: str
    port: int
    records: Mapping[str, Sequence[str]]
    log_file: Path
    process: subprocess.Popen[bytes] = field(repr=False)

    def addresses(self, name: str, family: int = socket.AF_INET) -> list[str]:
        """The addresses of ``name`` the resolver was told to give, for one family."""
        want_v6 = family == socket.AF_INET6
        return [a for a in self.records[name] if (":" in a) == want_v6]

    def log(self) -> str:
        return self.log_file.read_text(errors="replace")


def free_port(host: str = LOOPBACK) -> int:
    """A port free for both UDP and TCP on ``host`` at this instant (DNS listens on both)."""
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
            udp.bind((host, 0))
            port: int = udp.getsockname()[1]
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp:
                try:
                    tcp.bind((host, port))
                except OSError:
                    continue
                return port
    raise RuntimeError(f"no port free for both UDP and TCP on {host}")


def _dnsmasq_command(binary: str, port: int, records: Mapping[str, Sequence[str]]) -> list[str]:
    command = [
        binary,
        "--conf-file=/dev/null",
        "--no-resolv",
        "--no-hosts",
        "--no-poll",
        "--keep-in-foreground",
        f"--port={port}",
        f"--listen-address={LOOPBACK}",
        "--bind-interfaces",
        "--pid-file=",
        f"--local=/{LOCAL_DOMAIN}/",
        "--log-queries",
        "--log-facility=-",
    ]
    command += [f"--address=/{name}/{a}" for name, addresses in records.items() for a in addresses]
    return command


def _answers(port: int) -> bool:
    query = dns.message.make_query("platform.lab", "A")
    try:
        dns.query.udp(query, LOOPBACK, port=port, timeout=0.2)
    except (dns.exception.DNSException, OSError):
        return False
    return True


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


def _start(
    binary: str, directory: Path, records: Mapping[str, Sequence[str]], attempt: int
) -> LabResolver | None:
    """One start on a fresh port; None when the port was taken meanwhile."""
    port = free_port()
    log_file = directory / f"dnsmasq-{attempt}.log"
    with log_file.open("wb") as log:
        process = subprocess.Popen(
            _dnsmasq_command(binary, port, records),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    resolver = LabResolver(LOOPBACK, port, records, log_file, process)
    give_up = time.monotonic() + READY_WITHIN_SECONDS
    while time.monotonic() < give_up:
        if process.poll() is not None:
            if "Address already in use" in resolver.log():
                return None
            raise RuntimeError(f"dnsmasq exited with {process.returncode}:\n{resolver.log()}")
        if _answers(port):
            return resolver
        time.sleep(0.05)
    _stop(process)
    raise RuntimeError(f"dnsmasq did not answer within {READY_WITHIN_SECONDS} s:\n{resolver.log()}")


@contextmanager
def dnsmasq(
    binary: str, directory: Path, records: Mapping[str, Sequence[str]] = DEFAULT_RECORDS
) -> Iterator[LabResolver]:
    """Run dnsmasq on 127.0.0.1 (a free port) answering ``records``; stopped on exit."""
    for attempt in range(START_ATTEMPTS):
        resolver = _start(binary, directory, records, attempt)
        if resolver is None:
            continue
        try:
            yield resolver
        finally:
            _stop(resolver.process)
        return
    raise RuntimeError(f"dnsmasq found no free port in {START_ATTEMPTS} attempts")


@contextmanager
def silent_udp_port(host: str = "127.0.0.2") -> Iterator[tuple[str, int]]:
    """A bound UDP socket that receives queries and never answers; yields ``(host, port)``."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sink:
        sink.bind((host, 0))
        yield host, sink.getsockname()[1]


def closed_udp_port(host: str = "127.0.0.3") -> tuple[str, int]:
    """A UDP port on ``host`` with nothing listening (it was free a moment ago)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe_socket:
        probe_socket.bind((host, 0))
        return host, probe_socket.getsockname()[1]
