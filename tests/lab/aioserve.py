"""Serve an aiohttp application until SIGTERM or SIGINT: the lab's and the bench's
small helper servers (speed-test routes, the prometheus_client peer) all run this way."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Callable

from aiohttp import web


async def serve_until_signalled(app: web.Application, host: str, port: int,
                                on_ready: Callable[[], None] | None = None) -> None:
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    try:
        await web.TCPSite(runner, host, port).start()
        if on_ready is not None:
            on_ready()
        await stop.wait()
    finally:
        await runner.cleanup()
