"""Real servers for tests: the collector and an agent as subprocesses, Prometheus from Debian.

Each is a context manager that waits (bounded) until the server answers and
stops it, killing if need be, when the block ends, even after a failure.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Coroutine, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import yaml

from tests.lab.require import require_binary

ROOT = Path(__file__).resolve().parents[2]
T = TypeVar("T")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def http_get(url: str, timeout: float = 5.0, headers: dict[str, str] | None = None
             ) -> tuple[int, bytes]:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def http_post_json(url: str, body: Any, headers: dict[str, str] | None = None,
                   timeout: float = 10.0, raw: bytes | None = None) -> tuple[int, Any]:
    data = raw if raw is not None else json.dumps(body).encode()
    request = urllib.request.Request(
        url, data=data, method="POST",
        headers={"Content-Type": "application/json", **(headers or {})},
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as exc:
        payload = exc.read()
        try:
            return exc.code, json.loads(payload)
        except ValueError:
            return exc.code, payload.decode(errors="replace")


def wait_until(check: Callable[[], bool], timeout: float, interval: float = 0.2,
               what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(interval)
    raise TimeoutError(f"{what} not reached within {timeout:.0f} s")


def spawn(args: list[str], log_path: Path, cwd: Path = ROOT,
          env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    """Start ``args`` with stdout and stderr appended to ``log_path``."""
    with log_path.open("ab") as log:
        return subprocess.Popen(args, cwd=cwd, stdout=log, stderr=subprocess.STDOUT,
                                env=env if env is not None else dict(os.environ))


@contextlib.contextmanager
def loop_in_thread(name: str) -> Iterator[asyncio.AbstractEventLoop]:
    """An event loop running in a thread of its own, for servers a blocking test talks to
    (tests wait with sleeps and subprocesses, so servers must not share their loop)."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name=name, daemon=True)
    thread.start()
    try:
        yield loop
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()


def run_in(loop: asyncio.AbstractEventLoop, coroutine: Coroutine[Any, Any, T],
           timeout: float = 30) -> T:
    """Run ``coroutine`` on ``loop`` (another thread's) and wait for its result."""
    return asyncio.run_coroutine_threadsafe(coroutine, loop).result(timeout)


@contextlib.contextmanager
def running_platforms() -> Iterator[dict[str, str]]:
    """Loopback stand-ins for the four platforms."""
    from demo.platforms import platform_urls, start_platforms

    with loop_in_thread("platform-stand-ins") as loop:
        runner, base = run_in(loop, start_platforms())
        try:
            yield platform_urls(base)
        finally:
            run_in(loop, runner.cleanup())


def stop_process(process: subprocess.Popen[bytes], grace: float = 10.0) -> None:
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(grace)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(5)


@dataclass
class Collector:
    url: str
    process: subprocess.Popen[bytes]
    directory: Path
    tokens: dict[str, str] = field(default_factory=dict)
    log_path: Path | None = None

    def token_file(self, ward: str) -> Path:
        path = self.directory / f"token-{ward}"
        path.write_text(self.tokens[ward] + "\n")
        path.chmod(0o600)
        return path

    def metrics(self) -> str:
        status, body = http_get(self.url + "/metrics")
        assert status == 200, status
        return body.decode()


def issue_tokens(tokens_path: Path, wards: list[str]) -> dict[str, str]:
    from collector.tokens import issue_token

    return {ward: issue_token(tokens_path, ward).reveal() for ward in wards}


@contextlib.contextmanager
def running_collector(directory: Path, wards: list[str], *, extra_args: list[str] = (),  # type: ignore[assignment]
                      inventory: Path | None = None, port: int | None = None,
                      tokens: dict[str, str] | None = None) -> Iterator[Collector]:
    directory.mkdir(parents=True, exist_ok=True)
    tokens_path = directory / "tokens.yaml"
    if tokens is None:
        tokens = issue_tokens(tokens_path, wards)
    port = port or free_port()
    args = [sys.executable, "-m", "collector", "serve", "--listen", f"127.0.0.1:{port}",
            "--tokens", str(tokens_path), "--database", str(directory / "collector.sqlite3")]
    if inventory is not None:
        args += ["--inventory", str(inventory)]
    log_path = directory / f"collector-{port}.log"
    process = spawn(list(args) + list(extra_args), log_path)
    collector = Collector(f"http://127.0.0.1:{port}", process, directory, tokens, log_path)
    try:
        def healthy() -> bool:
            assert process.poll() is None, log_path.read_text()
            try:
                return http_get(collector.url + "/healthz", timeout=1)[0] == 200
            except OSError:
                return False

        wait_until(healthy, 30, what="collector /healthz")
        yield collector
    finally:
        stop_process(process)


@contextlib.contextmanager
def running_agent(directory: Path, config: dict[str, Any]) -> Iterator[subprocess.Popen[bytes]]:
    directory.mkdir(parents=True, exist_ok=True)
    config_path = directory / "agent.yaml"
    config_path.write_text(yaml.safe_dump(config))
    process = spawn([sys.executable, str(ROOT / "agent.py"), "run", "--config", str(config_path)],
                    directory / "agent.log")
    try:
        yield process
    finally:
        stop_process(process)


@dataclass
class Prometheus:
    url: str
    process: subprocess.Popen[bytes]

    def query(self, expr: str) -> list[dict[str, Any]]:
        status, body = http_get(
            self.url + "/api/v1/query?" + urllib.parse.urlencode({"query": expr})
        )
        assert status == 200, body
        return list(json.loads(body)["data"]["result"])

    def wait_for(self, expr: str, timeout: float,
                 accept: Callable[[list[dict[str, Any]]], bool] = bool) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = []

        def check() -> bool:
            nonlocal result
            result = self.query(expr)
            return accept(result)

        wait_until(check, timeout, interval=0.5, what=f"PromQL {expr!r}")
        return result


