"""The lab's hosts: network namespaces joined by veth pairs, with 10.77.0.0/16 addresses.

A ``Lab`` owns everything it builds (namespaces, veths, processes, nft tables)
and removes it on ``close()`` or when its ``with`` block ends, even after a
failure. Veth ends are created directly inside the lab's namespaces, so the
host's own interfaces are never touched; each lab's names carry a random tag so
parallel runs cannot collide. Link n joins 10.77.n.1/24 (first host) to 10.77.n.2/24.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import selectors
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

from tests.lab import shaping

ROOT = Path(__file__).resolve().parents[2]
PYTHON = str(ROOT / ".venv" / "bin" / "python") if (ROOT / ".venv").exists() else sys.executable
ECHO_RESPONDER = str(Path(__file__).with_name("echo_responder.py"))
COMMAND_TIMEOUT_SECONDS = 60.0
STOP_TIMEOUT_SECONDS = 5.0
READY_TIMEOUT_SECONDS = 15.0
MAX_LINKS = 254


def sweep_stale(prefix: str = "ss-") -> list[str]:
    """Delete namespaces left by labs whose process died without cleaning up.

    Only names of this module's own form (``PREFIX<pid>-<hex>-HOST``) are
    considered, and only when that process is gone and nothing runs inside.
    """
    listing = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True,
                             timeout=COMMAND_TIMEOUT_SECONDS, check=False)
    pattern = re.compile(rf"^{re.escape(prefix)}(\d+)-[0-9a-f]{{4}}-\S+$")
    removed = []
    for line in listing.stdout.splitlines():
        name = line.split()[0] if line.split() else ""
        match = pattern.match(name)
        if match is None or _alive(int(match.group(1))):
            continue
        pids = subprocess.run(["ip", "netns", "pids", name], capture_output=True, text=True,
                              timeout=COMMAND_TIMEOUT_SECONDS, check=False)
        if pids.returncode != 0 or pids.stdout.strip():
            continue
        deleted = subprocess.run(["ip", "netns", "del", name], capture_output=True,
                                 timeout=COMMAND_TIMEOUT_SECONDS, check=False)
        if deleted.returncode == 0:
            removed.append(name)
    return removed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def python_command(*args: str) -> list[str]:
    # -P: a script's own folder (tests/lab) must not shadow packages such as dns.
    return [PYTHON, "-P", *args]


class LabError(RuntimeError):
    """The lab could not be built as asked."""


def _run(*args: str, timeout: float = COMMAND_TIMEOUT_SECONDS) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(args, capture_output=True, text=True, timeout=timeout, check=False)
    if result.returncode != 0:
        raise LabError(f"{' '.join(args)} failed ({result.returncode}): {result.stderr.strip()}")
    return result


@dataclass(eq=False)
class Host:
    """One namespace: a ward, the core, or anything a test needs."""

    lab: Lab
    name: str
    netns: str
    links: list[Link] = field(default_factory=list)

    def command(self, *args: str) -> list[str]:
        """``args`` wrapped so that they run inside this host."""
        return ["ip", "netns", "exec", self.netns, *args]

    def run(
        self, *args: str, timeout: float = COMMAND_TIMEOUT_SECONDS, check: bool = True,
        input: str | None = None,
    ) -> subprocess.CompletedProcess[str]:
        """Run a command inside this host and wait for it (bounded by ``timeout``)."""
        result = subprocess.run(
            self.command(*args), capture_output=True, text=True, timeout=timeout,
            check=False, input=input, env=self.lab.environment(), cwd=ROOT,
        )
        if check and result.returncode != 0:
            raise LabError(
                f"in {self.name}: {' '.join(args)} failed ({result.returncode}):\n"
                f"{result.stdout[-2000:]}\n{result.stderr[-4000:]}"
            )
        return result

    def python(
        self, *args: str, timeout: float = COMMAND_TIMEOUT_SECONDS, check: bool = True,
    ) -> subprocess.CompletedProcess[str]:
        """Run the project's Python inside this host, with the project on its path."""
        return self.run(*python_command(*args), timeout=timeout, check=check)

    def popen(self, *args: str, **kwargs: object) -> subprocess.Popen[str]:
        """Start a long-running process inside this host; the lab stops it on close."""
        return self.lab.start(self, list(args), **kwargs)

    def sysctl(self, key: str, value: str) -> None:
        self.run("sysctl", "-qw", f"{key}={value}")

    def interface_to(self, other: Host) -> str:
        return self.link_to(other).interface_of(self)

    def address_toward(self, other: Host) -> str:
        """This host's address on the link that joins it to ``other``."""
        return self.link_to(other).address_of(self)

    def link_to(self, other: Host) -> Link:
        for link in self.links:
            if link.peer_of(self) is other:
                return link
        raise LabError(f"{self.name} has no link to {other.name}")


