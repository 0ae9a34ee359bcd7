"""The collector's aiohttp application: ingest, ``/metrics``, health.

A push is authenticated by the ward's bearer token, validated whole, committed
durably, and only then applied to the ward's state and acknowledged. Any
refusal (401, 403, 400, 413, 422, 503) changes no state.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

from aiohttp import web

from collector.payload import PayloadError, parse_batch
from collector.speedtest_hook import add_optional_speedtest
from collector.state import FleetState
from collector.store import ReportStore, StoredReport, StoreUnavailable
from collector.tokens import TokenBook
from inventory.model import Inventory

log = logging.getLogger("sansang.collector")

METRICS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


@dataclass
class CollectorSettings:
    inventory: Inventory
    tokens_path: Path
    database_path: Path
    simulated_wards: frozenset[str] = frozenset()
    report_interval_seconds: float = 60.0
    max_body_bytes: int = 1 << 20
    speedtest_slots: int = 1
    extra: dict[str, object] = field(default_factory=dict)


STATE = web.AppKey("state", FleetState)
STORE = web.AppKey("store", ReportStore)
TOKENS = web.AppKey("tokens", TokenBook)
SETTINGS = web.AppKey("settings", CollectorSettings)


def problem(status: int, reason: str, details: list[str] | None = None,
            headers: dict[str, str] | None = None) -> web.Response:
    body = {"error": reason}
    if details:
        body["details"] = details  # type: ignore[assignment]
    return web.json_response(body, status=status, headers=headers)


async def ingest(request: web.Request) -> web.Response:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        return problem(401, "missing bearer token", headers={"WWW-Authenticate": "Bearer"})
    ward = request.app[TOKENS].ward_for(token.strip())
    if ward is None:
        return problem(401, "unknown token", headers={"WWW-Authenticate": "Bearer"})

    try:
        data = await request.json(loads=json.loads)
    except web.HTTPRequestEntityTooLarge:
        limit = request.app[SETTINGS].max_body_bytes
        return problem(413, f"body larger than {limit} bytes; send smaller batches")
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        return problem(400, f"body is not valid JSON: {exc}")
    try:
        batch = parse_batch(data)
    except PayloadError as exc:
        return problem(422, "invalid reports", exc.reasons[:50])

    foreign = sorted({r.ward for r in batch.reports if r.ward != ward})
    if foreign:
        return problem(403, f"this token reports for ward {ward} only, not {', '.join(foreign)}")

    stored = [
        StoredReport(r.id, r.ward, r.kind, r.target, r.measured_at, r.result.model_dump_json())
        for r in batch.reports
    ]
    try:
        fresh = await request.app[STORE].add(stored)
    except StoreUnavailable as exc:
        log.error("store refused a batch from ward %s: %s", ward, exc)
        return problem(503, "the collector cannot store reports right now; retry later",
                       headers={"Retry-After": "30"})

    state = request.app[STATE]
    for report, is_new in zip(batch.reports, fresh, strict=True):
        if is_new:
            state.apply(report.ward, report.kind, report.target, report.measured_at,
                        report.result)
    return web.json_response({
        "acknowledged": [r.id for r in batch.reports],
        "stored": sum(fresh),
        "duplicates": len(fresh) - sum(fresh),
    })


async def metrics(request: web.Request) -> web.Response:
    body = request.app[STATE].render()
    response = web.Response(body=body.encode(), headers={"Content-Type": METRICS_CONTENT_TYPE})
    response.enable_compression()
    return response


async def healthz(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok", **request.app[STATE].summary()})


def create_app(settings: CollectorSettings) -> web.Application:
    app = web.Application(client_max_size=settings.max_body_bytes)
    app[SETTINGS] = settings
    app[TOKENS] = TokenBook.from_file(settings.tokens_path)
    app[STATE] = FleetState(settings.inventory, settings.simulated_wards)
    app[STORE] = ReportStore(settings.database_path)

    async def lifecycle(app: web.Application) -> AsyncIterator[None]:
        store = app[STORE]
        for row in store.latest_per_series():
            app[STATE].apply_stored(row.ward, row.kind, row.target, row.measured_at,
                                    row.result_json)
        await store.start()
        yield
        await store.close()

    app.cleanup_ctx.append(lifecycle)
    app.router.add_post("/api/v1/reports", ingest)
    app.router.add_get("/metrics", metrics)
    app.router.add_get("/healthz", healthz)
    add_optional_speedtest(app, settings.speedtest_slots)
    return app