@contextlib.contextmanager
def running_prometheus(directory: Path, targets: list[str], *, scrape_interval: str = "1s",
                       rule_files: list[Path] = (),  # type: ignore[assignment]
                       alertmanager: str | None = None,
                       extra_config: dict[str, Any] | None = None) -> Iterator[Prometheus]:
    binary = require_binary("prometheus")["prometheus"]
    directory.mkdir(parents=True, exist_ok=True)
    config: dict[str, Any] = {
        "global": {"scrape_interval": scrape_interval, "evaluation_interval": scrape_interval},
        "scrape_configs": [{"job_name": "sansang", "static_configs": [{"targets": targets}]}],
    }
    if rule_files:
        config["rule_files"] = [str(p) for p in rule_files]
    if alertmanager:
        config["alerting"] = {"alertmanagers": [{"static_configs": [{"targets": [alertmanager]}]}]}
    config.update(extra_config or {})
    config_path = directory / "prometheus.yml"
    config_path.write_text(yaml.safe_dump(config))
    port = free_port()
    log_path = directory / "prometheus.log"
    process = spawn(
        [binary, f"--config.file={config_path}", f"--storage.tsdb.path={directory / 'tsdb'}",
         f"--web.listen-address=127.0.0.1:{port}", "--web.enable-lifecycle"],
        log_path,
    )
    prometheus = Prometheus(f"http://127.0.0.1:{port}", process)
    try:
        def ready() -> bool:
            assert process.poll() is None, log_path.read_text()
            try:
                return http_get(prometheus.url + "/-/ready", timeout=1)[0] == 200
            except OSError:
                return False

        wait_until(ready, 30, what="prometheus /-/ready")
        yield prometheus
    finally:
        stop_process(process)


@dataclass
class WebhookReceiver:
    url: str
    received: list[tuple[float, dict[str, Any]]] = field(default_factory=list)

    def alerts(self) -> list[tuple[float, dict[str, Any]]]:
        """Every alert of every notification, with the time it arrived."""
        return [(at, alert) for at, body in list(self.received) for alert in body["alerts"]]


@contextlib.contextmanager
def running_webhook_receiver() -> Iterator[WebhookReceiver]:
    """An Alertmanager webhook receiver on loopback, recording each notification."""
    from aiohttp import web

    receiver = WebhookReceiver(url="")

    async def notified(request: web.Request) -> web.Response:
        receiver.received.append((time.time(), await request.json()))
        return web.Response(text="ok")

    with serving_post("/{path:.*}", notified, "webhook-receiver") as url:
        receiver.url = url
        yield receiver


@contextlib.contextmanager
def serving_post(route: str, handler: Any, name: str) -> Iterator[str]:
    """``handler`` answering POSTs to ``route`` on loopback, on a loop of its own thread
    (the test's thread stays free to block); yields the base URL."""
    from aiohttp import web

    async def start() -> web.AppRunner:
        app = web.Application()
        app.router.add_post(route, handler)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        return runner

    with loop_in_thread(name) as loop:
        runner = run_in(loop, start())
        try:
            yield f"http://127.0.0.1:{runner.addresses[0][1]}"
        finally:
            run_in(loop, runner.cleanup())


@dataclass
class Alertmanager:
    url: str
    process: subprocess.Popen[bytes]

    def alerts(self) -> list[dict[str, Any]]:
        status, body = http_get(self.url + "/api/v2/alerts")
        assert status == 200, body
        return list(json.loads(body))


@contextlib.contextmanager
def running_alertmanager(directory: Path, config: dict[str, Any],
                         templates: Path | None = None, port: int | None = None
                         ) -> Iterator[Alertmanager]:
    binary = require_binary("prometheus-alertmanager")["prometheus-alertmanager"]
    directory.mkdir(parents=True, exist_ok=True)
    if templates is not None:
        import shutil

        shutil.copytree(templates, directory / "templates", dirs_exist_ok=True)
    config_path = directory / "alertmanager.yml"
    config_path.write_text(yaml.safe_dump(config, allow_unicode=True))
    port = port or free_port()
    process = spawn(
        [binary, f"--config.file={config_path}", f"--storage.path={directory / 'data'}",
         f"--web.listen-address=127.0.0.1:{port}", "--cluster.listen-address="],
        directory / "alertmanager.log", cwd=directory,
    )
    manager = Alertmanager(f"http://127.0.0.1:{port}", process)
    try:
        def ready() -> bool:
            assert process.poll() is None, (directory / "alertmanager.log").read_text()
            try:
                return http_get(manager.url + "/-/ready", timeout=1)[0] == 200
            except OSError:
                return False

        wait_until(ready, 30, what="alertmanager /-/ready")
        yield manager
    finally:
        stop_process(process)


@contextlib.contextmanager
def running_fleet(collector_url: str, wards: list[Any], interval_seconds: float
                  ) -> Iterator[None]:
    """The simulated fleet pushing every ``interval_seconds`` from a thread of its own."""
    from demo.fleet import run_fleet

    async def start() -> asyncio.Task[None]:
        return asyncio.create_task(run_fleet(collector_url, wards, interval_seconds))

    async def stop(task: asyncio.Task[None]) -> None:
        # Cancelled and awaited inside its loop, so its session closes before the loop ends.
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    with loop_in_thread("simulated-fleet") as loop:
        task = run_in(loop, start())
        try:
            yield
        finally:
            run_in(loop, stop(task))
