"""Ingest: the collector (real process, real SQLite, a token per ward) against Pushgateway.

Every ward is filled with one round first, as a live fleet would be. Then, from
a separate load-generator process:

- single-report requests, one report per request, wards interleaved;
- backlog replay, one ward's batch of about 200 reports per request;
- Pushgateway, each ward's series as a text push to
  ``PUT /metrics/job/sansang/ward/<code>`` (one push carries a whole round).

The collector runs with its per-ward rate limit checked but raised, so the
load generator (which speaks for thousands of wards at once) is not throttled.
"""

from __future__ import annotations

import random
import time
from pathlib import Path
from typing import Any

from bench.fleet import Fleet, request_body, round_of_reports
from bench.httpload import build_request
from bench.loadclient import run_loadgen
from bench.results import Row, all_met, at_least
from bench.scale import Scale
from bench.servers import Sampler, Unavailable, collector, pushgateway
from collector.exposition import FAMILIES, sample_line
from inventory.model import Ward
from probes import PROBES, series_for

SINGLE_TARGET_PER_SECOND = 2000.0
PUSHGATEWAY_TARGET_RATIO = 60.0
BATCHED_TARGET_PER_SECOND = 10000.0
ROUND_SECONDS = 15.0
FILL_CONCURRENCY = 8

ROW_KEYS = [
    ("ingest_single", "ingest: single-report requests/s", "req/s"),
    ("ingest_single_p50", "ingest: single-report p50", "ms"),
    ("ingest_single_p99", "ingest: single-report p99", "ms"),
    ("ingest_batched", "ingest: batched reports/s (backlog replay)", "reports/s"),
    ("ingest_batched_p99", "ingest: batch of ~200 p99", "ms"),
]


def ingest_request(port: int, token: str, reports: list[dict[str, Any]]) -> bytes:
    return build_request("POST", "127.0.0.1", port, "/api/v1/reports", request_body(reports),
                         {"Authorization": f"Bearer {token}",
                          "Content-Type": "application/json"})


def pushgateway_text(ward: Ward, reports: list[dict[str, Any]]) -> bytes:
    """A ward's round as the text a Pushgateway client would push (ward in the grouping key)."""
    lines: dict[str, list[str]] = {}
    newest = 0.0
    for report in reports:
        result = PROBES[report["kind"]].result_type.model_validate(report["result"])
        newest = max(newest, report["measured_at"])
        for name, labels, value in series_for(report["kind"], report["target"], result, ward):
            lines.setdefault(name, []).append(sample_line(name, dict(labels), value))
    lines["sansang_agent_last_report_timestamp_seconds"] = [
        f"sansang_agent_last_report_timestamp_seconds {newest!r}\n"]
    text = "".join(f"# TYPE {name} {FAMILIES[name].type}\n" + "".join(block)
                   for name, block in lines.items())
    return text.encode()


def _ms(value: float | None) -> float | None:
    return None if value is None else value * 1000


