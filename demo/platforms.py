"""Loopback stand-ins for the four city platforms, so nothing real is ever probed."""

from __future__ import annotations

from aiohttp import web

from inventory.model import PLATFORM_IDS


async def _platform(request: web.Request) -> web.Response:
    name = request.match_info["platform"]
    return web.Response(text=f"sansang demo stand-in for platform {name}\n")


async def start_platforms(host: str = "127.0.0.1", port: int = 0) -> tuple[web.AppRunner, str]:
    """Serve ``/<platform>`` for each platform id; return the runner and the base URL."""
    app = web.Application()
    app.router.add_get("/{platform}", _platform)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    bound = runner.addresses[0][1]
    return runner, f"http://{host}:{bound}"


def platform_urls(base_url: str) -> dict[str, str]:
    return {p: f"{base_url}/{p}" for p in PLATFORM_IDS}
