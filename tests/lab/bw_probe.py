"""Run the real bandwidth probe from inside a lab host and print its result as JSON.

``python bw_probe.py URL --duration S --warmup S --streams N`` prints the probe's
own ``to_json`` on one line, so lab tests measure exactly what an agent would.
``--hold`` instead takes a speed-test slot, prints ``held``, keeps its lease alive
and releases it when a line (or end of file) arrives on stdin, within a minute.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys

import aiohttp

from probes.bandwidth import BandwidthConfig, probe
from probes.base import deadline_in

HOLD_AT_MOST_SECONDS = 60


async def hold(url: str) -> None:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=35)) as session:
        async with session.post(f"{url}/speedtest/slot", json={"wait_seconds": 30}) as response:
            response.raise_for_status()
            slot = (await response.json())["slot"]
        print("held", flush=True)
        released = asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
        # Renew once a second until told to let go (bounded: at most a minute).
        for _ in range(HOLD_AT_MOST_SECONDS):
            done, _ = await asyncio.wait([released], timeout=1.0)
            if done:
                break
            async with session.post(f"{url}/speedtest/slot/{slot}/renew"):
                pass
        async with session.delete(f"{url}/speedtest/slot/{slot}"):
            pass


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("url")
    parser.add_argument("--duration", type=float, default=4.0)
    parser.add_argument("--warmup", type=float, default=1.0)
    parser.add_argument("--streams", type=int, default=4)
    parser.add_argument("--deadline", type=float, default=60.0)
    parser.add_argument("--hold", action="store_true")
    args = parser.parse_args(argv)
    if args.hold:
        asyncio.run(hold(args.url))
        return 0
    config = BandwidthConfig(duration_seconds=args.duration, warmup_seconds=args.warmup,
                             streams=args.streams)
    result = asyncio.run(probe(args.url, config, deadline_in(args.deadline)))
    print(json.dumps(result.to_json()))
    return 0 if result.up else 1


if __name__ == "__main__":
    sys.exit(main())
