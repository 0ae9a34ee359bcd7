"""The servers a benchmark starts: the collector and the peers from Debian's packages.

Each is a context manager that waits (bounded) until the server answers, and
stops it when the block ends, even after a failure. All listen on 127.0.0.1.
Process figures (RSS, CPU time) are read from /proc by process id.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml

from tests.lab.servers import ROOT, free_port, http_get, spawn, stop_process, wait_until

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
PAGE_BYTES = os.sysconf("SC_PAGE_SIZE")


class Unavailable(Exception):
    """A peer or a requirement of a benchmark is missing; its row says so."""


def binary(name: str) -> str:
    path = shutil.which(name, path=os.environ.get("PATH", "") + ":/usr/sbin:/sbin:/usr/bin")
    if path is None:
        raise Unavailable(f"{name} is not installed (Debian package; ./dev installs it as root)")
    return path


def rss_bytes(pid: int) -> int:
    with open(f"/proc/{pid}/statm") as f:
        return int(f.read().split()[1]) * PAGE_BYTES


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time of the process (all its threads) so far."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


@dataclass
class Server:
    url: str
    port: int
    process: subprocess.Popen[bytes]
    log_path: Path

    @property
    def pid(self) -> int:
        return self.process.pid

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


def _wait_http(server: Server, path: str, timeout: float, what: str) -> None:
    def answers() -> bool:
        if server.process.poll() is not None:
            raise RuntimeError(f"{what} exited with {server.process.returncode}:\n"
                               f"{server.log_tail()}")
        try:
            return http_get(server.url + path, timeout=2)[0] == 200
        except OSError:
            return False

    wait_until(answers, timeout, interval=0.2, what=f"{what} {path}")


@contextlib.contextmanager
def running(args: list[str], log_path: Path, ready_path: str, what: str, port: int,
            ready_timeout: float = 60.0, env: dict[str, str] | None = None
            ) -> Iterator[Server]:
    process = spawn(args, log_path, cwd=ROOT, env=env)
    server = Server(f"http://127.0.0.1:{port}", port, process, log_path)
    try:
        _wait_http(server, ready_path, ready_timeout, what)
        yield server
    finally:
        stop_process(process)


# When set (``--profile``), collectors run under pyinstrument (a sampling profiler, so the
# figures stay close to an unprofiled run) and leave their profiles here.
PROFILE_DIR: Path | None = None


@contextlib.contextmanager
def collector(directory: Path, inventory: Path, tokens: Path, *,
              extra_args: Sequence[str] = (), ready_timeout: float = 300.0
              ) -> Iterator[Server]:
    """The real collector as a subprocess; loading a national inventory takes a while."""
    directory.mkdir(parents=True, exist_ok=True)
    port = free_port()
    python = [sys.executable]
    profile = None
    if PROFILE_DIR is not None:
        PROFILE_DIR.mkdir(parents=True, exist_ok=True)
        profile = PROFILE_DIR / f"{directory.name}-{port}.pyisession"
        python += ["-m", "pyinstrument", "--renderer", "pyisession", "--outfile", str(profile)]
    args = [*python, "-m", "collector", "serve", "--listen", f"127.0.0.1:{port}",
            "--inventory", str(inventory), "--tokens", str(tokens),
            "--database", str(directory / "collector.sqlite3"), "--log-level", "WARNING",
            *extra_args]
    with running(args, directory / "collector.log", "/healthz", "collector", port,
                 ready_timeout) as server:
        yield server
    if profile is not None and profile.exists():
        write_profile_reports(profile)


def write_profile_reports(session: Path) -> None:
    """The profile as a call tree in text and as pyinstrument's HTML page, beside it."""
    for renderer, suffix in (("text", ".txt"), ("html", ".html")):
        out = session.with_suffix(suffix)
        subprocess.run([sys.executable, "-m", "pyinstrument", "--load", str(session),
                        "--renderer", renderer, "--outfile", str(out), "--no-color",
                        "--show", "*/collector/*"],
                       check=True, timeout=300)
    print(f"[bench] collector profile: {session.with_suffix('.txt')}", file=sys.stderr,
          flush=True)


def pushgateway(directory: Path) -> contextlib.AbstractContextManager[Server]:
    directory.mkdir(parents=True, exist_ok=True)
    port = free_port()
    # Debian's build persists to /var/lib/prometheus/pushgateway.data by default: an empty
    # file name keeps everything in memory, so no run leaves state behind for the next.
    args = [binary("prometheus-pushgateway"), f"--web.listen-address=127.0.0.1:{port}",
            "--persistence.file=", "--log.level=warn"]
    return running(args, directory / "pushgateway.log", "/-/ready", "pushgateway", port)


def blackbox_exporter(directory: Path, modules: Mapping[str, object]
                      ) -> contextlib.AbstractContextManager[Server]:
    directory.mkdir(parents=True, exist_ok=True)
    config = directory / "blackbox.yml"
    config.write_text(yaml.safe_dump({"modules": dict(modules)}))
    port = free_port()
    args = [binary("prometheus-blackbox-exporter"), f"--config.file={config}",
            f"--web.listen-address=127.0.0.1:{port}", "--log.level=warn"]
    return running(args, directory / "blackbox.log", "/-/ready", "blackbox exporter", port)


def victoria_metrics(directory: Path) -> contextlib.AbstractContextManager[Server]:
    """Single-node VictoriaMetrics; fresh samples are visible to queries at once."""
    directory.mkdir(parents=True, exist_ok=True)
    port = free_port()
    args = [binary("victoria-metrics"), f"-httpListenAddr=127.0.0.1:{port}",
            f"-storageDataPath={directory / 'data'}", "-retentionPeriod=1d",
            "-search.latencyOffset=0s", "-search.disableCache", "-loggerLevel=ERROR"]
    return running(args, directory / "victoria-metrics.log", "/health", "victoria-metrics",
                   port)


def prometheus(directory: Path, config: Mapping[str, object]
               ) -> contextlib.AbstractContextManager[Server]:
    directory.mkdir(parents=True, exist_ok=True)
    config_path = directory / "prometheus.yml"
    config_path.write_text(yaml.safe_dump(dict(config)))
    port = free_port()
    args = [binary("prometheus"), f"--config.file={config_path}",
            f"--storage.tsdb.path={directory / 'tsdb'}",
            f"--web.listen-address=127.0.0.1:{port}", "--log.level=warn"]
    return running(args, directory / "prometheus.log", "/-/ready", "prometheus", port)


class Sampler:
    """Samples one process's CPU time and RSS every ``period`` seconds, in a thread."""

    def __init__(self, pid: int, period: float = 0.25):
        self.pid = pid
        self.period = period
        self.samples: list[tuple[float, float, int]] = []  # (wall time, cpu seconds, rss)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"sampler-{pid}", daemon=True)

    def __enter__(self) -> Sampler:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join(5)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.samples.append((time.time(), cpu_seconds(self.pid), rss_bytes(self.pid)))
            except (OSError, ValueError, IndexError):
                return
            self._stop.wait(self.period)

    def window(self, start: float, end: float) -> tuple[float | None, int | None]:
        """(CPU share of one core, largest RSS) between two wall-clock instants."""
        inside = [s for s in self.samples if start <= s[0] <= end]
        if len(inside) < 2:
            return None, None
        (t0, c0, _), (t1, c1, _) = inside[0], inside[-1]
        share = (c1 - c0) / (t1 - t0) if t1 > t0 else None
        return share, max(s[2] for s in inside)
