"""HTTP(S) probe: status, response time, phase timings and TLS certificate expiry.

A certificate problem is reported as such (``tls_error`` names the kind: expired,
unknown CA, hostname mismatch…), never as a plain "down", and the expiry of a
rejected certificate is still read, from a second unverified handshake.
"""

from __future__ import annotations

import asyncio
import contextvars
import datetime
import functools
import os
import ssl
import time
from collections.abc import Callable
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

import aiohttp
from pydantic import Field

from probes.base import ProbeCli, ProbeConfig, ProbeKind, ProbeResult, remaining, timeout_budget
from probes.series import Family, Sample, add

if TYPE_CHECKING:
    import argparse

    from inventory.model import Ward

# What ``HttpResult.tls_error`` holds: the kind of TLS failure, for verdicts and
# dashboards to group on; ``error`` carries the readable sentence.
TLS_EXPIRED = "certificate_expired"
TLS_NOT_YET_VALID = "certificate_not_yet_valid"
TLS_UNKNOWN_CA = "unknown_ca"
TLS_HOSTNAME_MISMATCH = "hostname_mismatch"
TLS_REJECTED = "certificate_rejected"
TLS_HANDSHAKE_FAILED = "handshake_failed"

# OpenSSL X509_V_ERR_* codes, as found in ssl.SSLCertVerificationError.verify_code.
_VERIFY_CODES = {
    2: TLS_UNKNOWN_CA,  # unable to get issuer certificate
    9: TLS_NOT_YET_VALID,
    10: TLS_EXPIRED,
    18: TLS_UNKNOWN_CA,  # self-signed certificate
    19: TLS_UNKNOWN_CA,  # self-signed certificate in chain
    20: TLS_UNKNOWN_CA,  # unable to get local issuer certificate
    21: TLS_UNKNOWN_CA,  # unable to verify the first certificate
    62: TLS_HOSTNAME_MISMATCH,
    64: TLS_HOSTNAME_MISMATCH,  # IP address mismatch
}


class HttpConfig(ProbeConfig):
    timeout_seconds: float = Field(default=5.0, gt=0.0, le=120.0)
    method: str = Field(default="GET", pattern="^(GET|HEAD)$")
    # How many redirects may be followed; 0 takes the first answer as final.
    max_redirects: int = Field(default=5, ge=0, le=30)
    # Status codes counted as success; empty means any 2xx or 3xx at the end of redirects.
    valid_status_codes: tuple[int, ...] = ()
    ca_file: str | None = None
    verify_tls: bool = True


# What a result holds of a final URL; a longer one is cut, and ends in an ellipsis.
MAX_URL_LENGTH = 4000
# RFC 9110's status codes are three digits, 1xx to 5xx; up to 999 is kept as read.
STATUS_CODES = range(100, 1000)


class HttpResult(ProbeResult):
    url: str
    status_code: int | None = Field(default=None, ge=100, le=999)
    # From the start of the probe to the last byte of the final response.
    response_seconds: float | None = Field(default=None, ge=0.0)
    # Phase durations, summed over every hop of a redirect chain (as
    # blackbox_exporter does): TCP connect, TLS handshake, and from the request
    # sent to the response headers received. Only phases that completed count.
    connect_seconds: float | None = Field(default=None, ge=0.0)
    tls_seconds: float | None = Field(default=None, ge=0.0)
    first_byte_seconds: float | None = Field(default=None, ge=0.0)
    # notAfter of the certificate served by the final hop (or of the rejected one).
    tls_expiry_timestamp_seconds: float | None = Field(default=None, ge=0.0)
    tls_error: str | None = Field(default=None, max_length=1000)
    redirects: int = Field(default=0, ge=0)
    final_url: str | None = Field(default=None, max_length=MAX_URL_LENGTH)


