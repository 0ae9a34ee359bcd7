"""A bare speed-test server for the lab: the collector's speed-test routes and nothing else.

``python bw_server.py --listen HOST:PORT [--slots K] [--max-seconds S]`` prints
``ready`` once listening and serves until SIGTERM or SIGINT.
"""

from __future__ import annotations

import argparse
import asyncio
import sys

from aiohttp import web

from collector.speedtest import add_speedtest_routes
from tests.lab.aioserve import serve_until_signalled


async def serve(host: str, port: int, slots: int, max_seconds: float, lease: float) -> None:
    app = web.Application()
    add_speedtest_routes(app, slots=slots, max_seconds=max_seconds, lease_seconds=lease)
    await serve_until_signalled(app, host, port, on_ready=lambda: print("ready", flush=True))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--listen", required=True, help="HOST:PORT")
    parser.add_argument("--slots", type=int, default=1)
    parser.add_argument("--max-seconds", type=float, default=30.0)
    parser.add_argument("--lease-seconds", type=float, default=10.0)
    args = parser.parse_args(argv)
    host, _, port = args.listen.rpartition(":")
    asyncio.run(serve(host, int(port), args.slots, args.max_seconds, args.lease_seconds))
    return 0


if __name__ == "__main__":
    sys.exit(main())
