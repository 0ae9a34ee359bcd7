"""The HTTP probe against real loopback platforms: status, timings, certificates, redirects."""

from __future__ import annotations

import asyncio
import shutil
import time
from pathlib import Path

import pytest
from aiohttp import web

from probes import PROBES, http
from probes.base import deadline_in
from probes.http import (
    TLS_EXPIRED,
    TLS_HANDSHAKE_FAILED,
    TLS_HOSTNAME_MISMATCH,
    TLS_UNKNOWN_CA,
    HttpConfig,
    HttpResult,
    probe,
)
from tests.lab.dns import free_port
from tests.lab.tls import PlatformServers


def trusting(platforms: PlatformServers, **options: object) -> HttpConfig:
    return HttpConfig.model_validate({"ca_file": platforms.ca_file, **options})


async def run(url: str, config: HttpConfig, deadline_seconds: float = 10.0) -> HttpResult:
    return await probe(url, config, deadline_in(deadline_seconds))


async def test_healthy_platform_is_up_with_every_phase_timed(platforms: PlatformServers) -> None:
    result = await run(platforms.healthy_url, trusting(platforms))

    assert result.up, result.error
    assert result.status_code == 200
    assert result.error is None and result.tls_error is None
    assert result.redirects == 0
    assert result.connect_seconds is not None and result.connect_seconds > 0
    assert result.tls_seconds is not None and result.tls_seconds > 0
    assert result.first_byte_seconds is not None and result.first_byte_seconds > 0
    assert result.response_seconds is not None
    phases = result.connect_seconds + result.tls_seconds + result.first_byte_seconds
    assert phases <= result.response_seconds <= result.duration_seconds


async def test_healthy_certificate_expiry_is_the_one_issued(platforms: PlatformServers) -> None:
    result = await run(platforms.healthy_url, trusting(platforms))

    assert result.tls_expiry_timestamp_seconds == pytest.approx(
        platforms.pki.healthy.expiry_timestamp, abs=1.0
    )


async def test_certificate_expiring_in_five_days_is_still_up_and_dated(
    platforms: PlatformServers,
) -> None:
    result = await run(platforms.expiring_url, trusting(platforms))

    assert result.up, result.error
    assert result.status_code == 200
    assert result.tls_expiry_timestamp_seconds is not None
    assert result.tls_expiry_timestamp_seconds == pytest.approx(
        platforms.pki.expiring.expiry_timestamp, abs=1.0
    )
    days_left = (result.tls_expiry_timestamp_seconds - time.time()) / 86400
    assert 4.9 < days_left <= 5.0


async def test_expired_certificate_is_a_tls_error_that_still_shows_its_date(
    platforms: PlatformServers,
) -> None:
    result = await run(platforms.expired_url, trusting(platforms))

    assert not result.up
    assert result.status_code is None
    assert result.tls_error == TLS_EXPIRED
    assert result.tls_expiry_timestamp_seconds == pytest.approx(
        platforms.pki.expired.expiry_timestamp, abs=1.0
    )
    expired_on = platforms.pki.expired.not_after.strftime("%Y-%m-%d %H:%M:%S UTC")
    assert result.error == f"TLS certificate expired on {expired_on}"
    # The TCP connection did complete before the certificate was refused.
    assert result.connect_seconds is not None


async def test_expired_certificate_after_a_redirect_is_dated_from_that_hop(
    platforms: PlatformServers,
) -> None:
    result = await run(platforms.redirect_to(platforms.expired_url), trusting(platforms))

    assert not result.up
    assert result.tls_error == TLS_EXPIRED
    assert result.redirects == 1
    assert result.tls_expiry_timestamp_seconds == pytest.approx(
        platforms.pki.expired.expiry_timestamp, abs=1.0
    )