class _Phases:
    """Phase durations assembled from aiohttp's trace events and the TLS context."""

    def __init__(self) -> None:
        self.connect: float | None = None
        self.tls: float | None = None
        self.first_byte: float | None = None
        # notAfter of the certificate on the latest connection (the final hop's).
        self.peer_expiry: float | None = None
        self._connect_start: float | None = None
        self._tls_start: float | None = None
        self._request_sent: float | None = None
        self._tls: ssl.SSLObject | None = None

    @staticmethod
    def _add(total: float | None, start: float | None, end: float) -> float | None:
        if start is None:
            return total
        return (total or 0.0) + (end - start)

    def connection_started(self) -> None:
        self._connect_start = time.monotonic()
        self._tls_start = None
        self._tls = None
        self.peer_expiry = None

    def host_resolved(self) -> None:
        # Name resolution happens inside aiohttp's connection phase; it is not connect time.
        if self._connect_start is not None:
            self._connect_start = time.monotonic()

    def tls_started(self, tls: ssl.SSLObject) -> None:
        now = time.monotonic()
        self.connect = self._add(self.connect, self._connect_start, now)
        self._connect_start = None
        self._tls_start = now
        self._tls = tls

    def connection_made(self) -> None:
        now = time.monotonic()
        if self._tls_start is not None:
            self.tls = self._add(self.tls, self._tls_start, now)
            # Read here: aiohttp may release a connection (and its transport)
            # as soon as a short body has arrived, before the caller can look.
            if self._tls is not None:
                self.peer_expiry = _expiry_from_der(self._tls.getpeercert(binary_form=True))
        else:
            self.connect = self._add(self.connect, self._connect_start, now)
        self._connect_start = self._tls_start = None

    def request_sent(self) -> None:
        self._request_sent = time.monotonic()

    def response_headers_received(self) -> None:
        self.first_byte = self._add(self.first_byte, self._request_sent, time.monotonic())
        self._request_sent = None

    def stalled(self, budget: float, headers_received: bool) -> str:
        """Why the budget ran out: the phase that was still waiting."""
        if self._tls_start is not None:
            return f"TLS handshake not finished within {budget:.1f} s"
        if self._connect_start is not None:
            return f"no TCP connection within {budget:.1f} s"
        if self._request_sent is not None:
            return f"request sent, no response within {budget:.1f} s"
        if headers_received:
            return f"response body not complete within {budget:.1f} s"
        return f"no complete answer within {budget:.1f} s"

    def trace_config(self) -> aiohttp.TraceConfig:
        def hook(step: Callable[[], None]) -> Any:
            async def on_event(_session: Any, _ctx: SimpleNamespace, _params: Any) -> None:
                step()

            return on_event

        trace = aiohttp.TraceConfig()
        trace.on_connection_create_start.append(hook(self.connection_started))
        trace.on_dns_resolvehost_end.append(hook(self.host_resolved))
        trace.on_connection_create_end.append(hook(self.connection_made))
        trace.on_request_headers_sent.append(hook(self.request_sent))
        # aiohttp sends these once the status line and headers have been read.
        trace.on_request_redirect.append(hook(self.response_headers_received))
        trace.on_request_end.append(hook(self.response_headers_received))
        return trace


# Who is told when a TLS handshake begins: the probe whose task opens the connection.
# A context is shared by every probe with the same TLS settings, so the callback
# travels with the task instead of living on the context.
_ON_TLS_START: contextvars.ContextVar[Callable[[ssl.SSLObject], None] | None] = (
    contextvars.ContextVar("on_tls_start", default=None)
)


class _TimedSSLContext(ssl.SSLContext):
    """An SSL context that notes when each TLS handshake begins.

    asyncio wraps a socket in TLS only once its TCP connection is up, so the
    moment ``wrap_bio`` is called splits aiohttp's single "connection" phase
    into TCP connect and TLS handshake.
    """

    def wrap_bio(
        self,
        incoming: ssl.MemoryBIO,
        outgoing: ssl.MemoryBIO,
        server_side: bool = False,
        server_hostname: str | bytes | None = None,
        session: ssl.SSLSession | None = None,
    ) -> ssl.SSLObject:
        tls = super().wrap_bio(
            incoming,
            outgoing,
            server_side=server_side,
            server_hostname=server_hostname,
            session=session,
        )
        on_tls_start = _ON_TLS_START.get()
        if on_tls_start is not None:
            on_tls_start(tls)
        return tls


def _ssl_context(config: HttpConfig) -> ssl.SSLContext:
    """The context for ``config``'s TLS settings, built once: loading the CA bundle
    costs about 20 ms of CPU, which on every probe was most of the agent's idle load.
    A CA file replaced on disk gets a fresh context."""
    stamp = None
    if config.verify_tls and config.ca_file:
        try:
            stat = os.stat(config.ca_file)
            stamp = (stat.st_mtime_ns, stat.st_size, stat.st_ino)
        except OSError:
            pass  # not cached: loading it raises the error where it always did
    return _shared_ssl_context(config.verify_tls, config.ca_file, stamp)


