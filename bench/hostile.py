"""The collector under what a hostile agent or a stranger can do: a restart with every ward
at its full series budget, and pushes while 40 clients guess the NOC password.

Restart: the store is filled straight through SQLite with each ward's newest reports at
its full default budget (four 49-port switches: 992 series), and the real collector is
started on it and timed until ``/healthz`` answers; the peer is the same start at half
the budget (two switches), so the ratio shows whether a start grows linearly with the
series it restores (2.0 is linear). Guessing: a ward pushes a report every 100 ms and
each push's latency is taken, first with nobody else talking, then while 40 clients,
each from its own loopback address (so no single client is throttled), guess random
user names and passwords as fast as the collector answers them.
"""

from __future__ import annotations

import asyncio
import base64
import json
import secrets
import sqlite3
import statistics
import time
import uuid
from pathlib import Path
from typing import Any

import aiohttp
import bcrypt

from bench.fleet import build_fleet
from bench.results import Row, at_most
from bench.scale import Scale
from bench.servers import collector, rss_bytes
from collector.store import ReportStore
from inventory.model import SeriesBudget

ROW_KEYS = [
    ("restart_full_budget", "collector start, every ward at its full series budget", "s"),
    ("restart_full_budget_rss", "collector RSS after that start", "MB"),
    ("push_p99_while_guessing", "push p99 while 40 clients guess the NOC password", "ms"),
]
PORTS = 49
GUESSERS = 40
PUSH_EVERY_SECONDS = 0.1
# Linear in the restored series: twice the series, at most this many times the start.
LINEAR_RATIO = 2.5
# The guessed login may slow a push down this much at the tail, no more.
GUESSING_SLOWDOWN = 3.0


def switch_result(device: int) -> str:
    return json.dumps({
        "up": True, "target": f"switch-{device}.bench.invalid", "version": "2c",
        "profile": "switch", "cpu_ratio": 0.1, "memory_used_ratio": 0.4,
        "interfaces": [{"index": i, "name": f"Gi1/0/{i}", "oper_up": i % 7 != 0,
                        "in_bytes_total": 10**12 + i, "out_bytes_total": 10**11 + i,
                        "in_errors_total": i, "out_errors_total": 0} for i in range(PORTS)],
    }, separators=(",", ":"))


def fill_store(path: Path, codes: list[str], switches: int) -> int:
    """Each ward's newest reports, as a collector would have kept them; the series count."""
    ReportStore(path)  # the schema, as the collector writes it
    db = sqlite3.connect(path)
    now = time.time()
    results = [switch_result(n) for n in range(switches)]
    db.executemany("INSERT INTO latest VALUES (?, ?, ?, ?, ?, ?)", [
        (code, "snmp", f"sw{n}", uuid.uuid4().hex, now, results[n])
        for code in codes for n in range(switches)])
    db.commit()
    db.close()
    return switches * (3 + PORTS * 5)


def timed_start(work: Path, fleet: Any, switches: int) -> tuple[float, float, int]:
    """Seconds from spawn to an answering collector, its RSS (MB), series per ward."""
    work.mkdir(parents=True, exist_ok=True)
    series = fill_store(work / "collector.sqlite3", fleet.codes, switches)
    budget = SeriesBudget()
    assert series <= budget.max_series, (series, budget.max_series)
    started = time.monotonic()
    with collector(work, fleet.inventory_path, fleet.tokens_path, ready_timeout=900) as server:
        seconds = time.monotonic() - started
        return seconds, rss_bytes(server.pid) / 1e6, series


def basic_auth_file(path: Path) -> Path:
    hashed = bcrypt.hashpw(secrets.token_bytes(16), bcrypt.gensalt()).decode()
    path.write_text(f"users:\n  noc: '{hashed}'\n")
    return path