async def test_unknown_ca_is_told_apart_from_expiry(platforms: PlatformServers) -> None:
    # Without the lab CA the system store does not know who issued the certificate.
    result = await run(platforms.healthy_url, HttpConfig())

    assert not result.up
    assert result.tls_error == TLS_UNKNOWN_CA
    assert result.error is not None and "unknown CA" in result.error
    assert result.tls_expiry_timestamp_seconds == pytest.approx(
        platforms.pki.healthy.expiry_timestamp, abs=1.0
    )


async def test_certificate_for_another_host_is_a_hostname_mismatch(
    platforms: PlatformServers,
) -> None:
    result = await run(platforms.wrong_host_url, trusting(platforms))

    assert not result.up
    assert result.tls_error == TLS_HOSTNAME_MISMATCH
    assert result.error is not None and "another host" in result.error
    assert "127.0.0.1" in result.error


async def test_verification_can_be_switched_off_for_a_self_signed_platform(
    platforms: PlatformServers,
) -> None:
    result = await run(platforms.expired_url, HttpConfig(verify_tls=False))

    assert result.up, result.error
    assert result.tls_error is None
    assert result.tls_expiry_timestamp_seconds == pytest.approx(
        platforms.pki.expired.expiry_timestamp, abs=1.0
    )


async def test_503_is_down_with_its_status_and_timing(platforms: PlatformServers) -> None:
    result = await run(platforms.unavailable_url, HttpConfig())

    assert not result.up
    assert result.status_code == 503
    assert result.error == "HTTP status 503"
    assert result.response_seconds is not None and result.response_seconds > 0
    assert result.connect_seconds is not None and result.first_byte_seconds is not None
    # Plain HTTP: no handshake, no certificate.
    assert result.tls_seconds is None
    assert result.tls_expiry_timestamp_seconds is None


async def test_503_can_be_declared_an_expected_status(platforms: PlatformServers) -> None:
    result = await run(platforms.unavailable_url, HttpConfig(valid_status_codes=(503,)))

    assert result.up


@pytest.mark.parametrize(
    ("scheme", "stalled"),
    [
        ("http", "request sent, no response within 0.5 s"),
        ("https", "TLS handshake not finished within 0.5 s"),
    ],
)
async def test_hung_server_returns_down_at_its_timeout(
    platforms: PlatformServers, scheme: str, stalled: str
) -> None:
    timeout = 0.5
    url = f"{scheme}://{platforms.hung_host}:{platforms.hung_port}/"

    started = time.monotonic()
    result = await run(url, trusting(platforms, timeout_seconds=timeout))
    took = time.monotonic() - started

    assert not result.up
    assert timeout <= took < timeout + 2.0
    assert result.error == stalled
    assert result.status_code is None and result.response_seconds is None
    # TCP was accepted; what never came is the handshake or the answer.
    assert result.connect_seconds is not None
    assert result.first_byte_seconds is None


async def test_deadline_shorter_than_timeout_wins(platforms: PlatformServers) -> None:
    url = f"http://{platforms.hung_host}:{platforms.hung_port}/"

    started = time.monotonic()
    result = await run(url, HttpConfig(timeout_seconds=30.0), deadline_seconds=0.3)

    assert not result.up
    assert time.monotonic() - started < 2.3


async def test_redirects_are_followed_and_counted(platforms: PlatformServers) -> None:
    result = await run(platforms.redirect_url(3), trusting(platforms, max_redirects=3))

    assert result.up, result.error
    assert result.status_code == 200
    assert result.redirects == 3
    assert result.final_url == platforms.redirect_url(0)
    # Four hops, four connections: their handshakes are summed.
    assert result.tls_seconds is not None and result.tls_seconds > 0


async def test_too_many_redirects_is_down_and_says_so(platforms: PlatformServers) -> None:
    result = await run(platforms.redirect_url(3), trusting(platforms, max_redirects=2))

    assert not result.up
    assert result.error == "more than 2 redirects"
    assert result.redirects == 2


async def test_no_redirects_allowed_takes_the_first_answer(platforms: PlatformServers) -> None:
    result = await run(platforms.redirect_url(1), trusting(platforms, max_redirects=0))

    assert result.status_code == 302
    assert result.redirects == 0


