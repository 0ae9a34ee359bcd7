"""The collector's aiohttp application: ingest, ``/metrics``, health, the API description.

A push is authenticated by the ward's bearer token, rate-limited per ward,
validated whole, committed durably, and only then applied to the ward's state
and acknowledged. Any refusal (400, 401, 403, 413, 422, 429, 503) changes no state.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import itertools
import json
import logging
import math
import sqlite3
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from aiohttp import web
from isal import igzip

from collector.casework import Casework, add_casework
from collector.history_page import add_ward_history
from collector.login import SESSION_COOKIE, SESSIONS, add_login, login_url
from collector.own_metrics import OwnMetrics
from collector.pages import (
    ShareLinks,
    ToolLinks,
    add_pages,
    is_shared_ward_request,
    pages_for_people,
)
from collector.payload import PayloadError, parse_batch
from collector.security import NOC_USER, BasicAuth, RateLimiter
from collector.silences import SilenceBook
from collector.speedtest import add_speedtest_routes
from collector.state import FleetState
from collector.store import ReportStore, StoredReport, StoreUnavailable
from collector.tokens import TokenBook
from collector.worklog import WorkLog
from inventory import criteria
from inventory.model import Inventory

log = logging.getLogger("sansang.collector")

METRICS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
OPENAPI_PATH = Path(__file__).with_name("openapi.json")
# Paths anyone may reach: agents authenticate with their ward token, probes of
# the collector's own health need nothing.
# Bodies aiohttp decodes for us; anything else would reach the JSON parser as noise.
ACCEPTED_ENCODINGS = ("identity", "gzip", "deflate")
OPEN_PREFIXES = ("/api/v1/reports", "/speedtest/", "/healthz", "/api/openapi.json", "/static/")
LOGIN_PATHS = ("/login", "/logout")


# Raw reports are kept for as long as one could still arrive again: ingest refuses
# reports older than 30 days, so after 35 an id can never come back. Prometheus keeps the
# series, the readiness history keeps each ward's days; what is older here only costs
# disk (a national fleet at one round a minute pushes ~43 million reports a day).
DEFAULT_RETENTION_DAYS = 35.0


@dataclass
class CollectorSettings:
    inventory: Inventory
    tokens_path: Path
    database_path: Path
    simulated_wards: frozenset[str] = frozenset()
    report_interval_seconds: float = criteria.DEFAULT_REPORT_INTERVAL_SECONDS
    max_body_bytes: int = 1 << 20
    speedtest_slots: int = 1
    rate_per_second: float = 2.0
    rate_burst: int = 20
    basic_auth_path: Path | None = None
    # Acknowledging a ward on the dispatch page silences it here (Alertmanager's API).
    alertmanager_url: str | None = None
    # Where the pages link to for a ward's alerts and graphs (None: no link).
    prometheus_url: str | None = None
    grafana_url: str | None = None
    retention_days: float = DEFAULT_RETENTION_DAYS
    # Process-wide, so only the collector's own process asks for it (not tests).
    tune_garbage_collector: bool = False


STATE = web.AppKey("state", FleetState)
STORE = web.AppKey("store", ReportStore)
TOKENS = web.AppKey("tokens", TokenBook)
SETTINGS = web.AppKey("settings", CollectorSettings)
LIMITER = web.AppKey("limiter", RateLimiter)
NOC_AUTH = web.AppKey("noc_auth", BasicAuth)
SHARE = web.AppKey("share", ShareLinks)
OWN_METRICS = web.AppKey("own_metrics", OwnMetrics)


def problem(status: int, reason: str, details: list[str] | None = None,
            headers: dict[str, str] | None = None) -> web.Response:
    body: dict[str, object] = {"error": reason}
    if details:
        body["details"] = details
    return web.json_response(body, status=status, headers=headers)


async def ingest(request: web.Request) -> web.Response:
    own = request.app[OWN_METRICS]
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        own.push_refused("missing_token")
        return problem(401, "missing bearer token", headers={"WWW-Authenticate": "Bearer"})
    ward = request.app[TOKENS].ward_for(token.strip())
    if ward is None:
        own.push_refused("unknown_token")
        return problem(401, "unknown token", headers={"WWW-Authenticate": "Bearer"})
    wait = request.app[LIMITER].check(ward)
    if wait > 0:
        own.push_refused("rate_limited")
        return problem(429, f"too many pushes from ward {ward}; slow down",
                       headers={"Retry-After": str(max(1, round(wait)))})

    encoding = request.headers.get("Content-Encoding", "identity").strip().lower()
    if encoding not in ACCEPTED_ENCODINGS:
        own.push_refused("unsupported_encoding")
        return problem(415, f"Content-Encoding {encoding[:40]!r} is not accepted; "
                            f"send one of {', '.join(ACCEPTED_ENCODINGS)}")
    try:
        data = json.loads(await request.read())
    except web.HTTPRequestEntityTooLarge:
        limit = request.app[SETTINGS].max_body_bytes
        own.push_refused("too_large")
        return problem(413, f"body larger than {limit} bytes; send smaller batches")
    except web.RequestPayloadError as exc:
        # The rest of the body cannot be read either: mark it finished (so the server does
        # not try to drain it) and close the connection after this answer.
        request.content.feed_eof()
        refused = problem(400, f"body cannot be read: {str(exc).splitlines()[-1].strip()}")
        refused.force_close()
        own.push_refused("unreadable_body")
        return refused
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        own.push_refused("invalid_json")
        return problem(400, f"body is not valid JSON: {exc}")
    except RecursionError:
        own.push_refused("invalid_json")
        return problem(400, "body is not a report batch: JSON nested too deeply")
    try:
        batch = parse_batch(data)
    except PayloadError as exc:
        own.push_refused("invalid_reports")
        return problem(422, "invalid reports", exc.reasons[:50])

    foreign = sorted({r.ward for r in batch.reports if r.ward != ward})
    if foreign:
        own.push_refused("foreign_ward")
        return problem(403, f"this token reports for ward {ward} only, not {', '.join(foreign)}")

    state = request.app[STATE]
    prepared = state.prepare(
        ward, [(r.kind, r.target, r.measured_at, r.result) for r in batch.reports])
    if prepared.over_budget:
        state.count_refusal(ward, "series_budget")
        own.push_refused("series_budget")
        return problem(422, "over the ward's series budget (inventory: series_budget)",
                       prepared.over_budget)

    stored = [
        StoredReport(r.id, r.ward, r.kind, r.target, r.measured_at, r.result.model_dump_json())
        for r in batch.reports
    ]
    try:
        fresh = await request.app[STORE].add(stored)
    except StoreUnavailable as exc:
        log.error("store refused a batch from ward %s: %s", ward, exc)
        own.push_refused("store_unavailable")
        return problem(503, "the collector cannot store reports right now; retry later",
                       headers={"Retry-After": "30"})

    state.apply_prepared(prepared, fresh)
    if batch.agent is not None:
        state.agent_status(ward, batch.agent.dropped_reports_total)
    stored_count = sum(fresh)
    own.reports_taken(stored_count, len(fresh) - stored_count)
    return web.json_response({
        "acknowledged": [r.id for r in batch.reports],
        "stored": stored_count,
        "duplicates": len(fresh) - stored_count,
    })


# gzip level 1: at national scale the body is ~15 MB and level 6 (aiohttp's default)
# costs more than twice as long for a body only ~10 % smaller. The gzip is ISA-L's
# (python-isal): the same format and size as zlib's level 1 in a quarter of the time
# (8 against 35 ms for a national body).
METRICS_GZIP_LEVEL = 1


def compress_metrics(body: bytes) -> bytes:
    return igzip.compress(body, METRICS_GZIP_LEVEL, mtime=0)


async def metrics(request: web.Request) -> web.Response:
    """The fleet's series from their ready-made lines, then the collector's own metrics
    (prometheus_client; no family of theirs is a fleet family)."""
    body = request.app[STATE].render_bytes() + request.app[OWN_METRICS].render()
    headers = {"Content-Type": METRICS_CONTENT_TYPE, "Vary": "Accept-Encoding"}
    if "gzip" in request.headers.get("Accept-Encoding", ""):
        # Off the event loop, so ingest goes on while a scrape is compressed.
        body = await asyncio.to_thread(compress_metrics, body)
        headers["Content-Encoding"] = "gzip"
    return web.Response(body=body, headers=headers)


async def healthz(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok", **request.app[STATE].summary()})


async def openapi(_request: web.Request) -> web.Response:
    return web.Response(body=OPENAPI_PATH.read_bytes(), content_type="application/json")


async def ward_of_token(request: web.Request) -> str | None:
    """Speed tests load the link and the server: only agents with a ward token may run one,
    and the slot they get belongs to that ward."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return request.app[TOKENS].ward_for(token.strip()) if scheme.lower() == "bearer" else None


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