@dataclass(eq=False)
class Link:
    """A veth pair between two hosts, one /24 of 10.77.0.0/16."""

    index: int
    a: Host
    b: Host
    a_interface: str
    b_interface: str
    a_address: str
    b_address: str
    extra_addresses: int = 0

    def peer_of(self, host: Host) -> Host:
        return self.b if host is self.a else self.a

    def interface_of(self, host: Host) -> str:
        return self.a_interface if host is self.a else self.b_interface

    def address_of(self, host: Host) -> str:
        return self.a_address if host is self.a else self.b_address


class Lab:
    """Namespaces, links, shaping, loss and processes, all removed together.

    ``with Lab() as lab: core = lab.add_host("core"); ward = lab.add_host("ward1");
    lab.link(core, ward); lab.shape(core, ward, 10e6)`` — or ``lab.star(2)``.
    """

    def __init__(self, prefix: str = "ss-"):
        # The creating process's id is in every name, so a later run can tell a
        # lab whose process was killed before it could clean up (see sweep_stale).
        self.tag = f"{prefix}{os.getpid()}-{secrets.token_hex(2)}"
        self.hosts: dict[str, Host] = {}
        self.links: list[Link] = []
        self._processes: list[subprocess.Popen[str]] = []
        self._drops: list[shaping.RandomDrop] = []
        self._closed = False

    def __enter__(self) -> Lab:
        return self

    def __exit__(
        self, _type: type[BaseException] | None, _value: BaseException | None,
        _traceback: TracebackType | None,
    ) -> None:
        self.close()

    @staticmethod
    def environment() -> dict[str, str]:
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(
            p for p in (str(ROOT), env.get("PYTHONPATH", "")) if p
        )
        env["PYTHONDONTWRITEBYTECODE"] = "1"
        return env

    def add_host(self, name: str, *, unprivileged_ping: bool = False) -> Host:
        """A new namespace with loopback up.

        ``unprivileged_ping`` opens ``net.ipv4.ping_group_range`` to every group, so
        the ICMP probe uses datagram sockets there instead of raw ones.
        """
        if name in self.hosts:
            raise LabError(f"host {name} already exists")
        netns = f"{self.tag}-{name}"
        _run("ip", "netns", "add", netns)
        host = Host(lab=self, name=name, netns=netns)
        self.hosts[name] = host
        host.run("ip", "link", "set", "lo", "up")
        if unprivileged_ping:
            host.sysctl("net.ipv4.ping_group_range", "0 2147483647")
        return host

    def link(self, a: Host, b: Host) -> Link:
        """Join ``a`` and ``b`` with a veth pair; ``a`` gets .1 and ``b`` gets .2."""
        index = len(self.links) + 1
        if index > MAX_LINKS:
            raise LabError("a lab holds at most 254 links")
        a_interface = f"v{index}-{b.name}"[:15]
        b_interface = f"v{index}-{a.name}"[:15]
        # Both ends are created inside their namespaces: nothing appears on the host.
        _run("ip", "link", "add", a_interface, "netns", a.netns, "type", "veth",
             "peer", "name", b_interface, "netns", b.netns)
        link = Link(index, a, b, a_interface, b_interface,
                    f"10.77.{index}.1", f"10.77.{index}.2")
        for host, interface, address in ((a, a_interface, link.a_address),
                                         (b, b_interface, link.b_address)):
            host.run("ip", "addr", "add", f"{address}/24", "dev", interface)
            host.run("ip", "link", "set", interface, "up")
            host.links.append(link)
        self.links.append(link)
        return link

    def add_address(self, host: Host, toward: Host) -> str:
        """Another address for ``host`` on its link to ``toward`` (10.77.n.3 and up)."""
        link = host.link_to(toward)
        if link.extra_addresses >= 250:
            raise LabError(f"link {link.index} has no addresses left")
        link.extra_addresses += 1
        address = f"10.77.{link.index}.{link.extra_addresses + 2}"
        host.run("ip", "addr", "add", f"{address}/24", "dev", link.interface_of(host))
        return address

    def star(self, wards: int, *, unprivileged_ping: bool = False) -> tuple[Host, list[Host]]:
        """A core host and ``wards`` ward hosts, each ward linked to the core."""
        core = self.add_host("core", unprivileged_ping=unprivileged_ping)
        ward_hosts = []
        for n in range(1, wards + 1):
            ward = self.add_host(f"ward{n}", unprivileged_ping=unprivileged_ping)
            self.link(core, ward)
            ward_hosts.append(ward)
        return core, ward_hosts

    def shape(
        self, host: Host, toward: Host, rate_bits_per_second: float, *, htb: bool = False,
    ) -> None:
        """Limit what ``host`` sends to ``toward`` (its veth egress) to the given rate."""
        interface = host.interface_to(toward)
        if htb:
            shaping.shape_htb(host.netns, interface, rate_bits_per_second)
        else:
            shaping.shape_tbf(host.netns, interface, rate_bits_per_second)

    def shape_both(self, a: Host, b: Host, rate_bits_per_second: float) -> None:
        self.shape(a, b, rate_bits_per_second)
        self.shape(b, a, rate_bits_per_second)

    def unshape(self, host: Host, toward: Host) -> None:
        shaping.unshape(host.netns, host.interface_to(toward))

    def random_loss(
        self, host: Host, percent: int, *, match: str = "icmp type echo-request",
    ) -> shaping.RandomDrop:
        """Drop ``percent`` % of what ``host`` receives that matches ``match`` (nft)."""
        drop = shaping.random_drop(host.netns, percent, match=match)
        self._drops.append(drop)
        return drop

    def echo_responder(
        self, host: Host, *, delay_ms: float = 0.0, drop_percent: int = 0,
    ) -> subprocess.Popen[str]:
        """Answer pings to ``host`` from user space, after a delay, with exact loss.

        The kernel's own echo replies are switched off in ``host``; call
        ``stop_echo_responder`` to get its counts and switch them back on.
        """
        host.sysctl("net.ipv4.icmp_echo_ignore_all", "1")
        process = host.popen(*python_command(ECHO_RESPONDER), "--delay-ms", str(delay_ms),
                             "--drop-percent", str(drop_percent))
        self.wait_for_line(process, "ready")
        return process

    def stop_echo_responder(self, host: Host, process: subprocess.Popen[str]) -> str:
        """Stop a responder; returns its last output line (a JSON summary)."""
        output = self.stop(process)
        host.sysctl("net.ipv4.icmp_echo_ignore_all", "0")
        lines = output.strip().splitlines()
        return lines[-1] if lines else ""

    def start(self, host: Host, args: Sequence[str], **kwargs: object) -> subprocess.Popen[str]:
        options: dict[str, object] = {
            "stdout": subprocess.PIPE, "stderr": subprocess.PIPE, "text": True,
            "env": self.environment(), "cwd": ROOT,
        }
        options.update(kwargs)
        process: subprocess.Popen[str] = subprocess.Popen(  # type: ignore[call-overload]
            host.command(*args), **options
        )
        self._processes.append(process)
        return process

    @staticmethod
    def wait_for_line(
        process: subprocess.Popen[str], expected: str, timeout: float = READY_TIMEOUT_SECONDS,
    ) -> str:
        """Read ``process``'s stdout until a line contains ``expected`` (bounded in time)."""
        assert process.stdout is not None
        selector = selectors.DefaultSelector()
        selector.register(process.stdout, selectors.EVENT_READ)
        give_up = time.monotonic() + timeout
        seen: list[str] = []
        try:
            while time.monotonic() < give_up:
                if not selector.select(timeout=max(0.0, give_up - time.monotonic())):
                    continue
                line = process.stdout.readline()
                if not line:
                    break
                seen.append(line)
                if expected in line:
                    return line
        finally:
            selector.close()
        stderr = ""
        if process.stderr is not None:
            try:
                process.wait(timeout=1.0)
                stderr = process.stderr.read()
            except subprocess.TimeoutExpired:
                pass
        raise LabError(f"no {expected!r} from {process.args}: {''.join(seen)[-2000:]} {stderr}")

    def stop(self, process: subprocess.Popen[str]) -> str:
        """Stop one of the lab's processes politely, then firmly; returns its stdout."""
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
        if process.stdin is not None:
            # A test may have written to it and closed it already; communicate() must not.
            with contextlib.suppress(OSError, ValueError):
                process.stdin.close()
            process.stdin = None
        try:
            stdout, _ = process.communicate(timeout=STOP_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()
            stdout, _ = process.communicate(timeout=STOP_TIMEOUT_SECONDS)
        if process in self._processes:
            self._processes.remove(process)
        return stdout or ""

    def close(self) -> None:
        """Stop every process and delete every namespace (their veths go with them)."""
        if self._closed:
            return
        self._closed = True
        errors = []
        for process in list(self._processes):
            try:
                self.stop(process)
            except (OSError, subprocess.SubprocessError) as exc:
                errors.append(f"stopping {process.args}: {exc}")
        for drop in self._drops:
            drop.remove()
        for host in self.hosts.values():
            result = subprocess.run(["ip", "netns", "del", host.netns], capture_output=True,
                                    text=True, timeout=COMMAND_TIMEOUT_SECONDS, check=False)
            if result.returncode != 0:
                errors.append(f"deleting {host.netns}: {result.stderr.strip()}")
        if errors:
            raise LabError("; ".join(errors))