def run(work: Path, fleet: Fleet, scale: Scale) -> list[Row]:
    rng = random.Random(7)
    # Every round is newer than the one before (so each report really changes its ward)
    # and recent (so wards are live, not silent, as in a working fleet).
    started_at = time.time() - 900

    def make_round(index: int, base: float) -> list[list[dict[str, Any]]]:
        return [round_of_reports(ward, base + index * ROUND_SECONDS, rng) for ward in fleet.wards]

    fill = make_round(0, started_at)
    reports_per_round = sum(len(r) for r in fill) / len(fill)
    series_per_ward = None
    details: dict[str, Any] = {"wards": len(fleet.wards),
                               "reports_per_ward_round": reports_per_round}

    with collector(work / "collector", fleet.inventory_path, fleet.tokens_path,
                   extra_args=["--rate", "10000", "--rate-burst", "100000"]) as server, \
            Sampler(server.pid) as sampler:
        tokens = [w.token for w in fleet.wards]
        fill_requests = [ingest_request(server.port, t, r) for t, r in zip(tokens, fill,
                                                                         strict=True)]
        filled = run_loadgen(work, "fill", server.port, fill_requests,
                             concurrency=FILL_CONCURRENCY, duration_seconds=3600)
        if filled["failed"]:
            raise RuntimeError(f"filling the collector failed: {filled}")
        details["fill_round_pushes_per_second"] = filled["ok_per_second"]
        details["fill_reports_per_second"] = filled["ok_per_second"] * reports_per_round

        # Single-report requests: round by round, report kind by kind, ward after ward,
        # so that one ward's requests are far apart as they would be in a real fleet.
        single: list[bytes] = []
        for index in range(1, scale.single_rounds + 1):
            this_round = make_round(index, started_at + 300)
            for position in range(max(len(r) for r in this_round)):
                for token, reports in zip(tokens, this_round, strict=True):
                    if position < len(reports):
                        single.append(ingest_request(server.port, token, [reports[position]]))
        ours_single = run_loadgen(work, "single", server.port, single,
                                  concurrency=scale.concurrency,
                                  duration_seconds=scale.single_seconds,
                                  warmup_seconds=scale.warmup_seconds)
        del single
        ours_single["collector_cpu_share"], ours_single["collector_rss_bytes"] = \
            sampler.window(*ours_single["window"])

        # Backlog replay: each batch is one ward's rounds from an outage, oldest first.
        batched: list[bytes] = []
        for ward in fleet.wards[:scale.batches]:
            backlog = [report for index in range(scale.batch_rounds)
                       for report in round_of_reports(ward, started_at + 600
                                                      + index * ROUND_SECONDS, rng)]
            batched.append(ingest_request(server.port, ward.token, backlog))
        batch_size = scale.batch_rounds * reports_per_round
        ours_batched = run_loadgen(work, "batched", server.port, batched,
                                   concurrency=scale.batch_concurrency,
                                   duration_seconds=scale.batched_seconds,
                                   warmup_seconds=min(scale.warmup_seconds, 1.0))
        del batched
        ours_batched["collector_cpu_share"], ours_batched["collector_rss_bytes"] = \
            sampler.window(*ours_batched["window"])
        ours_batched["reports_per_second"] = ours_batched["ok_per_second"] * batch_size
        series_per_ward = server_series_per_ward(server.url, len(fleet.wards))

    details.update(single=ours_single, batched=ours_batched, series_per_ward=series_per_ward,
                   batch_reports=batch_size)

    try:
        peer = _pushgateway(work, fleet, scale, fill, make_round, started_at)
    except Unavailable as exc:
        peer = None
        details["pushgateway_unavailable"] = str(exc)
    details["pushgateway"] = peer

    single_rate = ours_single["ok_per_second"]
    batched_rate = ours_batched["reports_per_second"]
    peer_rate = peer["ok_per_second"] if peer else None
    peer_reports = peer_rate * reports_per_round if peer_rate is not None else None
    ratio = single_rate / peer_rate if single_rate and peer_rate else None
    client_note = (f"load generator used {ours_single['client_cpu_share']:.0%} of a core, "
                   f"collector {_share(ours_single.get('collector_cpu_share'))}")
    if peer is not None:
        client_note += (f"; Pushgateway {_share(peer.get('server_cpu_share'))}, holding "
                        f"{peer['wards_held']:,} of {len(fleet.wards):,} wards when measured "
                        f"(it slows as it fills; filling stops after "
                        f"{scale.pushgateway_fill_seconds:.0f} s)")
    failures = _failures(ours_single, ours_batched, peer)
    rows = [
        Row("ingest_single", ROW_KEYS[0][1], "req/s", single_rate, peer_rate, "Pushgateway",
            target=f"≥ {SINGLE_TARGET_PER_SECOND:,.0f}/s and ≥ {PUSHGATEWAY_TARGET_RATIO:.0f}×",
            met=all_met(at_least(single_rate, SINGLE_TARGET_PER_SECOND),
                        at_least(ratio, PUSHGATEWAY_TARGET_RATIO), not ours_single["failed"]),
            note=f"{len(fleet.wards)} wards; one push to Pushgateway carries a whole round "
                 f"({reports_per_round:.0f} reports); {client_note}" + failures,
            details=details),
        Row("ingest_single_p50", ROW_KEYS[1][1], "ms", _ms(ours_single["p50_seconds"]),
            _ms(peer["p50_seconds"]) if peer else None, "Pushgateway"),
        Row("ingest_single_p99", ROW_KEYS[2][1], "ms", _ms(ours_single["p99_seconds"]),
            _ms(peer["p99_seconds"]) if peer else None, "Pushgateway"),
        Row("ingest_batched", ROW_KEYS[3][1], "reports/s", batched_rate, peer_reports,
            "Pushgateway, per report",
            target=f"≥ {BATCHED_TARGET_PER_SECOND:,.0f}/s",
            met=all_met(at_least(batched_rate, BATCHED_TARGET_PER_SECOND),
                        not ours_batched["failed"]),
            note=f"batches of {batch_size:.0f} reports, {scale.batch_concurrency} at a time; "
                 f"collector {_share(ours_batched.get('collector_cpu_share'))}"),
        Row("ingest_batched_p99", ROW_KEYS[4][1], "ms", _ms(ours_batched["p99_seconds"])),
    ]
    return rows