# Every answer carries these. The pages load their script and style from /static/ only,
# are never framed (clickjacking), and never send a Referer: a ward's shared link
# carries its key in the query string.
SECURITY_HEADERS = {
    "Content-Security-Policy": ("default-src 'self'; script-src 'self'; style-src 'self'; "
                                "img-src 'self' data:; object-src 'none'; base-uri 'none'; "
                                "form-action 'self'; frame-ancestors 'none'"),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


async def add_security_headers(request: web.Request, response: web.StreamResponse) -> None:
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    if request.secure:
        response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")


@web.middleware
async def time_requests(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every answer, refusals of the NOC login included, in the request histogram; a
    handler's error as the 500 the client gets. A request cancelled (the server stopping)
    got no answer and is not counted."""
    own, started = request.app[OWN_METRICS], time.perf_counter()
    try:
        response = await handler(request)
    except web.HTTPException as exc:
        own.observe_request(request, exc.status, time.perf_counter() - started)
        raise
    except Exception:
        own.observe_request(request, 500, time.perf_counter() - started)
        raise
    own.observe_request(request, response.status, time.perf_counter() - started)
    return response


@web.middleware
async def noc_login(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Everything but the agents' endpoints and health needs the NOC login, when configured."""
    auth = request.app.get(NOC_AUTH)
    if auth is None or request.path.startswith(OPEN_PREFIXES) or request.path in LOGIN_PATHS:
        return await handler(request)
    # A ward's signed link opens that ward's page, and nothing else, without the login.
    if is_shared_ward_request(request, request.app[SHARE]):
        return await handler(request)
    user = request.app[SESSIONS].user_of(request.cookies.get(SESSION_COOKIE))
    if user is not None:
        request[NOC_USER] = user
        return await handler(request)
    header = request.headers.get("Authorization")
    if header is None and request.method in ("GET", "HEAD") \
            and "text/html" in request.headers.get("Accept", ""):
        # A person in a browser: the login page, not the browser's Basic-auth dialog.
        return web.Response(status=303, headers={"Location": login_url(request)})
    outcome = await auth.check(header, request.remote or "?")
    if outcome.allowed:
        request[NOC_USER] = outcome.user
        return await handler(request)
    if outcome.status == 429:
        return problem(429, outcome.reason,
                       headers={"Retry-After": str(max(1, math.ceil(outcome.retry_after)))})
    if outcome.status == 400:
        return problem(400, outcome.reason)
    return problem(401, outcome.reason,
                   headers={"WWW-Authenticate": 'Basic realm="sansang", charset="UTF-8"'})


# Collect the young generation every 20,000 allocations, not 700, and the oldest rarely:
# a full collection walks every live object, which at national scale took up to 0.7 s
# and was the whole tail of the ingest latency. Young garbage is still collected often.
GC_THRESHOLDS = (20_000, 20, 100)


def settle_garbage_collector() -> None:
    """Take what start-up built (inventory, restored state, modules) out of the garbage
    collector's view for good, and make full collections rare."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


HOUSEKEEPING_SECONDS = 10.0
VERDICT_REFRESH_SECONDS = 1.0
# A ward is judged again at most this often while its reports keep changing: judging
# one costs ~0.14 ms, and at national scale a flood of single-report pushes had the
# refresher judging most of the country every second. Prometheus scrapes every 15 s.
VERDICT_SPACING_SECONDS = 5.0


# Wards judged between two yields to the event loop: about 3 ms of work, so pushes
# are never held up behind a whole city's verdicts.
VERDICTS_PER_SLICE = 20


async def refresh_verdicts(app: web.Application) -> None:
    """Re-judge the wards whose reports changed, and those whose agent just fell silent."""
    state = app[STATE]
    while True:
        await asyncio.sleep(VERDICT_REFRESH_SECONDS)
        due = state.wards_to_refresh(spacing_seconds=VERDICT_SPACING_SECONDS)
        for index, code in enumerate(due):
            state.refresh_ward(code)
            if index % VERDICTS_PER_SLICE == VERDICTS_PER_SLICE - 1:
                await asyncio.sleep(0)


async def keep_house(app: web.Application) -> None:
    """The write-ahead log's checkpoint, the readiness history, and report retention."""
    state, store = app[STATE], app[STORE]
    retention = app[SETTINGS].retention_days * 86400
    last_prune = 0.0
    while True:
        await asyncio.sleep(HOUSEKEEPING_SECONDS)
        try:
            await asyncio.to_thread(store.checkpoint)
            await asyncio.to_thread(store.record_readiness, state.take_pending_history())
            await asyncio.to_thread(store.record_changes, state.take_pending_changes())
            if time.monotonic() - last_prune > 3600:
                last_prune = time.monotonic()
                pruned = await asyncio.to_thread(store.prune, time.time() - retention)
                if pruned:
                    log.info("pruned %d reports older than the retention", pruned)
        except sqlite3.Error as exc:
            log.error("housekeeping failed, will retry: %s", exc)


def restore_state(state: FleetState, store: ReportStore) -> int:
    """The newest stored report of every series back into the state, a ward at a time;
    the number of rows skipped (each one logged): no stored row can stop a start."""
    skipped = 0
    for ward, rows in itertools.groupby(store.latest_per_series(), key=lambda row: row.ward):
        for reason in state.restore(ward, [
                (row.id, row.kind, row.target, row.measured_at, row.result_json) for row in rows]):
            log.warning("%s", reason)
            skipped += 1
    return skipped


def _beside(database_path: Path, name: str) -> Path:
    """``collector.sqlite3`` -> ``collector.worklog.sqlite3``: a file of its own, beside."""
    return database_path.with_name(f"{database_path.stem}.{name}{database_path.suffix}")


def create_app(settings: CollectorSettings) -> web.Application:
    app = web.Application(client_max_size=settings.max_body_bytes,
                          middlewares=[time_requests, noc_login, pages_for_people])
    app[SETTINGS] = settings
    app[OWN_METRICS] = OwnMetrics()
    app[TOKENS] = TokenBook.from_file(settings.tokens_path)
    app[STATE] = FleetState(settings.inventory, settings.simulated_wards,
                            settings.report_interval_seconds)
    app[STORE] = ReportStore(settings.database_path)
    app[LIMITER] = RateLimiter(settings.rate_per_second, settings.rate_burst)
    if settings.basic_auth_path is not None:
        app[NOC_AUTH] = BasicAuth.from_file(settings.basic_auth_path)

    async def lifecycle(app: web.Application) -> AsyncIterator[None]:
        store = app[STORE]
        skipped = restore_state(app[STATE], store)
        app[STATE].remember_states(store.last_states())
        if skipped:
            log.warning("%d stored report(s) could not be restored and were skipped", skipped)
        await store.start()
        if settings.tune_garbage_collector:
            settle_garbage_collector()
        tasks = [asyncio.create_task(keep_house(app), name="housekeeping"),
                 asyncio.create_task(refresh_verdicts(app), name="verdicts")]
        yield
        for task in tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await asyncio.to_thread(store.record_readiness, app[STATE].take_pending_history())
        await asyncio.to_thread(store.record_changes, app[STATE].take_pending_changes())
        await store.close()
        if NOC_AUTH in app:
            app[NOC_AUTH].close()

    app.cleanup_ctx.append(lifecycle)
    app.on_response_prepare.append(add_security_headers)
    app.router.add_post("/api/v1/reports", ingest)
    app.router.add_get("/metrics", metrics)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/api/openapi.json", openapi)
    app[SHARE] = ShareLinks.beside(settings.database_path)
    if NOC_AUTH in app:
        add_login(app, app[NOC_AUTH], app[SHARE].subkey("sessions"))
    add_pages(app, app[STATE], app[SHARE], app[STORE].readiness_history,
              ToolLinks(settings.prometheus_url, settings.alertmanager_url, settings.grafana_url))
    add_ward_history(app, settings.database_path)
    silences = None
    if settings.alertmanager_url:
        silences = SilenceBook(settings.alertmanager_url, _beside(settings.database_path,
                                                                  "silences"))
    add_casework(app, Casework(WorkLog(_beside(settings.database_path, "worklog")), app[STATE],
                               app[SHARE].subkey("forms"), silences))
    add_speedtest_routes(app, slots=settings.speedtest_slots, authorize=ward_of_token)
    return app
