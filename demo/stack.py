"""The NOC's side of the demo: Debian's Prometheus (scraping the collector, the generated
rules loaded) and Alertmanager (the generated routes, delivering to the demo's mailbox).

With ``time_scale`` below 1 the rules and routing are compressed as the tests compress
them (``alerts.timescale``): every ``for:``, window and group interval multiplied by it,
the logic untouched. Both listen on loopback only and keep their data under the demo's
folder. A missing binary is reported, never fatal: the demo then runs without it.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import yaml

from alerts.deploy import with_bot_token
from alerts.generate import dump
from alerts.routing import Delivery, alertmanager_config
from alerts.rules import rule_groups
from alerts.timescale import format_duration, scale_routing, scale_rules
from inventory.model import Inventory

ROOT = Path(__file__).resolve().parent.parent
PROMETHEUS = "prometheus"
ALERTMANAGER = "prometheus-alertmanager"


@dataclass
class Service:
    name: str
    url: str
    process: subprocess.Popen[bytes]


def binary(name: str) -> str | None:
    return shutil.which(name) or next(
        (str(p) for p in (Path("/usr/bin") / name, Path("/usr/sbin") / name) if p.exists()),
        None)


def spawn(args: list[str], log_path: Path, cwd: Path) -> subprocess.Popen[bytes]:
    with log_path.open("wb") as log:
        return subprocess.Popen(args, cwd=cwd, stdout=log, stderr=subprocess.STDOUT)


def start_alertmanager(directory: Path, inventory: Inventory, delivery: Delivery,
                       bot_token: str, port: int, time_scale: float) -> Service | None:
    """Alertmanager with the routes generated from ``inventory``'s teams."""
    path = binary(ALERTMANAGER)
    if path is None:
        return None
    directory.mkdir(parents=True, exist_ok=True)
    shutil.copytree(ROOT / "alerts" / "templates", directory / "templates", dirs_exist_ok=True)
    routing = alertmanager_config(inventory, delivery)
    if time_scale != 1:
        routing = scale_routing(routing, time_scale)
    config = directory / "alertmanager.yml"
    config.write_text(with_bot_token(dump(routing), bot_token), encoding="utf-8")
    config.chmod(0o600)  # it holds the bot token, as deployed
    process = spawn([path, f"--config.file={config}", f"--storage.path={directory / 'data'}",
                     f"--web.listen-address=127.0.0.1:{port}", "--cluster.listen-address="],
                    directory / "alertmanager.log", cwd=directory)
    return Service("alertmanager", f"http://127.0.0.1:{port}", process)


def start_prometheus(directory: Path, collector: str, alertmanager: Service | None,
                     public_url: str, port: int, time_scale: float) -> Service | None:
    """Prometheus scraping ``collector`` (host:port) with the generated rules."""
    path = binary(PROMETHEUS)
    if path is None:
        return None
    directory.mkdir(parents=True, exist_ok=True)
    rules = rule_groups(public_url=public_url)
    if time_scale != 1:
        rules = scale_rules(rules, time_scale)
    (directory / "rules.yml").write_text(dump(rules), encoding="utf-8")
    interval = format_duration(15 * time_scale)
    config: dict[str, Any] = {
        "global": {"scrape_interval": interval, "evaluation_interval": interval},
        "rule_files": [str(directory / "rules.yml")],
        "scrape_configs": [{"job_name": "sansang", "static_configs": [{"targets": [collector]}]}],
    }
    if alertmanager is not None:
        config["alerting"] = {"alertmanagers": [{"static_configs": [
            {"targets": [alertmanager.url.removeprefix("http://")]}]}]}
    (directory / "prometheus.yml").write_text(yaml.safe_dump(config), encoding="utf-8")
    process = spawn([path, f"--config.file={directory / 'prometheus.yml'}",
                     f"--storage.tsdb.path={directory / 'tsdb'}",
                     "--storage.tsdb.retention.time=2d",
                     f"--web.listen-address=127.0.0.1:{port}"],
                    directory / "prometheus.log", cwd=directory)
    return Service("prometheus", f"http://127.0.0.1:{port}", process)


async def wait_ready(service: Service, within_seconds: float) -> None:
    deadline = time.monotonic() + within_seconds
    async with aiohttp.ClientSession() as session:
        while time.monotonic() < deadline:
            if service.process.poll() is not None:
                raise RuntimeError(f"{service.name} exited with {service.process.returncode}")
            with contextlib.suppress(aiohttp.ClientError):
                async with session.get(service.url + "/-/ready") as response:
                    if response.status == 200:
                        return
            await asyncio.sleep(0.2)
    raise RuntimeError(f"{service.name} did not answer within {within_seconds:.0f} s")


def stop(process: subprocess.Popen[bytes] | None) -> None:
    if process is None or process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(5)