def _share(value: float | None) -> str:
    return "—" if value is None else f"{value:.0%} of a core"


def _failures(*results: dict[str, Any] | None) -> str:
    problems = [f"{r['failed']} failed ({r['statuses']}, {r['errors']}, {r['first_error']})"
                for r in results if r and r["failed"]]
    return ("; " + "; ".join(problems)) if problems else ""


def server_series_per_ward(url: str, wards: int) -> float | None:
    from tests.lab.servers import http_get

    status, body = http_get(url + "/metrics", timeout=60)
    if status != 200:
        return None
    lines = sum(1 for line in body.splitlines() if line and not line.startswith(b"#"))
    return lines / wards


def _pushgateway(work: Path, fleet: Fleet, scale: Scale,
                 fill: list[list[dict[str, Any]]], make_round: Any,
                 started_at: float) -> dict[str, Any]:
    with pushgateway(work / "pushgateway") as server, Sampler(server.pid) as sampler:
        def push(ward_index: int, reports: list[dict[str, Any]]) -> bytes:
            ward = fleet.wards[ward_index]
            return build_request("PUT", "127.0.0.1", server.port,
                                 f"/metrics/job/sansang/ward/{ward.code}",
                                 pushgateway_text(fleet.inventory.wards[ward.code], reports),
                                 {"Content-Type": "text/plain; version=0.0.4"})

        # Each push re-checks every series Pushgateway holds, so it slows as it fills:
        # filling stops after a time budget, and the figure is taken at that fill.
        filled = run_loadgen(work, "pushgateway-fill", server.port,
                             [push(i, r) for i, r in enumerate(fill)],
                             concurrency=FILL_CONCURRENCY,
                             duration_seconds=scale.pushgateway_fill_seconds)
        if filled["failed"]:
            raise RuntimeError(f"filling Pushgateway failed: {filled}")
        held = filled["ok"]
        timed = [push(i, r) for index in (1, 2)
                 for i, r in enumerate(make_round(index, started_at + 300)[:held])]
        result = run_loadgen(work, "pushgateway", server.port, timed,
                             concurrency=scale.concurrency,
                             duration_seconds=scale.pushgateway_seconds,
                             warmup_seconds=scale.warmup_seconds)
        result["server_cpu_share"], result["server_rss_bytes"] = sampler.window(*result["window"])
        result["fill_pushes_per_second"] = filled["ok_per_second"]
        result["wards_held"] = held
        return result
