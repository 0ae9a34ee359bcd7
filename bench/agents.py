"""Thousands of simulated ward agents in one process, each pushing its round on its own schedule.

``python -m bench.agents SPEC.json``: every agent keeps its own keep-alive
connection (as agents behind NAT each would), pushes one round of reports with
its agent status every ``interval`` seconds, starting at an even spread over
the first interval, for ``duration`` seconds. Prints one JSON object: pushes,
failures by kind, latency percentiles, and this process's CPU time.
"""

from __future__ import annotations

import asyncio
import json
import random
import resource
import sys
import time
from pathlib import Path
from typing import Any

from bench.fleet import round_of_reports
from bench.httpload import Connection, LoadError, Tally, build_request, percentile
from demo.fleet import SimulatedWard

REQUEST_TIMEOUT_SECONDS = 30.0


async def agent(ward: SimulatedWard, port: int, offset: float, interval: float,
                stop_at: float, tally: Tally, rng: random.Random) -> None:
    connection = Connection("127.0.0.1", port)
    next_push = time.monotonic() + offset
    try:
        while True:
            await asyncio.sleep(max(0.0, next_push - time.monotonic()))
            if time.monotonic() >= stop_at:
                return
            reports = round_of_reports(ward, time.time(), rng)
            body = json.dumps({"reports": reports,
                               "agent": {"dropped_reports_total": 0, "spooled_reports": 0}},
                              separators=(",", ":")).encode()
            raw = build_request("POST", "127.0.0.1", port, "/api/v1/reports", body,
                                {"Authorization": f"Bearer {ward.token}",
                                 "Content-Type": "application/json"})
            sent = time.perf_counter()
            try:
                status, _ = await asyncio.wait_for(connection.request(raw),
                                                   REQUEST_TIMEOUT_SECONDS)
                tally.answered(status, time.perf_counter() - sent)
            except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError,
                    LoadError, TimeoutError) as exc:
                tally.failed(exc)
                await connection.close()
            next_push += interval
    finally:
        await connection.close()


async def run(spec: dict[str, Any], wards: list[SimulatedWard]) -> dict[str, Any]:
    interval, duration = float(spec["interval_seconds"]), float(spec["duration_seconds"])
    port = int(spec["port"])
    tally = Tally()
    started = time.monotonic()
    stop_at = started + duration
    rng = random.Random(2025)
    wall_start = time.time()
    await asyncio.gather(*(
        agent(ward, port, interval * index / len(wards), interval, stop_at, tally,
              random.Random(rng.random()))
        for index, ward in enumerate(wards)))
    usage = resource.getrusage(resource.RUSAGE_SELF)
    ok, failed = tally.count()
    return {
        "agents": len(wards), "interval_seconds": interval,
        "elapsed_seconds": time.monotonic() - started, "window": [wall_start, time.time()],
        "pushes": ok + failed, "ok": ok, "failed": failed,
        "statuses": {str(k): v for k, v in sorted(tally.statuses.items())},
        "errors": tally.errors, "first_error": tally.first_error,
        "p50_seconds": percentile(tally.latencies, 50),
        "p99_seconds": percentile(tally.latencies, 99),
        "max_seconds": max(tally.latencies) if tally.latencies else None,
        "client_cpu_seconds": usage.ru_utime + usage.ru_stime,
    }


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    spec = json.loads(Path(args[0]).read_text())
    wards = [SimulatedWard(**w) for w in json.loads(Path(spec["wards"]).read_text())]
    print(json.dumps(asyncio.run(run(spec, wards))), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