@functools.lru_cache(maxsize=16)
def _shared_ssl_context(
    verify_tls: bool, ca_file: str | None, _ca_stamp: tuple[int, int, int] | None
) -> ssl.SSLContext:
    # The same settings as ssl.create_default_context(cafile=...), on the timed class.
    context = _TimedSSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    if not verify_tls:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    elif ca_file:
        context.load_verify_locations(cafile=ca_file)
    else:
        context.load_default_certs(ssl.Purpose.SERVER_AUTH)
    return context


def _expiry_from_der(der: bytes | None) -> float | None:
    if not der:
        return None
    # Imported here, so HttpResult costs no cryptography to whoever only reads results.
    from cryptography import x509

    return x509.load_der_x509_certificate(der).not_valid_after_utc.timestamp()


async def _read_expiry_unverified(host: str, port: int) -> float | None:
    """The peer certificate's expiry, read without verifying it (for reporting only)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    try:
        _, writer = await asyncio.open_connection(host, port, ssl=context, server_hostname=host)
    except (OSError, ValueError):
        return None
    try:
        ssl_object = writer.get_extra_info("ssl_object")
        return _expiry_from_der(ssl_object.getpeercert(binary_form=True) if ssl_object else None)
    finally:
        # No close_notify exchange: a misbehaving peer must not hold the probe.
        writer.transport.abort()


def _utc(timestamp: float | None) -> str:
    if timestamp is None:
        return "(date unreadable)"
    when = datetime.datetime.fromtimestamp(timestamp, tz=datetime.UTC)
    return when.strftime("%Y-%m-%d %H:%M:%S UTC")


def _certificate_problem(error: BaseException, expiry: float | None) -> tuple[str, str]:
    """``(tls_error kind, readable sentence)`` for a rejected certificate."""
    code = getattr(error, "verify_code", None)
    detail = getattr(error, "verify_message", None) or str(error)
    kind = _VERIFY_CODES.get(code, TLS_REJECTED) if isinstance(code, int) else TLS_REJECTED
    if kind == TLS_EXPIRED:
        return kind, f"TLS certificate expired on {_utc(expiry)}"
    if kind == TLS_NOT_YET_VALID:
        return kind, f"TLS certificate not valid yet ({detail})"
    if kind == TLS_UNKNOWN_CA:
        return kind, f"TLS certificate not trusted, issued by an unknown CA ({detail})"
    if kind == TLS_HOSTNAME_MISMATCH:
        return kind, f"TLS certificate is for another host ({detail})"
    return kind, f"TLS certificate rejected ({detail})"


def _is_success(status: int, config: HttpConfig) -> bool:
    if config.valid_status_codes:
        return status in config.valid_status_codes
    return 200 <= status < 400


async def probe(target: str, config: HttpConfig, deadline: float) -> HttpResult:
    """Fetch ``target`` once within ``min(config.timeout_seconds, deadline)``."""
    started = time.monotonic()
    budget = min(config.timeout_seconds, remaining(deadline))
    end = started + budget
    phases = _Phases()
    fields: dict[str, Any] = {"url": target}

    def finish(error: str | None) -> HttpResult:
        return HttpResult(
            up=error is None,
            error=error,
            duration_seconds=time.monotonic() - started,
            connect_seconds=phases.connect,
            tls_seconds=phases.tls,
            first_byte_seconds=phases.first_byte,
            **fields,
        )

    if budget <= 0:
        return finish("no time left before the deadline")
    redirects_seen = 0

    async def count_redirect(_session: Any, _ctx: SimpleNamespace, _params: Any) -> None:
        nonlocal redirects_seen
        redirects_seen += 1

    trace = phases.trace_config()
    trace.on_request_redirect.append(count_redirect)
    connector = aiohttp.TCPConnector(ssl=_ssl_context(config), force_close=True)
    # The one budget is asyncio.timeout below; aiohttp's own timeouts (which
    # round long ones up to whole seconds) are switched off.
    no_timeout = aiohttp.ClientTimeout(total=None, sock_connect=None, sock_read=None)
    on_tls_start = _ON_TLS_START.set(phases.tls_started)
    try:
        async with (
            asyncio.timeout(budget),
            aiohttp.ClientSession(
                connector=connector,
                timeout=no_timeout,
                trace_configs=[trace],
                auto_decompress=False,
            ) as session,
            # aiohttp refuses the redirect that reaches its max_redirects, so it
            # is given one more than the number we allow to be followed.
            session.request(
                config.method,
                target,
                allow_redirects=config.max_redirects > 0,
                max_redirects=config.max_redirects + 1,
            ) as response,
        ):
            final_url = str(response.url)
            if len(final_url) > MAX_URL_LENGTH:
                final_url = final_url[:MAX_URL_LENGTH - 1] + "…"
            fields.update(
                tls_expiry_timestamp_seconds=phases.peer_expiry,
                # A status outside the codes HTTP has is not a reading (see below).
                status_code=response.status if response.status in STATUS_CODES else None,
                redirects=len(response.history),
                final_url=final_url,
            )
            status = response.status
            # Read to the end (that is the response time) without keeping the body.
            async for _chunk in response.content.iter_chunked(64 * 1024):
                pass
            fields["response_seconds"] = time.monotonic() - started
    except aiohttp.ClientConnectorCertificateError as exc:
        try:
            async with asyncio.timeout(remaining(end)):
                # The refusing peer, which after a redirect is not the target's host.
                expiry = await _read_expiry_unverified(exc.host, exc.port or 443)
        except TimeoutError:
            expiry = None
        kind, error = _certificate_problem(exc.certificate_error, expiry)
        fields.update(tls_error=kind, tls_expiry_timestamp_seconds=expiry, redirects=redirects_seen)
        return finish(error)
    except aiohttp.ClientSSLError as exc:
        fields["tls_error"] = TLS_HANDSHAKE_FAILED
        return finish(f"TLS handshake failed: {exc.os_error}")
    except aiohttp.TooManyRedirects:
        fields["redirects"] = config.max_redirects
        return finish(f"more than {config.max_redirects} redirects")
    except TimeoutError:
        fields["redirects"] = redirects_seen
        return finish(phases.stalled(budget, headers_received="status_code" in fields))
    except aiohttp.ClientConnectorError as exc:
        return finish(f"cannot connect: {exc.os_error.strerror or exc.os_error}")
    except aiohttp.InvalidURL as exc:
        return finish(f"not a valid URL: {exc}")
    except aiohttp.ClientError as exc:
        return finish(f"{type(exc).__name__}: {exc}")
    finally:
        _ON_TLS_START.reset(on_tls_start)

    if status not in STATUS_CODES:
        return finish(f"HTTP status {status} is not a status code (100 to 999)")
    return finish(None if _is_success(status, config) else f"HTTP status {status}")


# --- the kind, declared once

FAMILIES = (
    Family("sansang_platform_up", "1 when the platform answered with success."),
    Family("sansang_platform_response_seconds", "Time to the platform's complete answer."),
    Family("sansang_platform_status_code", "HTTP status code of the platform's last answer."),
    Family("sansang_platform_tls_expiry_timestamp_seconds",
           "Expiry of the platform's TLS certificate as a Unix timestamp."),
)


def series(target: str, result: HttpResult, ward: Ward) -> list[Sample]:
    out: list[Sample] = []
    labels = {"platform": target}
    add(out, "sansang_platform_up", labels, 1 if result.up else 0)
    add(out, "sansang_platform_response_seconds", labels, result.response_seconds)
    add(out, "sansang_platform_status_code", labels, result.status_code)
    add(out, "sansang_platform_tls_expiry_timestamp_seconds", labels,
        result.tls_expiry_timestamp_seconds)
    return out


def failed(target: str, error: str) -> HttpResult:
    return HttpResult(up=False, error=error, url=target)


def _arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("url", metavar="URL", help="the URL to fetch, http:// or https://")
    parser.add_argument("--timeout", type=float, default=5.0, help="seconds in all (default 5)")
    parser.add_argument("--ca-file", default=None, help="CA file for private certificates")


def _from_arguments(args: argparse.Namespace) -> tuple[list[str], dict[str, Any]]:
    return [args.url], {"timeout_seconds": args.timeout, "ca_file": args.ca_file}


KIND = ProbeKind(
    "http", HttpConfig, HttpResult, probe, FAMILIES, series, failed, timeout_budget,
    columns=[("url", "url", ""), ("up", "up", ""), ("status_code", "status", ""),
             ("response_seconds", "response", "s"), ("connect_seconds", "connect", "s"),
             ("tls_seconds", "tls", "s"), ("tls_expiry_timestamp_seconds", "cert expiry", "")],
    cli=ProbeCli("HTTP(S): status, timings, certificate expiry", _arguments, _from_arguments),
)
