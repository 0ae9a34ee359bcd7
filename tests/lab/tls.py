"""Loopback HTTP(S) servers playing a platform in each state a ward can meet it.

A throw-away CA (trustme) issues every certificate; each server listens on
127.0.0.1 on an ephemeral port and is stopped when its context exits, even when
the test failed. Nothing here reaches past loopback.
"""

from __future__ import annotations

import asyncio
import datetime
import ssl
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

import trustme
from aiohttp import web

LOOPBACK = "127.0.0.1"
# Names the certificates are issued for. Probes connect by IP, so the healthy
# certificates carry 127.0.0.1 too; the wrong-host one carries only its name.
PLATFORM_NAME = "platform.lab"
OTHER_NAME = "elsewhere.lab"


@dataclass(frozen=True)
class LabCert:
    leaf: trustme.LeafCert
    not_after: datetime.datetime

    @property
    def expiry_timestamp(self) -> float:
        return self.not_after.timestamp()


class LabPki:
    """The test CA and the certificates the lab's servers present."""

    def __init__(self, directory: Path) -> None:
        self.ca = trustme.CA(organization_name="sansang lab CA")
        self.ca_file = str(directory / "lab-ca.pem")
        self.ca.cert_pem.write_to_path(self.ca_file)
        # Whole seconds: an X.509 date has no fraction, so expiries compare exactly.
        now = datetime.datetime.now(datetime.UTC).replace(microsecond=0)
        day = datetime.timedelta(days=1)
        self.healthy = self._issue(now + 365 * day, PLATFORM_NAME, LOOPBACK)
        self.expiring = self._issue(now + 5 * day, PLATFORM_NAME, LOOPBACK)
        self.expired = self._issue(now - day, PLATFORM_NAME, LOOPBACK, not_before=now - 30 * day)
        self.wrong_host = self._issue(now + 365 * day, OTHER_NAME)

    def _issue(
        self,
        not_after: datetime.datetime,
        *identities: str,
        not_before: datetime.datetime | None = None,
    ) -> LabCert:
        leaf = self.ca.issue_cert(*identities, not_before=not_before, not_after=not_after)
        return LabCert(leaf, not_after)


def server_context(cert: LabCert) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.leaf.configure_cert(context)
    return context


def platform_app() -> web.Application:
    """A healthy platform: ``/`` answers 200; ``/redirect/N`` redirects N times, then 200.

    ``/goto?url=U`` redirects to ``U``, for chains that cross to another platform.
    """

    async def home(_request: web.Request) -> web.Response:
        return web.Response(text="platform ok")

    async def redirect(request: web.Request) -> web.Response:
        left = int(request.match_info["left"])
        if left <= 0:
            return web.Response(text="arrived")
        raise web.HTTPFound(f"/redirect/{left - 1}")

    async def goto(request: web.Request) -> web.Response:
        raise web.HTTPFound(request.query["url"])

    app = web.Application()
    app.router.add_get("/", home)
    app.router.add_get("/goto", goto)
    app.router.add_get("/redirect/{left:\\d+}", redirect)
    return app


def unavailable_app() -> web.Application:
    """A platform that is up at the TCP level but answers 503 to everything."""

    async def unavailable(_request: web.Request) -> web.Response:
        return web.Response(status=503, text="service unavailable")

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", unavailable)
    return app


@asynccontextmanager
async def http_server(
    app: web.Application, ssl_context: ssl.SSLContext | None = None
) -> AsyncIterator[str]:
    """Serve ``app`` on 127.0.0.1 (an ephemeral port); yields its base URL."""
    # A short shutdown: probes close their connections, and a stuck one must
    # not hold a test's teardown for aiohttp's default minute.
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
    await runner.setup()
    try:
        site = web.TCPSite(runner, LOOPBACK, 0, ssl_context=ssl_context)
        await site.start()
        port = runner.addresses[0][1]
        scheme = "https" if ssl_context is not None else "http"
        yield f"{scheme}://{LOOPBACK}:{port}/"
    finally:
        await runner.cleanup()


class _Silent(asyncio.Protocol):
    """Accepts a connection and never sends a byte (nor reads what it is sent)."""

    def __init__(self, open_transports: set[asyncio.Transport]) -> None:
        self._open = open_transports
        self._transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport
        self._open.add(transport)

    def connection_lost(self, exc: Exception | None) -> None:
        if self._transport is not None:
            self._open.discard(self._transport)


@asynccontextmanager
async def hung_server() -> AsyncIterator[tuple[str, int]]:
    """A TCP server that accepts and then answers nothing; yields ``(host, port)``."""
    open_transports: set[asyncio.Transport] = set()
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: _Silent(open_transports), LOOPBACK, 0)
    try:
        yield LOOPBACK, server.sockets[0].getsockname()[1]
    finally:
        server.close()
        for transport in list(open_transports):
            transport.abort()
        await server.wait_closed()


@dataclass(frozen=True)
class PlatformServers:
    """Base URLs of the lab's platforms, and the certificates they present."""

    pki: LabPki
    healthy_url: str
    expiring_url: str
    expired_url: str
    wrong_host_url: str
    unavailable_url: str
    hung_host: str
    hung_port: int

    @property
    def ca_file(self) -> str:
        return self.pki.ca_file

    def redirect_url(self, hops: int) -> str:
        """A URL on the healthy platform that redirects ``hops`` times before answering 200."""
        return f"{self.healthy_url}redirect/{hops}"

    def redirect_to(self, url: str) -> str:
        """A URL on the healthy platform that redirects once, to ``url``."""
        return f"{self.healthy_url}goto?{urlencode({'url': url})}"


@asynccontextmanager
async def platform_servers(pki: LabPki) -> AsyncIterator[PlatformServers]:
    async with AsyncExitStack() as stack:
        urls = {}
        for name, cert in (
            ("healthy_url", pki.healthy),
            ("expiring_url", pki.expiring),
            ("expired_url", pki.expired),
            ("wrong_host_url", pki.wrong_host),
        ):
            urls[name] = await stack.enter_async_context(
                http_server(platform_app(), server_context(cert))
            )
        urls["unavailable_url"] = await stack.enter_async_context(http_server(unavailable_app()))
        hung_host, hung_port = await stack.enter_async_context(hung_server())
        yield PlatformServers(pki=pki, hung_host=hung_host, hung_port=hung_port, **urls)