async def push_latencies(url: str, token: str, ward: str, seconds: float) -> list[float]:
    latencies = []
    async with aiohttp.ClientSession() as session:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            report = {"id": uuid.uuid4().hex, "ward": ward, "measured_at": time.time(),
                      "kind": "icmp", "target": "core.bench.invalid",
                      "result": {"up": True, "host": "core.bench.invalid", "sent": 5,
                                 "received": 5, "loss_ratio": 0.0, "rtt_avg_seconds": 0.01}}
            sent = time.monotonic()
            async with session.post(url + "/api/v1/reports", json={"reports": [report]},
                                    headers={"Authorization": f"Bearer {token}"}) as response:
                await response.read()
                if response.status != 200:
                    raise RuntimeError(f"a push was refused: {response.status}")
            latencies.append(time.monotonic() - sent)
            await asyncio.sleep(max(0.0, PUSH_EVERY_SECONDS - (time.monotonic() - sent)))
    return latencies


async def guess(url: str, address: str, stop: asyncio.Event, counts: dict[int, int]) -> None:
    connector = aiohttp.TCPConnector(local_addr=(address, 0))
    async with aiohttp.ClientSession(connector=connector) as session:
        while not stop.is_set():
            pair = f"{secrets.token_hex(4)}:{secrets.token_hex(8)}".encode()
            headers = {"Authorization": "Basic " + base64.b64encode(pair).decode()}
            async with session.get(url + "/metrics", headers=headers) as response:
                await response.read()
                counts[response.status] = counts.get(response.status, 0) + 1
                if response.status == 429:
                    await asyncio.sleep(float(response.headers.get("Retry-After", "1")))


async def guessing_run(url: str, token: str, ward: str, seconds: float
                       ) -> tuple[list[float], list[float], dict[int, int]]:
    quiet = await push_latencies(url, token, ward, seconds)
    stop = asyncio.Event()
    counts: dict[int, int] = {}
    guessers = [asyncio.create_task(guess(url, f"127.0.0.{10 + n}", stop, counts))
                for n in range(GUESSERS)]
    try:
        await asyncio.sleep(0.5)
        loud = await push_latencies(url, token, ward, seconds)
    finally:
        stop.set()
        await asyncio.gather(*guessers, return_exceptions=True)
    return quiet, loud, counts


def p99(values: list[float]) -> float:
    if len(values) < 3:
        return max(values) * 1000
    return statistics.quantiles(values, n=100)[98] * 1000


def run(work: Path, scale: Scale) -> list[Row]:
    fleet = build_fleet(work / "fleet", scale.wards)
    full_seconds, full_rss, full_series = timed_start(work / "full", fleet, 4)
    half_seconds, half_rss, _ = timed_start(work / "half", fleet, 2)
    details = {"wards": scale.wards, "series_per_ward_full": full_series,
               "series_full": full_series * scale.wards}
    rows = [
        Row("restart_full_budget", ROW_KEYS[0][1], "s", full_seconds, half_seconds,
            "half the budget", f"≤ {LINEAR_RATIO}× half (linear)",
            at_most(full_seconds / half_seconds, LINEAR_RATIO),
            note=f"{scale.wards:,} wards × {full_series} series = "
                 f"{full_series * scale.wards:,} series restored", details=details),
        Row("restart_full_budget_rss", ROW_KEYS[1][1], "MB", full_rss, half_rss,
            "half the budget", f"≤ {LINEAR_RATIO}× half", at_most(full_rss / half_rss,
                                                                    LINEAR_RATIO)),
    ]
    guess_seconds = 3.0 if scale.name == "quick" else 20.0
    ward = fleet.wards[0]
    with collector(work / "login", fleet.inventory_path, fleet.tokens_path,
                   extra_args=["--basic-auth-file", str(basic_auth_file(work / "users.yaml")),
                               "--rate", "1000", "--rate-burst", "1000"]) as server:
        quiet, loud, counts = asyncio.run(guessing_run(server.url, ward.token, ward.code,
                                                       guess_seconds))
    quiet_p99, loud_p99 = p99(quiet), p99(loud)
    rows.append(Row(
        "push_p99_while_guessing", ROW_KEYS[2][1], "ms", loud_p99, quiet_p99,
        "no one guessing", f"≤ {GUESSING_SLOWDOWN}× quiet",
        at_most(loud_p99, GUESSING_SLOWDOWN * quiet_p99),
        note=f"{len(loud)} pushes; the guessers' answers: "
             + ", ".join(f"{count} × {status}" for status, count in sorted(counts.items())),
        details={"guess_answers": counts, "pushes": len(loud)}))
    return rows
