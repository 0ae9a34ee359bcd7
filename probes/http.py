"""HTTP(S) probe: status, response time, phase timings and TLS certificate expiry.

A certificate problem is reported as such (``tls_error``), never as a plain "down":
the expiry of a certificate that fails verification is still read, from a second
unverified handshake, so an expired platform certificate shows its date.
"""

from __future__ import annotations

import asyncio
import ssl
import time
from types import SimpleNamespace
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from cryptography import x509
from pydantic import Field

from probes.base import ProbeConfig, ProbeResult, remaining


class HttpConfig(ProbeConfig):
    timeout_seconds: float = Field(default=5.0, gt=0.0, le=120.0)
    method: str = Field(default="GET", pattern="^(GET|HEAD)$")
    max_redirects: int = Field(default=5, ge=0, le=30)
    # Status codes counted as success; empty means any 2xx or 3xx at the end of redirects.
    valid_status_codes: tuple[int, ...] = ()
    ca_file: str | None = None
    verify_tls: bool = True


class HttpResult(ProbeResult):
    url: str
    status_code: int | None = Field(default=None, ge=100, le=999)
    response_seconds: float | None = Field(default=None, ge=0.0)
    connect_seconds: float | None = Field(default=None, ge=0.0)
    tls_seconds: float | None = Field(default=None, ge=0.0)
    first_byte_seconds: float | None = Field(default=None, ge=0.0)
    tls_expiry_timestamp_seconds: float | None = Field(default=None, ge=0.0)
    tls_error: str | None = Field(default=None, max_length=1000)
    redirects: int = Field(default=0, ge=0)
    final_url: str | None = Field(default=None, max_length=4000)


def _ssl_context(config: HttpConfig) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=config.ca_file)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    if not config.verify_tls:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


def _expiry_from_der(der: bytes | None) -> float | None:
    if not der:
        return None
    return x509.load_der_x509_certificate(der).not_valid_after_utc.timestamp()


async def _read_expiry_unverified(url: str, timeout: float) -> float | None:
    """The peer certificate's expiry, read without verifying it (for reporting only)."""
    parts = urlsplit(url)
    if parts.scheme != "https" or not parts.hostname or timeout <= 0:
        return None
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    try:
        _, writer = await asyncio.wait_for(
            asyncio.open_connection(
                parts.hostname, parts.port or 443, ssl=context, server_hostname=parts.hostname
            ),
            timeout,
        )
    except (OSError, TimeoutError, ssl.SSLError):
        return None
    try:
        ssl_object = writer.get_extra_info("ssl_object")
        return _expiry_from_der(ssl_object.getpeercert(binary_form=True) if ssl_object else None)
    finally:
        writer.close()


def _timing_trace() -> tuple[aiohttp.TraceConfig, dict[str, float]]:
    marks: dict[str, float] = {}
    trace = aiohttp.TraceConfig()

    def mark(name: str) -> Any:
        async def on_event(_session: Any, _ctx: SimpleNamespace, _params: Any) -> None:
            marks.setdefault(name, time.monotonic())

        return on_event

    trace.on_connection_create_start.append(mark("connect_start"))
    trace.on_connection_create_end.append(mark("connect_end"))
    trace.on_request_headers_sent.append(mark("headers_sent"))
    trace.on_response_chunk_received.append(mark("first_chunk"))
    trace.on_request_end.append(mark("request_end"))
    return trace, marks


async def probe(target: str, config: HttpConfig, deadline: float) -> HttpResult:
    """Fetch ``target`` once within ``min(config.timeout_seconds, deadline)``."""
    started = time.monotonic()
    budget = min(config.timeout_seconds, remaining(deadline))
    trace, marks = _timing_trace()
    connector = aiohttp.TCPConnector(ssl=_ssl_context(config), force_close=True)
    timeout = aiohttp.ClientTimeout(total=budget)
    result: dict[str, Any] = {"url": target}
    try:
        async with (
            aiohttp.ClientSession(
                connector=connector, timeout=timeout, trace_configs=[trace],
                auto_decompress=False,
            ) as session,
            session.request(
                config.method, target, allow_redirects=config.max_redirects > 0,
                max_redirects=config.max_redirects,
            ) as response,
        ):
            first_byte = time.monotonic()
            ssl_object = (
                response.connection.transport.get_extra_info("ssl_object")
                if response.connection and response.connection.transport
                else None
            )
            if ssl_object is not None:
                result["tls_expiry_timestamp_seconds"] = _expiry_from_der(
                    ssl_object.getpeercert(binary_form=True)
                )
            await response.read()
            status = response.status
            result.update(
                status_code=status,
                redirects=len(response.history),
                final_url=str(response.url),
                first_byte_seconds=first_byte - started,
            )
    except aiohttp.ClientConnectorCertificateError as exc:
        result["tls_error"] = str(exc.certificate_error)
        result["tls_expiry_timestamp_seconds"] = await _read_expiry_unverified(
            target, min(2.0, remaining(deadline))
        )
        return _finish(result, started, marks, f"TLS certificate rejected: {exc.certificate_error}")
    except aiohttp.ClientSSLError as exc:
        result["tls_error"] = str(exc)
        return _finish(result, started, marks, f"TLS handshake failed: {exc}")
    except aiohttp.TooManyRedirects:
        return _finish(result, started, marks, f"more than {config.max_redirects} redirects")
    except TimeoutError:
        return _finish(result, started, marks, f"no complete answer within {budget:.1f} s")
    except aiohttp.ClientConnectorError as exc:
        return _finish(result, started, marks, f"cannot connect: {exc.os_error}")
    except aiohttp.ClientError as exc:
        return _finish(result, started, marks, f"{type(exc).__name__}: {exc}")

    ok = (
        status in config.valid_status_codes
        if config.valid_status_codes
        else 200 <= status < 400
    )
    result["response_seconds"] = time.monotonic() - started
    return _finish(result, started, marks, None if ok else f"HTTP status {status}", up=ok)


def _finish(
    fields: dict[str, Any], started: float, marks: dict[str, float], error: str | None,
    up: bool = False,
) -> HttpResult:
    if "connect_start" in marks and "connect_end" in marks:
        fields["connect_seconds"] = marks["connect_end"] - marks["connect_start"]
    return HttpResult(
        up=up, error=error, duration_seconds=time.monotonic() - started, **fields
    )
