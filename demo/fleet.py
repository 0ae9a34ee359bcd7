"""A simulated fleet of wards that push plausible reports through the real ingest API.

Each simulated ward has a base profile drawn from its code (healthy, lossy,
slow, below contract, a platform down, or silent), so the board shows a
realistic mix and the same ward behaves the same way on every run. On top of
that, a few healthy wards live through faults that start and end on a schedule
(``Fault``: a cut line, loss that comes and goes, a UPS on battery, a platform
outage, an agent falling silent), repeated every cycle, so alerts fire and
resolve while one watches. These wards are marked simulated in the collector;
none of this touches a network beyond loopback.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import itertools
import logging
import random
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import aiohttp

from inventory.model import PLATFORM_IDS, Inventory

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


@dataclass(frozen=True)
class Fault:
    """``ward`` runs ``profile`` from ``start`` to ``end`` seconds into every cycle."""

    ward: str
    profile: str
    start: float
    end: float


# Production seconds into a 30-minute cycle: the first fault within a minute, every kind
# of alert firing within five, each fault over before the cycle starts again.
FAULT_SCHEDULE = (("link_cut", 60, 420), ("lossy", 120, 720), ("ups_on_battery", 180, 600),
                  ("platform_down", 240, 900), ("silent", 300, 780))
CYCLE_SECONDS = 1800.0
PUSHES_AT_ONCE = 16


def living_faults(wards: Sequence[SimulatedWard], clusters: dict[str, str],
                  time_scale: float = 1.0) -> list[Fault]:
    """The schedule's faults, each on a healthy ward of a cluster not yet used (so each
    fault reaches a different team), the times multiplied by ``time_scale``."""
    chosen: list[SimulatedWard] = []
    for ward in sorted(wards, key=lambda w: w.code):
        if ward.profile == "healthy" and clusters.get(ward.code) not in {
                clusters.get(c.code) for c in chosen}:
            chosen.append(ward)
        if len(chosen) == len(FAULT_SCHEDULE):
            break
    return [Fault(ward.code, profile, start * time_scale, end * time_scale)
            for ward, (profile, start, end) in zip(chosen, FAULT_SCHEDULE, strict=False)]


def profile_now(ward: SimulatedWard, faults: Sequence[Fault], elapsed: float,
                cycle_seconds: float) -> str:
    """The ward's profile ``elapsed`` seconds after the fleet started."""
    into_cycle = elapsed % cycle_seconds
    for fault in faults:
        if fault.ward == ward.code and fault.start <= into_cycle < fault.end:
            return fault.profile
    return ward.profile


def simulated_ward(inventory: Inventory, code: str, token: str,
                   profile: str | None = None) -> SimulatedWard:
    """Ward ``code`` of ``inventory`` as the fleet simulates it: its own profile (or
    ``profile``) and its first link's contracted rate, when it has a link."""
    links = inventory.wards[code].links
    return SimulatedWard(code, token, profile or profile_for(code),
                         links[0].download_bytes_per_second if links else None)


def profile_for(code: str) -> str:
    digest = hashlib.sha256(code.encode()).digest()
    return PROFILES[digest[0] % len(PROFILES)]


def simulated_reports(ward: SimulatedWard, now: float, rng: random.Random) -> list[dict[str, Any]]:
    profile = ward.profile
    base = {"slow": 0.140, "jittery": 0.045}.get(profile, 0.012)
    rtts = [max(0.0005, rng.gauss(base, 0.045 if profile == "jittery" else 0.002))
            for _ in range(10)]
    # A silent ward had trouble before it fell silent: something for the inhibition to hide.
    received = {"lossy": 7, "silent": 7, "link_cut": 0}.get(profile, 10)
    rtts = rtts[:received]
    icmp: dict[str, Any] = {
        "up": bool(rtts), "host": "core.city", "sent": 10, "received": received,
        "loss_ratio": (10 - received) / 10, "rtts_seconds": rtts,
        "rtt_min_seconds": None, "rtt_avg_seconds": None, "rtt_max_seconds": None,
        "jitter_seconds": None, "error": None if rtts else "100 % packet loss",
    }
    if rtts:
        icmp.update(rtt_min_seconds=min(rtts), rtt_avg_seconds=sum(rtts) / len(rtts),
                    rtt_max_seconds=max(rtts), jitter_seconds=sum(
                        abs(b - a) for a, b in itertools.pairwise(rtts)) / max(1, len(rtts) - 1))
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
    reports.append(_report(ward.code, now, "snmp", "printer-1", simulated_printer(ward.code)))
    return reports


def simulated_printer(code: str) -> dict[str, Any]:
    """A ward's printer: one in six nearly out of toner (a notice on its page, never a
    failure: the demo's printers are not ``supplies_required``)."""
    low = hashlib.sha256(f"printer:{code}".encode()).digest()[0] % 6 == 0
    return {
        "up": True, "target": "printer-1", "version": "2c", "profile": "printer",
        "sys_name": f"printer-{code}",
        "printer": {"status": "idle", "device_status": "warning" if low else "running",
                    "errors": ["low_toner"] if low else [],
                    "supplies": [
                        {"description": "Black Toner", "kind": "toner",
                         "level_ratio": 0.06 if low else 0.55},
                        {"description": "Drum Unit", "kind": "drum", "level_ratio": 0.8}]},
    }


def _report(ward: str, now: float, kind: str, target: str,
            result: dict[str, Any]) -> dict[str, Any]:
    return {"id": uuid.uuid4().hex, "ward": ward, "measured_at": now, "kind": kind,
            "target": target, "result": result}


async def run_fleet(collector_url: str, wards: list[SimulatedWard], interval_seconds: float,
                    rounds: int | None = None, faults: Sequence[Fault] = (),
                    cycle_seconds: float = CYCLE_SECONDS) -> None:
    """Push a round of reports for every non-silent ward each interval (forever by default),
    each ward in its profile of the moment (``faults``, repeated every ``cycle_seconds``)."""
    rng = random.Random(2025)
    url = collector_url.rstrip("/") + "/api/v1/reports"
    done = 0
    began = time.monotonic()
    # Pushes of one round go out side by side, as a fleet's agents do: one after the other,
    # a round of a whole city takes longer than a compressed interval, and every ward
    # would look silent.
    in_flight = asyncio.Semaphore(PUSHES_AT_ONCE)
    async with aiohttp.ClientSession() as session:

        async def push(ward: SimulatedWard, body: dict[str, Any]) -> None:
            async with in_flight:
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

        while rounds is None or done < rounds:
            started = time.monotonic()
            now = time.time()
            pushes = []
            for ward in wards:
                profile = profile_now(ward, faults, started - began, cycle_seconds)
                if profile == "silent" and (done > 0 or ward.profile != "silent"):
                    continue  # a silent ward reported once at start; a fault just stops
                if profile != ward.profile:
                    ward = dataclasses.replace(ward, profile=profile)
                pushes.append(push(ward, {"reports": simulated_reports(ward, now, rng)}))
            await asyncio.gather(*pushes)
            done += 1
            took = time.monotonic() - started
            if took > interval_seconds:
                log.warning("a round of the simulated fleet took %.1f s, more than its "
                            "interval of %.1f s: its wards may look silent", took,
                            interval_seconds)
            await asyncio.sleep(max(0.0, interval_seconds - took))
