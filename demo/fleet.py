"""A simulated fleet of wards that push plausible reports through the real ingest API.

Each simulated ward has a fixed profile drawn from its code (healthy, lossy,
slow, below contract, a platform down, or silent), so the board shows a
realistic mix and the same ward behaves the same way on every run. These wards
are marked simulated in the collector; none of this touches a network beyond
loopback.
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import logging
import random
import time
import uuid
from dataclasses import dataclass
from typing import Any

import aiohttp

from inventory.model import PLATFORM_IDS

log = logging.getLogger("sansang.demo.fleet")

PROFILES = ("healthy",) * 14 + ("lossy", "slow", "jittery", "platform_down", "silent")


@dataclass(frozen=True)
class SimulatedWard:
    code: str
    token: str
    profile: str


def profile_for(code: str) -> str:
    digest = hashlib.sha256(code.encode()).digest()
    return PROFILES[digest[0] % len(PROFILES)]


def simulated_reports(ward: SimulatedWard, now: float, rng: random.Random) -> list[dict[str, Any]]:
    profile = ward.profile
    base = {"slow": 0.140, "jittery": 0.045}.get(profile, 0.012)
    rtts = [max(0.0005, rng.gauss(base, 0.045 if profile == "jittery" else 0.002))
            for _ in range(10)]
    received = 7 if profile == "lossy" else 10
    rtts = rtts[:received]
    jitter = sum(abs(b - a) for a, b in itertools.pairwise(rtts)) / max(1, len(rtts) - 1)
    icmp = {
        "up": True, "host": "core.city", "sent": 10, "received": received,
        "loss_ratio": (10 - received) / 10, "rtt_min_seconds": min(rtts),
        "rtt_avg_seconds": sum(rtts) / len(rtts), "rtt_max_seconds": max(rtts),
        "jitter_seconds": jitter, "rtts_seconds": rtts,
    }
    reports = [_report(ward.code, now, "icmp", "core.city", icmp)]
    for platform in PLATFORM_IDS:
        down = profile == "platform_down" and platform == "procedures"
        http = {
            "up": not down, "url": f"https://{platform}.simulated/",
            "status_code": 503 if down else 200,
            "response_seconds": rng.uniform(0.05, 0.4),
            "tls_expiry_timestamp_seconds": now + 90 * 86400,
            "error": "HTTP status 503" if down else None,
        }
        reports.append(_report(ward.code, now, "http", platform, http))
    return reports


def _report(ward: str, now: float, kind: str, target: str,
            result: dict[str, Any]) -> dict[str, Any]:
    return {"id": uuid.uuid4().hex, "ward": ward, "measured_at": now, "kind": kind,
            "target": target, "result": result}


async def run_fleet(collector_url: str, wards: list[SimulatedWard], interval_seconds: float,
                    rounds: int | None = None) -> None:
    """Push a round of reports for every non-silent ward each interval (forever by default)."""
    rng = random.Random(2025)
    url = collector_url.rstrip("/") + "/api/v1/reports"
    done = 0
    async with aiohttp.ClientSession() as session:
        while rounds is None or done < rounds:
            started = time.monotonic()
            now = time.time()
            for ward in wards:
                if ward.profile == "silent" and done > 0:
                    continue  # reported once at start, then fell silent
                body = {"reports": simulated_reports(ward, now, rng)}
                try:
                    async with session.post(
                        url, json=body, headers={"Authorization": f"Bearer {ward.token}"}
                    ) as response:
                        if response.status != 200:
                            log.warning("ward %s: collector said %s", ward.code, response.status)
                except aiohttp.ClientError as exc:
                    log.warning("ward %s: %s", ward.code, exc)
            done += 1
            await asyncio.sleep(max(0.0, interval_seconds - (time.monotonic() - started)))
