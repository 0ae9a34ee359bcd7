"""A week of simulated history for the demo's simulated wards, written into the collector's
store before the collector starts, so every ward page has graphs, changes and availability.

Only the kinds the history draws (ICMP every 5 minutes over the last day and every 15
before, a bandwidth test an hour) and the state changes and daily verdicts that follow
from them. Each ward lives its base profile (as the live fleet does), and a healthy one
has an episode of loss, slowness or a cut line on some days. Report ids start with
``simulated-``, and the wards themselves are marked simulated; the real ward gets none.
Writes go through the store in batches: a few seconds for the whole city.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import random
import time
import zoneinfo
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from collector.state import VERDICT, FleetState
from collector.store import ReportStore, StoredReport
from demo.fleet import SimulatedWard, simulated_reports
from inventory import criteria
from inventory.model import Inventory
from probes import PROBES
from probes.bandwidth import BandwidthResult
from probes.icmp import IcmpResult

DAYS = 7
RECENT_STEP_SECONDS = 300.0  # the last day: a bucket of the day's graph each
OLDER_STEP_SECONDS = 900.0
BANDWIDTH_STEP_SECONDS = 3600.0
BATCH = 5000
# The checks each profile fails (a cut line loses every ping, so the platforms and the
# resolver are out of reach too).
FAILS: dict[str, tuple[str, ...]] = {
    "healthy": (), "lossy": ("loss",), "slow": ("latency",), "jittery": ("jitter",),
    "platform_down": ("platforms",), "below_contract": ("bandwidth",),
    "ups_on_battery": ("power",), "device_down": ("devices",), "dns_slow": ("dns",),
    "link_cut": ("loss", "platforms", "dns"), "silent": ("agent",),
}
EPISODES = ("lossy", "slow", "link_cut")
# A silent ward's agent stopped this long before the demo starts.
SILENT_FOR_SECONDS = 3 * 3600.0

Episode = tuple[float, float, str]  # start, end, profile


def episodes(ward: SimulatedWard, start: float, now: float) -> list[Episode]:
    """The ward's profile over the week: its base profile throughout, except a healthy
    ward's episodes and a silent ward's silence at the end."""
    rng = random.Random(int.from_bytes(hashlib.sha256(ward.code.encode()).digest()[:8]))
    if ward.profile == "silent":
        return [(now - SILENT_FOR_SECONDS, now, "silent")]
    if ward.profile != "healthy":
        return []
    found = []
    day = start
    while day < now - 86400:
        if rng.random() < 0.35:
            begin = day + rng.uniform(0, 86400 - 7200)
            found.append((begin, begin + rng.uniform(1200, 7200), rng.choice(EPISODES)))
        day += 86400
    return found


def profile_at(ward: SimulatedWard, at: float, found: Sequence[Episode]) -> str:
    for begin, end, profile in found:
        if begin <= at < end:
            return profile
    return ward.profile


def icmp_report(ward: SimulatedWard, at: float, profile: str, rng: random.Random,
                zone: zoneinfo.ZoneInfo) -> StoredReport:
    hour = dt.datetime.fromtimestamp(at, zone).hour
    busy = 0.006 if 8 <= hour < 17 else 0.0  # office hours load the line a little
    base = {"slow": 0.140, "jittery": 0.045}.get(profile, 0.012) + busy
    spread = 0.045 if profile == "jittery" else 0.002 + busy / 2
    received = {"lossy": 7, "link_cut": 0}.get(profile, 10)
    # A round's average, fastest and slowest from three draws, not ten pings: a week of a
    # city is ~150,000 rounds, and the graphs only show those three.
    average = max(0.001, rng.gauss(base, spread / 3))
    fastest = max(0.0005, average - abs(rng.gauss(0, spread)) * 1.5)
    slowest = average + abs(rng.gauss(0, spread)) * 2
    up = received > 0
    result = IcmpResult(
        up=up, host="core.city", sent=10, received=received,
        loss_ratio=(10 - received) / 10,
        rtt_min_seconds=fastest if up else None, rtt_avg_seconds=average if up else None,
        rtt_max_seconds=slowest if up else None,
        error=None if up else "100 % packet loss")
    return _stored(ward, at, "icmp", "core.city", result.model_dump_json())


def bandwidth_report(ward: SimulatedWard, at: float, profile: str,
                     rng: random.Random) -> StoredReport | None:
    if not ward.contract_bytes_per_second or profile == "link_cut":
        return None
    share = rng.uniform(0.4, 0.6) if profile == "below_contract" else rng.uniform(0.85, 0.98)
    rate = ward.contract_bytes_per_second * share
    result = BandwidthResult(up=True, url="http://collector.simulated/", streams=4,
                             download_bytes_per_second=rate,
                             upload_bytes_per_second=rate * rng.uniform(0.9, 0.99))
    return _stored(ward, at, "bandwidth", "main", result.model_dump_json())


def _stored(ward: SimulatedWard, at: float, kind: str, target: str, result: str
            ) -> StoredReport:
    digest = hashlib.blake2b(f"{ward.code} {kind} {target} {at}".encode(), digest_size=12)
    return StoredReport(f"simulated-{digest.hexdigest()}", ward.code, kind, target, at, result)


def changes_of(ward: SimulatedWard, start: float, found: Sequence[Episode],
               judged: dict[str, tuple[str, bool | None]], stale_at: float | None
               ) -> list[tuple[str, float, str, str | None, str]]:
    """The checks' and the verdict's state changes that the profile over the week makes.

    ``judged`` is each check's (state, ok) as the collector judges the ward's last round:
    a check it finds not configured or without data was never anything else; one it finds
    stale (a silent ward's) went stale at ``stale_at``."""
    moments = sorted({start, *(t for begin, end, _ in found for t in (begin, end))})
    if stale_at is not None:
        moments.append(stale_at)
    states: dict[str, str] = {}
    out: list[tuple[str, float, str, str | None, str]] = []
    for at in moments:
        failing = FAILS.get(profile_at(ward, at, found), ())
        now_states: dict[str, str] = {}
        ready = True
        for check in criteria.CHECKS:
            state, ok = judged.get(check.name, ("no_data", None))
            if state in ("pass", "fail") or (state == "stale" and (
                    stale_at is None or at < stale_at)):
                state, ok = ("fail", False) if check.name in failing else ("pass", True)
            now_states[check.name] = state
            ready = ready and ok is True
        now_states[VERDICT] = "ready" if ready else "not_ready"
        for subject, after in now_states.items():
            if states.get(subject) != after:
                out.append((ward.code, at, subject, states.get(subject), after))
                states[subject] = after
    return out


def judged_states(inventory: Inventory, rounds: dict[str, list[dict[str, Any]]], at: float,
                  report_interval_seconds: float) -> dict[str, dict[str, tuple[str, bool | None]]]:
    """Each ward's checks as the collector will judge its last round at start-up."""
    fleet = FleetState(inventory, rounds, report_interval_seconds)
    judged: dict[str, dict[str, tuple[str, bool | None]]] = {}
    for code, reports in rounds.items():
        fleet.apply_reports(code, [
            (r["kind"], r["target"], r["measured_at"],
             PROBES[r["kind"]].result_type.model_validate(r["result"])) for r in reports])
        fleet.refresh_ward(code, at)
        judged[code] = {name: (o.state, o.ok) for name, o in fleet.wards[code].outcomes.items()}
    return judged


def daily_verdicts(changes: Sequence[tuple[str, float, str, str | None, str]],
                   zone: zoneinfo.ZoneInfo) -> dict[tuple[str, str], bool]:
    """Each ward's verdict at the end of each day (the readiness table's rows)."""
    days: dict[tuple[str, str], bool] = {}
    for code, at, subject, _, after in sorted(changes, key=lambda change: change[1]):
        if subject == VERDICT:
            days[(dt.datetime.fromtimestamp(at, zone).date().isoformat(), code)] = (
                after == "ready")
    return days


async def seed_history(database: Path | str, inventory: Inventory,
                       wards: Sequence[SimulatedWard], now: float,
                       report_interval_seconds: float = criteria.DEFAULT_REPORT_INTERVAL_SECONDS
                       ) -> int:
    """Write the week before ``now`` for ``wards``; the number of reports written."""
    began = time.monotonic()
    zone = zoneinfo.ZoneInfo(inventory.timezone)
    start = now - DAYS * 86400
    store = ReportStore(database)
    await store.start()
    written = 0
    try:
        batch: list[StoredReport] = []
        for ward in wards:
            rng = random.Random(ward.code)
            found = episodes(ward, start, now)
            at = next_bandwidth = start
            while at < silent_from(ward, now) - 60:
                profile = profile_at(ward, at, found)
                batch.append(icmp_report(ward, at, profile, rng, zone))
                if at >= next_bandwidth:
                    next_bandwidth += BANDWIDTH_STEP_SECONDS
                    report = bandwidth_report(ward, at, profile, rng)
                    if report is not None:
                        batch.append(report)
                at += RECENT_STEP_SECONDS if at > now - 86400 else OLDER_STEP_SECONDS
                if len(batch) >= BATCH:
                    await store.add(batch)
                    written += len(batch)
                    batch = []
        # A last full round each, as late as can be (the collector starts next and must
        # find it fresh): it starts from every check's state as the changes end, not from
        # the two kinds above alone (then a moment of "no data" in every ward's list).
        end = now + (time.monotonic() - began)
        rounds = {ward.code: simulated_reports(
            ward, end if ward.profile != "silent" else silent_from(ward, now) - 30,
            random.Random(ward.code)) for ward in wards}
        batch += [_stored(ward, last["measured_at"], last["kind"], last["target"],
                          json.dumps(last["result"]))
                  for ward in wards for last in rounds[ward.code]]
        await store.add(batch)
        written += len(batch)
        judged = judged_states(inventory, rounds, end, report_interval_seconds)
        changes = [change for ward in wards for change in changes_of(
            ward, start, episodes(ward, start, now), judged[ward.code],
            silent_from(ward, now) + criteria.agent_silent_after_seconds(
                inventory.thresholds_for(ward.code), report_interval_seconds)
            if ward.profile == "silent" else None)]
        store.record_changes(changes)
        store.record_readiness(daily_verdicts(changes, zone))
    finally:
        await store.close()
    return written


def silent_from(ward: SimulatedWard, now: float) -> float:
    """When the ward's agent fell silent (``now`` for one that did not)."""
    return now - SILENT_FOR_SECONDS if ward.profile == "silent" else now
