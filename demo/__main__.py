"""``./dev demo``: the whole system on this machine, on loopback only.

Starts the collector (SQLite under .demo/), loopback stand-ins for the four
platforms, one real agent probing 127.0.0.1 and those stand-ins, a simulated
fleet for every other ward of the inventory (marked simulated) in which a few
wards live through faults that come and go, Debian's Prometheus with the
generated rules and Alertmanager with the generated routes, and a mailbox where
Alertmanager's e-mail and chat messages land. ``--fast`` compresses the rules,
the routing and the fleet's schedule ten times, so an alert fires, is delivered
and resolves within about a minute. Prints the URLs and runs until Ctrl-C.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import json
import logging
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import aiohttp
import yaml

from alerts.routing import Delivery
from collector.provision import readiness_section
from collector.tokens import issue_token
from demo import stack
from demo.fleet import (
    CYCLE_SECONDS,
    Fault,
    living_faults,
    run_fleet,
    simulated_ward,
)
from demo.history import seed_history
from demo.inventory import write_demo_inventory
from demo.mailbox import SMTP_USER, Mailbox
from demo.platforms import platform_urls, start_platforms
from demo.resolver import start_resolver
from inventory.load import DEFAULT_INVENTORY, load_inventory
from inventory.model import Inventory

ROOT = Path(__file__).resolve().parent.parent
REAL_WARD = "26968"  # Phường Tân Sơn Nhất: the one ward measured by a real agent
FAST_SCALE = 0.1  # --fast: ten times faster than production, as the alert tests compress
# The production report interval (DESIGN.md): agents push every 15 s.
REPORT_INTERVAL_SECONDS = 15.0


def free_port(preferred: int) -> int:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", preferred))
            return preferred
        except OSError:
            probe.bind(("127.0.0.1", 0))
            return int(probe.getsockname()[1])


def _spawn(args: list[str], log_path: Path) -> subprocess.Popen[bytes]:
    with log_path.open("wb") as log:
        return subprocess.Popen(args, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m demo", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, default=8080,
                        help="collector port on 127.0.0.1 (default 8080, or a free one)")
    parser.add_argument("--state-dir", type=Path, default=ROOT / ".demo",
                        help="where the demo keeps its database, tokens and configs "
                             "(default .demo/, emptied at start)")
    parser.add_argument("--interval", type=float, default=None,
                        help="seconds between probe rounds (default 15, 1.5 with --fast)")
    parser.add_argument("--fast", action="store_true",
                        help="compress the alert rules, routing and the fleet's faults ten "
                             "times, so alerts fire and resolve within minutes")
    parser.add_argument("--no-alerting", action="store_true",
                        help="do not start Prometheus, Alertmanager and the mailbox")
    parser.add_argument("--inventory", type=Path, default=DEFAULT_INVENTORY,
                        help="inventory YAML (default: the shipped HCMC inventory)")
    parser.add_argument("--duration", type=float, default=None,
                        help="stop after this many seconds (default: run until Ctrl-C)")
    return parser


async def wait_healthy(url: str, within_seconds: float,
                       process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + within_seconds
    async with aiohttp.ClientSession() as session:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"collector exited with {process.returncode}")
            with contextlib.suppress(aiohttp.ClientError):
                async with session.get(url + "/healthz") as response:
                    if response.status == 200:
                        return
            await asyncio.sleep(0.2)
    raise RuntimeError(f"collector did not answer on {url} within {within_seconds:.0f} s")


def _teams_in_vietnamese(inventory_path: Path) -> None:
    """The demo shows every message as the ward teams read them: in Vietnamese."""
    document = yaml.safe_load(inventory_path.read_text(encoding="utf-8"))
    for team in document.get("teams", {}).values():
        team["language"] = "vi"
    inventory_path.write_text(yaml.safe_dump(document, allow_unicode=True, sort_keys=False),
                              encoding="utf-8")


async def main_async(args: argparse.Namespace) -> int:
    shipped = load_inventory(args.inventory)
    scale = FAST_SCALE if args.fast else 1.0
    interval = args.interval or REPORT_INTERVAL_SECONDS * scale
    state = args.state_dir
    shutil.rmtree(state, ignore_errors=True)
    state.mkdir(parents=True)
    tokens_path = state / "tokens.yaml"

    platforms_runner, platforms_base = await start_platforms()
    urls = platform_urls(platforms_base)
    resolver, resolver_port = await start_resolver({"platforms.demo.lan"})
    inventory_path = write_demo_inventory(state / "inventory.yaml", shipped, REAL_WARD, urls)
    _teams_in_vietnamese(inventory_path)
    inventory = load_inventory(inventory_path)

    simulated = [code for code in inventory.wards if code != REAL_WARD]
    (state / "simulated-wards.txt").write_text("\n".join(simulated) + "\n")
    fleet = [
        simulated_ward(inventory, code, issue_token(tokens_path, code).reveal())
        for code in simulated
    ]
    faults = living_faults(fleet, {code: w.cluster for code, w in inventory.wards.items()},
                           scale)
    real_token = issue_token(tokens_path, REAL_WARD)
    (state / "agent.token").write_text(real_token.reveal() + "\n")
    (state / "agent.token").chmod(0o600)

    port = free_port(args.port)
    collector_url = f"http://127.0.0.1:{port}"
    agent_config = {
        "ward": REAL_WARD,
        "collector_url": collector_url,
        "token_file": "agent.token",
        "icmp": {"targets": ["127.0.0.1"], "interval_seconds": interval, "count": 5},
        "http": {"platforms": urls, "interval_seconds": interval},
        "dns": {"names": ["platforms.demo.lan"], "resolver": "127.0.0.1",
                "port": resolver_port, "interval_seconds": interval},
        # A short test on loopback every ten minutes: enough to show the contract check.
        "bandwidth": {"link": "main", "interval_seconds": 600 * scale, "duration_seconds": 2,
                      "warmup_seconds": 1, "streams": 2},
        "spool": {"path": "agent-spool.sqlite3"},
        "push": {"interval_seconds": min(2.0, interval)},
        "jitter_seconds": min(1.0, interval / 2),
        "readiness": readiness_section(inventory, REAL_WARD),
    }
    (state / "agent.yaml").write_text(yaml.safe_dump(agent_config, allow_unicode=True))

    python = sys.executable
    logs = state / "logs"
    logs.mkdir()
    alerting = not args.no_alerting
    prometheus_port, alertmanager_port = free_port(9090), free_port(9093)
    mailbox: Mailbox | None = None
    services: list[stack.Service] = []
    notes: list[str] = []
    alertmanager = prometheus = None
    if alerting:
        for name in (stack.PROMETHEUS, stack.ALERTMANAGER):
            if stack.binary(name) is None:
                notes.append(f"{name} is not installed (Debian package {name}): "
                             "the demo runs without it")
    collector_args = [
        python, "-m", "collector", "serve", "--listen", f"127.0.0.1:{port}",
        "--inventory", str(inventory_path), "--tokens", str(tokens_path),
        "--database", str(state / "collector.sqlite3"),
        "--simulated-wards", str(state / "simulated-wards.txt"),
        "--report-interval", str(interval)]
    if alerting and stack.binary(stack.ALERTMANAGER):
        collector_args += ["--alertmanager-url", f"http://127.0.0.1:{alertmanager_port}"]
    if alerting and stack.binary(stack.PROMETHEUS):
        collector_args += ["--prometheus-url", f"http://127.0.0.1:{prometheus_port}"]
    # A week of simulated history first, so every ward page has graphs and changes.
    seeded = await seed_history(state / "collector.sqlite3", inventory, fleet, time.time(),
                                interval)
    notes.append(f"a week of simulated history for the simulated wards ({seeded} reports)")
    collector = _spawn(collector_args, logs / "collector.log")
    agent: subprocess.Popen[bytes] | None = None
    fleet_task: asyncio.Task[None] | None = None
    try:
        if alerting:
            bot_token = "123456:demo-token"
            smtp_password = "demo-smtp-password"
            mailbox = Mailbox(state / "mailbox", smtp_password, bot_token)
            await mailbox.start()
            password_file = state / "alertmanager" / "smtp-password"
            password_file.parent.mkdir(parents=True, exist_ok=True)
            password_file.write_text(smtp_password, encoding="utf-8")
            delivery = Delivery(
                smtp_smarthost=mailbox.smtp_smarthost, smtp_auth_username=SMTP_USER,
                smtp_auth_password_file=str(password_file), smtp_require_tls=False,
                telegram_api_url=mailbox.telegram_api_url,
                chat_relay_url=mailbox.chat_relay_url)
            alertmanager = stack.start_alertmanager(
                state / "alertmanager", inventory, delivery, bot_token, alertmanager_port,
                scale)
            prometheus = stack.start_prometheus(
                state / "prometheus", f"127.0.0.1:{port}", alertmanager, collector_url,
                prometheus_port, scale)
            services = [s for s in (alertmanager, prometheus) if s is not None]
            for service in services:
                await stack.wait_ready(service, 30)
        await wait_healthy(collector_url, 30, collector)
        agent = _spawn(
            [python, str(ROOT / "agent.py"), "run", "--config", str(state / "agent.yaml")],
            logs / "agent.log",
        )
        fleet_task = asyncio.create_task(run_fleet(
            collector_url, fleet, interval, faults=faults, cycle_seconds=CYCLE_SECONDS * scale))
        print(banner(args, inventory, collector_url, platforms_base, resolver_port, len(fleet),
                     faults, scale, prometheus, alertmanager, mailbox, notes), flush=True)
        (state / "urls.json").write_text(json.dumps({
            "collector": collector_url,
            "prometheus": prometheus.url if prometheus else None,
            "alertmanager": alertmanager.url if alertmanager else None,
            "mailbox": mailbox.url if mailbox else None,
            "faults": [dataclasses.asdict(f) for f in faults],
            "pids": [p.pid for p in (collector, agent, *(s.process for s in services)) if p],
        }, indent=2))
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), args.duration)
    finally:
        if fleet_task is not None:
            fleet_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await fleet_task
        for process in (agent, collector, *(s.process for s in services)):
            stack.stop(process)
        if mailbox is not None:
            await mailbox.stop()
        await platforms_runner.cleanup()
        resolver.close()
        print("demo stopped", flush=True)
    return 0


FAULT_NAMES = {"link_cut": "line cut", "lossy": "30 % packet loss",
               "ups_on_battery": "UPS on battery", "platform_down": "a platform down",
               "silent": "agent silent"}


def banner(args: argparse.Namespace, inventory: Inventory, collector_url: str,
           platforms_base: str, resolver_port: int, fleet_size: int, faults: list[Fault],
           scale: float, prometheus: stack.Service | None, alertmanager: stack.Service | None,
           mailbox: Mailbox | None, notes: list[str]) -> str:
    minutes = CYCLE_SECONDS * scale / 60
    lines = [
        f"sansang demo — {inventory.city}, {len(inventory.wards)} wards"
        + (" (--fast: rules and faults ten times faster)" if args.fast else ""),
        f"  collector       {collector_url}/",
        f"  dispatch list   {collector_url}/dispatch   (acknowledge a ward there: it is "
        "silenced in Alertmanager)",
        f"  metrics         {collector_url}/metrics",
    ]
    if prometheus:
        lines.append(f"  prometheus      {prometheus.url}/alerts   (the generated rules)")
    if alertmanager:
        lines.append(f"  alertmanager    {alertmanager.url}/   (the generated routes)")
    if mailbox:
        lines.append(f"  mailbox         {mailbox.url}/   (every e-mail and chat message; "
                     f"files in {mailbox.folder}/)")
    lines += [
        f"  grafana         dashboards in {ROOT / 'dashboards' / 'json'}/ "
        "(Grafana does not run here: see README, 'Grafana')",
        f"  real agent      ward {REAL_WARD} ({inventory.wards[REAL_WARD].name}), "
        "probing 127.0.0.1",
        f"                  loopback stand-ins for the four platforms at {platforms_base}/,",
        f"                  a loopback resolver on port {resolver_port}, and a bandwidth test",
        "                  against the collector",
        f"  simulated       {fleet_size} wards, series labelled simulated=\"true\" "
        "(not real measurements)",
        f"  living faults   every {minutes:g} min:",
    ]
    for fault in faults:
        ward = inventory.wards[fault.ward]
        lines.append(f"                  {fault.ward} {ward.name} ({ward.cluster}): "
                     f"{FAULT_NAMES.get(fault.profile, fault.profile)} from "
                     f"{fault.start:g} s to {fault.end:g} s")
    lines += [f"  note            {note}" for note in notes]
    lines += [f"  logs and state  {args.state_dir}/", "Press Ctrl-C to stop."]
    return "\n" + "\n".join(lines)


def main() -> int:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    return asyncio.run(main_async(build_parser().parse_args()))


if __name__ == "__main__":
    sys.exit(main())
