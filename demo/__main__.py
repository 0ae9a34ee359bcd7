"""``./dev demo``: the whole system on this machine, on loopback only.

Starts the collector (SQLite under .demo/), loopback stand-ins for the four
platforms, one real agent probing 127.0.0.1 and those stand-ins, and a
simulated fleet for every other ward of the inventory, marked simulated.
Prints the URLs and runs until Ctrl-C.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
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

from collector.tokens import issue_token
from demo.fleet import SimulatedWard, profile_for, run_fleet
from demo.inventory import write_demo_inventory
from demo.platforms import platform_urls, start_platforms
from demo.resolver import start_resolver
from inventory.load import DEFAULT_INVENTORY, load_inventory

ROOT = Path(__file__).resolve().parent.parent
REAL_WARD = "26968"  # Phường Tân Sơn Nhất: the one ward measured by a real agent


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
    parser.add_argument("--interval", type=float, default=10.0,
                        help="seconds between probe rounds (default 10)")
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


async def main_async(args: argparse.Namespace) -> int:
    shipped = load_inventory(args.inventory)
    state = args.state_dir
    shutil.rmtree(state, ignore_errors=True)
    state.mkdir(parents=True)
    tokens_path = state / "tokens.yaml"

    platforms_runner, platforms_base = await start_platforms()
    urls = platform_urls(platforms_base)
    resolver, resolver_port = await start_resolver({"platforms.demo.lan"})
    inventory_path = write_demo_inventory(state / "inventory.yaml", shipped, REAL_WARD, urls)
    inventory = load_inventory(inventory_path)

    simulated = [code for code in inventory.wards if code != REAL_WARD]
    (state / "simulated-wards.txt").write_text("\n".join(simulated) + "\n")
    fleet = [
        SimulatedWard(code, issue_token(tokens_path, code).reveal(), profile_for(code),
                      inventory.wards[code].links[0].download_bytes_per_second)
        for code in simulated
    ]
    real_token = issue_token(tokens_path, REAL_WARD)
    (state / "agent.token").write_text(real_token.reveal() + "\n")
    (state / "agent.token").chmod(0o600)

    port = free_port(args.port)
    collector_url = f"http://127.0.0.1:{port}"
    agent_config = {
        "ward": REAL_WARD,
        "collector_url": collector_url,
        "token_file": "agent.token",
        "icmp": {"targets": ["127.0.0.1"], "interval_seconds": args.interval, "count": 5},
        "http": {"platforms": urls, "interval_seconds": args.interval},
        "dns": {"names": ["platforms.demo.lan"], "resolver": "127.0.0.1",
                "port": resolver_port, "interval_seconds": args.interval},
        # A short test on loopback every ten minutes: enough to show the contract check.
        "bandwidth": {"link": "main", "interval_seconds": 600, "duration_seconds": 2,
                      "warmup_seconds": 1, "streams": 2},
        "spool": {"path": "agent-spool.sqlite3"},
        "push": {"interval_seconds": 2},
        "jitter_seconds": 1,
    }
    (state / "agent.yaml").write_text(yaml.safe_dump(agent_config, allow_unicode=True))

    python = sys.executable
    logs = state / "logs"
    logs.mkdir()
    collector = _spawn(
        [python, "-m", "collector", "serve", "--listen", f"127.0.0.1:{port}",
         "--inventory", str(inventory_path), "--tokens", str(tokens_path),
         "--database", str(state / "collector.sqlite3"),
         "--simulated-wards", str(state / "simulated-wards.txt"),
         "--report-interval", str(args.interval)],
        logs / "collector.log",
    )
    agent: subprocess.Popen[bytes] | None = None
    fleet_task: asyncio.Task[None] | None = None
    try:
        await wait_healthy(collector_url, 30, collector)
        agent = _spawn(
            [python, str(ROOT / "agent.py"), "run", "--config", str(state / "agent.yaml")],
            logs / "agent.log",
        )
        fleet_task = asyncio.create_task(run_fleet(collector_url, fleet, args.interval))
        print(f"""
sansang demo — {inventory.city}, {len(inventory.wards)} wards
  collector       {collector_url}/
  metrics         {collector_url}/metrics
  health          {collector_url}/healthz
  real agent      ward {REAL_WARD} ({inventory.wards[REAL_WARD].name}), probing 127.0.0.1
                  loopback stand-ins for the four platforms at {platforms_base}/,
                  a loopback resolver on port {resolver_port}, and a bandwidth test
                  against the collector every ten minutes
  simulated       {len(fleet)} wards, series labelled simulated="true" (not real measurements)
  logs and state  {state}/
Press Ctrl-C to stop.""", flush=True)
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
        for process in (agent, collector):
            if process is not None and process.poll() is None:
                process.terminate()
                try:
                    process.wait(10)
                except subprocess.TimeoutExpired:
                    process.kill()
        await platforms_runner.cleanup()
        resolver.close()
        print("demo stopped", flush=True)
    return 0


def main() -> int:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    return asyncio.run(main_async(build_parser().parse_args()))


if __name__ == "__main__":
    sys.exit(main())
