"""The load generator, run as its own process so it never shares a core's time with the server.

``python -m bench.loadgen SPEC.json`` reads prebuilt requests (a pickled list of
bytes), sends them over ``concurrency`` keep-alive connections for a warm-up and
then for the measured window, and prints one JSON object: counts, statuses,
latency percentiles, and the CPU time this client itself used.
"""

from __future__ import annotations

import asyncio
import json
import pickle
import resource
import sys
import time
from pathlib import Path
from typing import Any

from bench.httpload import closed_loop, percentile


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def run(spec: dict[str, Any], requests: list[bytes]) -> dict[str, Any]:
    items = iter(requests)
    host, port, concurrency = spec["host"], int(spec["port"]), int(spec["concurrency"])
    if spec.get("warmup_seconds", 0) > 0:
        await closed_loop(host, port, items, concurrency, float(spec["warmup_seconds"]))
    cpu_before, window_start = cpu_seconds(), time.time()
    tally, elapsed = await closed_loop(host, port, items, concurrency,
                                       float(spec["duration_seconds"]))
    client_cpu, window_end = cpu_seconds() - cpu_before, time.time()
    ok, failed = tally.count(int(spec.get("ok_status", 200)))
    return {
        "requests": ok + failed,
        "ok": ok,
        "failed": failed,
        "statuses": {str(k): v for k, v in sorted(tally.statuses.items())},
        "errors": tally.errors,
        "first_error": tally.first_error,
        "elapsed_seconds": elapsed,
        "ok_per_second": ok / elapsed if elapsed > 0 else 0.0,
        "p50_seconds": percentile(tally.latencies, 50),
        "p99_seconds": percentile(tally.latencies, 99),
        "client_cpu_seconds": client_cpu,
        "client_cpu_share": client_cpu / elapsed if elapsed > 0 else 0.0,
        "exhausted": next(items, None) is None,
        "window": [window_start, window_end],
    }


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    spec = json.loads(Path(args[0]).read_text())
    started = time.perf_counter()
    requests: list[bytes] = pickle.loads(Path(spec["requests"]).read_bytes())
    result = asyncio.run(run(spec, requests))
    result["wall_seconds"] = time.perf_counter() - started
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