async def test_closed_port_is_a_connect_error() -> None:
    result = await run(f"http://127.0.0.1:{free_port()}/", HttpConfig(timeout_seconds=2.0))

    assert not result.up
    assert result.error is not None and result.error.startswith("cannot connect")


async def test_result_serialises_with_the_contract_field_names(
    platforms: PlatformServers,
) -> None:
    result = await run(platforms.healthy_url, trusting(platforms))

    document = result.to_json()
    for name in ("up", "status_code", "response_seconds", "tls_expiry_timestamp_seconds", "error"):
        assert name in document
    assert PROBES["http"].result_type.model_validate(document) == result


async def test_tls_to_a_plain_http_server_is_a_handshake_failure(
    platforms: PlatformServers,
) -> None:
    url = platforms.unavailable_url.replace("http://", "https://")

    result = await run(url, trusting(platforms, timeout_seconds=2.0))

    assert not result.up
    assert result.tls_error == TLS_HANDSHAKE_FAILED
    assert result.error is not None and result.error.startswith("TLS handshake failed")


async def test_concurrent_probes_sharing_a_context_each_time_their_own_handshake(
    platforms: PlatformServers,
) -> None:
    config = trusting(platforms)
    healthy, expiring = await asyncio.gather(
        run(platforms.healthy_url, config), run(platforms.expiring_url, config)
    )

    for result in (healthy, expiring):
        assert result.up, result.error
        assert result.tls_seconds is not None and result.tls_seconds > 0
    assert healthy.tls_expiry_timestamp_seconds == pytest.approx(
        platforms.pki.healthy.expiry_timestamp, abs=1.0
    )
    assert expiring.tls_expiry_timestamp_seconds == pytest.approx(
        platforms.pki.expiring.expiry_timestamp, abs=1.0
    )


def test_one_tls_context_per_setting_is_built_once(platforms: PlatformServers) -> None:
    config = trusting(platforms)

    assert http._ssl_context(config) is http._ssl_context(trusting(platforms))
    assert http._ssl_context(config) is not http._ssl_context(HttpConfig())
    assert http._ssl_context(HttpConfig(verify_tls=False)) is not http._ssl_context(HttpConfig())


def test_a_ca_file_replaced_on_disk_gets_a_new_context(
    platforms: PlatformServers, tmp_path: Path
) -> None:
    ca_file = tmp_path / "ca.pem"
    shutil.copy(platforms.ca_file, ca_file)
    config = HttpConfig(ca_file=str(ca_file))
    before = http._ssl_context(config)

    replacement = tmp_path / "new-ca.pem"
    replacement.write_bytes(Path(platforms.ca_file).read_bytes() * 2)
    replacement.replace(ca_file)

    assert http._ssl_context(config) is not before


# --- out-of-range answers are refused as readings, never a crash ---


async def test_a_redirect_to_an_overlong_url_is_followed_and_the_url_cut_short() -> None:
    long_path = "/landing?" + "q" * 5000

    async def redirect(_request: web.Request) -> web.Response:
        raise web.HTTPFound(long_path)

    async def landing(_request: web.Request) -> web.Response:
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_get("/start", redirect)
    app.router.add_get("/landing", landing)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        result = await run(f"http://127.0.0.1:{port}/start", HttpConfig())
    finally:
        await runner.cleanup()

    assert result.up, result.error
    assert (result.status_code, result.redirects) == (200, 1)
    assert result.final_url is not None and len(result.final_url) == http.MAX_URL_LENGTH
    assert result.final_url.endswith("q…")


async def test_a_status_below_100_is_no_status_code_and_says_so() -> None:
    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 099 Odd\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        result = await run(f"http://127.0.0.1:{port}/", HttpConfig())
    finally:
        server.close()
        await server.wait_closed()

    assert not result.up
    assert result.status_code is None
    assert result.error == "HTTP status 99 is not a status code (100 to 999)"
