"""``/metrics`` at national scale: the collector's pre-rendered chunks against generate_latest.

Both sides expose the very same series (the peer's are parsed from the
collector's own output) and both pay for gzip as they ship: the collector at
its own level (``METRICS_GZIP_LEVEL``) with its own compressor (ISA-L's),
prometheus_client's aiohttp handler through aiohttp's compressor at its default level.

- in process: ``FleetState.render_bytes()`` + gzip, exactly as the
  collector's handler does, against ``generate_latest`` over a client_python
  custom collector + gzip as its aiohttp handler does;
- over HTTP: ``GET /metrics`` with ``Accept-Encoding: gzip`` from the running
  collector (filled through its ingest API), against prometheus_client's aiohttp
  handler serving the same series from its own process.
"""

from __future__ import annotations

import http.client
import pickle
import random
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from aiohttp.compression_utils import ZLibCompressor
from prometheus_client import generate_latest

from bench.fleet import Fleet, round_of_reports
from bench.ingest import FILL_CONCURRENCY, ingest_request
from bench.loadclient import run_loadgen
from bench.peer_exporter import parse_exposition, registry_for
from bench.results import Row, at_most
from bench.scale import Scale
from bench.servers import collector, running
from collector.app import METRICS_GZIP_LEVEL, compress_metrics
from collector.payload import parse_batch
from collector.state import FleetState
from tests.lab.servers import free_port

TARGET_RATIO = 0.05
ROW_KEYS = [
    ("render_inprocess", "/metrics render + gzip, in process", "ms"),
    ("render_http", "/metrics GET with gzip, over HTTP", "ms"),
    ("render_size", "/metrics body, gzip", "MB"),
]


def gzip_like_aiohttp(body: bytes) -> bytes:
    compressor = ZLibCompressor(encoding="gzip")
    return compressor.compress_sync(body) + compressor.flush()


def gzip_like_collector(body: bytes) -> bytes:
    return compress_metrics(body)


def timed(repeats: int, work: Callable[[], Any]) -> tuple[float, Any]:
    """Median seconds of ``repeats`` runs (after one untimed warm-up), and the last output."""
    output = work()
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        output = work()
        times.append(time.perf_counter() - started)
    return statistics.median(times), output


def http_get_gzip(port: int) -> tuple[int, int]:
    """(gzip bytes, status) of one GET /metrics, read to the last byte."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    try:
        connection.request("GET", "/metrics", headers={"Accept-Encoding": "gzip"})
        response = connection.getresponse()
        body = response.read()
        if response.getheader("Content-Encoding") != "gzip":
            raise RuntimeError(f"port {port} did not gzip /metrics")
        return len(body), response.status
    finally:
        connection.close()


def filled_state(fleet: Fleet) -> FleetState:
    """The collector's state, in this process, after one round from every ward."""
    state = FleetState(fleet.inventory)
    rng = random.Random(11)
    now = time.time()
    for ward in fleet.wards:
        batch = parse_batch({"reports": round_of_reports(ward, now, rng)})
        for report in batch.reports:
            state.apply(report.ward, report.kind, report.target, report.measured_at,
                        report.result)
    state.refresh()
    return state


