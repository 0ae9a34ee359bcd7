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

PROFILES = ("healthy",) * 12 + (
    "lossy", "slow", "jittery", "platform_down", "silent", "below_contract", "ups_on_battery",
    "device_down", "dns_slow",
)


@dataclass(frozen=True)
class SimulatedWard:
    code: str
    token: str
    profile: str
    # The link's contracted rate in bytes/s (both directions), when the ward has one.
    contract_bytes_per_second: float | None = None


def profile_for(code: str) -> str:
    digest = hashlib.sha256(code.encode()).digest()
    return PROFILES[digest[0] % len(PROFILES)]


def simulated_reports(ward: SimulatedWard, now: float, rng: random.Random) -> list[dict[str, Any]]:
    profile = ward.profile
    base = {"slow": 0.140, "jittery": 0.045}.get(profile, 0.012)
    rtts = [max(0.0005, rng.gauss(base, 0.045 if profile == "jittery" else 0.002))
            for _ in range(10)]
    # A silent ward had trouble before it fell silent: something for the inhibition to hide.
    received = 7 if profile in ("lossy", "silent") else 10
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
    dns_seconds = rng.uniform(0.3, 0.6) if profile == "dns_slow" else rng.uniform(0.002, 0.03)
    reports.append(_report(ward.code, now, "dns", "platforms.city", {
        "up": True, "name": "platforms.city", "resolver": "10.77.0.53",
        "lookup_seconds": dns_seconds, "addresses": ["10.77.0.10"], "rcode": "NOERROR",
    }))
    reports.append(_report(ward.code, now, "ntp", "ntp.city", {
        "up": True, "server": "ntp.city", "offset_seconds": rng.gauss(0.0, 0.01),
        "delay_seconds": rng.uniform(0.002, 0.02), "stratum": 2, "leap": 0,
    }))
    if ward.contract_bytes_per_second:
        share = rng.uniform(0.4, 0.6) if profile == "below_contract" else rng.uniform(0.9, 0.98)
        rate = ward.contract_bytes_per_second * share
        reports.append(_report(ward.code, now, "bandwidth", "main", {
            "up": True, "url": "http://collector.simulated/", "streams": 4,
            "download_bytes_per_second": rate, "upload_bytes_per_second": rate * 0.97,
            "rtt_seconds": base,
        }))
    router_up = profile != "device_down"
    reports.append(_report(ward.code, now, "snmp", "core-router", {
        "up": router_up, "target": "core-router", "version": "2c",
        "error": None if router_up else "no SNMP answer within 2.0 s",
        **({"profile": "router", "sys_name": f"router-{ward.code}",
            "uptime_seconds": 86400.0 * 12, "cpu_ratio": rng.uniform(0.05, 0.3),
            "memory_used_ratio": rng.uniform(0.3, 0.6),
            "interfaces": [
                {"index": 1, "name": "wan0", "oper_up": True,
                 "in_bytes_total": int(now * 1000), "out_bytes_total": int(now * 400),
                 "in_errors_total": 0, "out_errors_total": 0},
                {"index": 2, "name": "lan0", "oper_up": True,
                 "in_bytes_total": int(now * 300), "out_bytes_total": int(now * 900),
                 "in_errors_total": 0, "out_errors_total": 0},
            ]} if router_up else {}),
    }))
    on_battery = profile == "ups_on_battery"
    reports.append(_report(ward.code, now, "snmp", "ups-1", {
        "up": True, "target": "ups-1", "version": "2c", "profile": "ups",
        "sys_name": f"ups-{ward.code}",
        "ups": {"mib": "ups-mib", "on_battery": on_battery,
                "battery_charge_ratio": 0.42 if on_battery else 1.0,
                "runtime_seconds": 600.0 if on_battery else 3600.0,
                "input_voltage": 0.0 if on_battery else 228.0, "output_voltage": 230.0},
    }))
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
                            reason = (await response.text())[:300]
                            log.warning("ward %s: collector said %s: %s", ward.code,
                                        response.status, reason)
                except aiohttp.ClientError as exc:
                    log.warning("ward %s: %s", ward.code, exc)
            done += 1
            await asyncio.sleep(max(0.0, interval_seconds - (time.monotonic() - started)))
