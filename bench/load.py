"""The load test: a national fleet pushing every 15 s while a real Prometheus scrapes the collector.

3,321 simulated agents (one process, a connection each) push a round of reports
every 15 s for the chosen duration, spread evenly over each interval; Prometheus
(Debian's) scrapes the collector every 15 s. Reported: failed pushes, ingest
latency, the scrape duration Prometheus itself measured, and the collector's
RSS and CPU from /proc. ``--quick``: 150 wards every 2 s, scraped every 2 s.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse
from dataclasses import asdict
from pathlib import Path
from typing import Any

from bench.fleet import build_fleet
from bench.render import http_get_gzip
from bench.results import Row, at_most, table, write_json
from bench.servers import Sampler, Unavailable, binary, collector, prometheus
from tests.lab.servers import ROOT, http_get

P99_TARGET_MS = 100.0
RSS_TARGET_MB = 300.0


def _query(url: str, expr: str) -> float | None:
    status, body = http_get(url + "/api/v1/query?" + urllib.parse.urlencode({"query": expr}),
                            timeout=30)
    if status != 200:
        raise RuntimeError(f"Prometheus refused {expr!r}: {body[:300]!r}")
    result = json.loads(body)["data"]["result"]
    return float(result[0]["value"][1]) if result else None


class TimedScrapes(threading.Thread):
    """GET /metrics with gzip every interval, half an interval after Prometheus starts."""

    def __init__(self, port: int, interval: float):
        super().__init__(name="timed-scrapes", daemon=True)
        self.port, self.interval = port, interval
        self.seconds: list[float] = []
        self._stop_event = threading.Event()

    def run(self) -> None:
        self._stop_event.wait(self.interval / 2)
        while not self._stop_event.is_set():
            started = time.perf_counter()
            try:
                http_get_gzip(self.port)
                self.seconds.append(time.perf_counter() - started)
            except OSError:
                pass
            self._stop_event.wait(max(0.0, self.interval - (time.perf_counter() - started)))

    def stop(self) -> None:
        self._stop_event.set()
        self.join(60)


def run(work: Path, duration: float, quick: bool) -> tuple[list[Row], dict[str, Any]]:
    binary("prometheus")
    wards, interval = (150, 2.0) if quick else (3321, 15.0)
    fleet = build_fleet(work / "fleet", wards)
    wards_path = work / "wards.json"
    wards_path.write_text(json.dumps([asdict(w) for w in fleet.wards]))
    with collector(work / "collector", fleet.inventory_path, fleet.tokens_path,
                   extra_args=["--report-interval", str(interval)]) as server, \
            Sampler(server.pid, period=1.0) as sampler:
        config = {
            "global": {"scrape_interval": f"{interval:.0f}s",
                       "scrape_timeout": f"{min(10.0, interval):.0f}s",
                       "evaluation_interval": f"{interval:.0f}s"},
            "scrape_configs": [{"job_name": "sansang", "static_configs": [
                {"targets": [f"127.0.0.1:{server.port}"]}]}],
        }
        with prometheus(work / "prometheus", config) as prom:
            spec = work / "agents.json"
            spec.write_text(json.dumps({"port": server.port, "wards": str(wards_path),
                                        "interval_seconds": interval,
                                        "duration_seconds": duration}))
            # Prometheus's scrape_duration_seconds includes its own parsing and storing of
            # every sample; a GET timed here, half an interval after, is the collector's part.
            answers = TimedScrapes(server.port, interval)
            answers.start()
            try:
                completed = subprocess.run([sys.executable, "-m", "bench.agents", str(spec)],
                                           cwd=ROOT, capture_output=True, text=True,
                                           check=False, timeout=duration + 300)
            finally:
                answers.stop()
            if completed.returncode != 0 or not completed.stdout.strip():
                raise RuntimeError(f"the simulated agents failed ({completed.returncode}): "
                                   f"{completed.stderr[-2000:]}")
            agents: dict[str, Any] = json.loads(completed.stdout.strip().splitlines()[-1])
            span = f"{max(int(duration), int(interval) * 2)}s"
            job = '{job="sansang"}'
            scrape = {
                "scrapes": _query(prom.url, f"count_over_time(up{job}[{span}])"),
                "scrapes_failed": _query(prom.url, f"count_over_time((up{job} == 0)[{span}:])"),
                "duration_max_seconds": _query(
                    prom.url, f"max_over_time(scrape_duration_seconds{job}[{span}])"),
                "duration_avg_seconds": _query(
                    prom.url, f"avg_over_time(scrape_duration_seconds{job}[{span}])"),
                "samples_scraped": _query(prom.url, f"scrape_samples_scraped{job}"),
            }
        status, body = http_get(server.url + "/healthz", timeout=30)
        summary = json.loads(body) if status == 200 else {}
        cpu_share, rss = sampler.window(*agents["window"])
    rss_mb = rss / 1e6 if rss else None
    p99_ms = agents["p99_seconds"] * 1000 if agents["p99_seconds"] is not None else None
    load_note = (f"{wards:,} agents every {interval:.0f} s for {duration:.0f} s: "
                 f"{agents['pushes']:,} pushes; statuses {agents['statuses']} "
                 f"{agents['errors']} {agents['first_error'] or ''}").rstrip()
    scrape_note = (f"{scrape['scrapes'] or 0:.0f} scrapes ({scrape['scrapes_failed'] or 0:.0f} "
                   f"failed) of {scrape['samples_scraped'] or 0:,.0f} samples; average "
                   f"{(scrape['duration_avg_seconds'] or 0) * 1000:.0f} ms")
    rows = [
        Row("load_errors", "load: failed pushes", "pushes", float(agents["failed"]),
            target="0", met=agents["failed"] == 0, note=load_note),
        Row("load_p50", "load: ingest p50", "ms",
            agents["p50_seconds"] * 1000 if agents["p50_seconds"] is not None else None),
        Row("load_p99", "load: ingest p99", "ms", p99_ms, target=f"≤ {P99_TARGET_MS:.0f} ms",
            met=at_most(p99_ms, P99_TARGET_MS)),
        Row("load_scrape", "load: scrape duration, max (Prometheus)", "ms",
            (scrape["duration_max_seconds"] or 0) * 1000
            if scrape["duration_max_seconds"] is not None else None, note=scrape_note),
        Row("load_metrics_get", "load: GET /metrics with gzip, max", "ms",
            max(answers.seconds) * 1000 if answers.seconds else None,
            note=f"{len(answers.seconds)} GETs timed by the benchmark itself, median "
                 f"{statistics.median(answers.seconds) * 1000 if answers.seconds else 0:.0f} "
                 f"ms; Prometheus's scrape duration also counts parsing and storing the "
                 f"samples on the same two cores"),
        Row("load_rss", "load: collector RSS, max", "MB", rss_mb,
            target=f"≤ {RSS_TARGET_MB:.0f} MB", met=at_most(rss_mb, RSS_TARGET_MB)),
        Row("load_cpu", "load: collector CPU, average", "%",
            cpu_share * 100 if cpu_share is not None else None,
            note=f"the agents' process used {agents['client_cpu_seconds']:.0f} s of CPU; "
                 f"collector at the end: {summary}"),
    ]
    return rows, {"agents": agents, "scrape": scrape, "summary": summary,
                  "metrics_get_seconds": answers.seconds}


def main(work: Path, duration: float, quick: bool, json_path: Path) -> int:
    load_before = os.getloadavg()[0]
    try:
        rows, details = run(work, duration, quick)
    except Unavailable as exc:
        print(f"load test not available: {exc}", file=sys.stderr)
        return 1
    details["load_average"] = {"before": load_before, "after": os.getloadavg()[0]}
    print(f"\nsansang load test ({'quick' if quick else 'national'}; {os.cpu_count()} cores "
          f"shared with whatever else runs: load average {load_before:.1f} before, "
          f"{details['load_average']['after']:.1f} after)\n")
    print(table(rows), flush=True)
    write_json(json_path, rows, {"test": "load", "duration_seconds": duration,
                                 "quick": quick, **details})
    print(f"\nresults written to {json_path}")
    return 0