def run(work: Path, fleet: Fleet, scale: Scale) -> list[Row]:
    state = filled_state(fleet)
    ours_seconds, ours_gzip = timed(scale.render_repeats,
                                    lambda: gzip_like_collector(state.render_bytes()))
    text = state.render()
    families = parse_exposition(text)
    registry = registry_for(families)
    peer_seconds, peer_gzip = timed(scale.render_repeats,
                                    lambda: gzip_like_aiohttp(generate_latest(registry)))
    series = sum(len(f.samples) for f in families)
    peer_lines = sum(1 for line in generate_latest(registry).splitlines()
                     if line and not line.startswith(b"#"))
    if peer_lines != series:
        raise RuntimeError(f"the peer exposes {peer_lines} series, the collector {series}")
    render_only, _ = timed(scale.render_repeats, state.render_bytes)
    peer_only, _ = timed(1, lambda: generate_latest(registry))
    # The peer with the collector's gzip (level and compressor), to show what that is worth.
    peer_same_level, _ = timed(1, lambda: gzip_like_collector(generate_latest(registry)))
    details: dict[str, Any] = {
        "series": series, "series_per_ward": series / len(fleet.wards),
        "plain_bytes": len(text.encode()), "ours_gzip_bytes": len(ours_gzip),
        "peer_gzip_bytes": len(peer_gzip),
        "ours_render_only_seconds": render_only, "peer_generate_latest_only_seconds": peer_only,
        "peer_with_collector_gzip_seconds": peer_same_level,
        "collector_gzip_level": METRICS_GZIP_LEVEL,
    }
    http_ours, http_peer = _over_http(work, fleet, scale, details)
    ratio_note = (f"{series:,} series ({series / len(fleet.wards):.0f} a ward), "
                  f"{len(text.encode()) / 1e6:.1f} MB plain; without gzip: ours "
                  f"{render_only * 1000:.1f} ms, generate_latest {peer_only * 1000:.0f} ms; "
                  f"gzip: ours ISA-L level {METRICS_GZIP_LEVEL}, the peer's aiohttp's zlib "
                  f"default (with our gzip the peer takes {peer_same_level * 1000:.0f} ms)")
    ratio = ours_seconds / peer_seconds
    http_ratio = http_ours / http_peer if http_ours and http_peer else None
    return [
        Row("render_inprocess", ROW_KEYS[0][1], "ms", ours_seconds * 1000, peer_seconds * 1000,
            "generate_latest + gzip", target=f"≤ {TARGET_RATIO}×",
            met=at_most(ratio, TARGET_RATIO), note=ratio_note, details=details),
        Row("render_http", ROW_KEYS[1][1], "ms",
            http_ours * 1000 if http_ours else None, http_peer * 1000 if http_peer else None,
            "prometheus_client aiohttp", target=f"≤ {TARGET_RATIO}×",
            met=at_most(http_ratio, TARGET_RATIO)),
        Row("render_size", ROW_KEYS[2][1], "MB", len(ours_gzip) / 1e6, len(peer_gzip) / 1e6,
            "prometheus_client"),
    ]


def _over_http(work: Path, fleet: Fleet, scale: Scale,
               details: dict[str, Any]) -> tuple[float | None, float | None]:
    rng = random.Random(13)
    now = time.time()
    with collector(work / "render-collector", fleet.inventory_path, fleet.tokens_path,
                   extra_args=["--rate", "10000", "--rate-burst", "100000"]) as server:
        requests = [ingest_request(server.port, ward.token, round_of_reports(ward, now, rng))
                    for ward in fleet.wards]
        filled = run_loadgen(work, "render-fill", server.port, requests,
                             concurrency=FILL_CONCURRENCY, duration_seconds=3600)
        if filled["failed"]:
            raise RuntimeError(f"filling the collector failed: {filled}")
        time.sleep(1.5)  # verdicts are refreshed every second
        ours_seconds, (ours_bytes, _) = timed(scale.render_repeats,
                                              lambda: http_get_gzip(server.port))
        connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=120)
        connection.request("GET", "/metrics")
        text = connection.getresponse().read().decode()
        connection.close()
    samples = work / "peer-samples.pickle"
    samples.write_bytes(pickle.dumps(parse_exposition(text)))
    port = free_port()
    with running([sys.executable, "-m", "bench.peer_exporter", str(samples), str(port)],
                 work / "peer-exporter.log", "/healthz", "prometheus_client exporter", port):
        peer_seconds, (peer_bytes, _) = timed(scale.render_repeats, lambda: http_get_gzip(port))
    details.update(http_ours_gzip_bytes=ours_bytes, http_peer_gzip_bytes=peer_bytes)
    return ours_seconds, peer_seconds
