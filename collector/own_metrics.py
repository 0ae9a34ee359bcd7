"""The collector's own metrics: its process and runtime, how long it takes to answer each
route, and what becomes of pushes and their reports.

They live in a prometheus_client registry of their own (never the global ``REGISTRY``),
one per application, and ``/metrics`` appends them to the fleet's series. Every label
value comes from a short fixed list, so no request can add a series of its own.
"""

from __future__ import annotations

from typing import Literal, get_args

from aiohttp import web
from prometheus_client import (
    CollectorRegistry,
    Counter,
    GCCollector,
    Histogram,
    PlatformCollector,
    ProcessCollector,
    generate_latest,
)

# From a cached page (a millisecond) to a speed-test stream (seconds) and a national
# /metrics body (tens of milliseconds, more under load).
REQUEST_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
                   10.0, 30.0)
# Any other method (a client may send any token) is counted as "other".
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"})
# The handler label of a request that matched no route (404, 405).
UNMATCHED = "unmatched"

# Why a push was refused whole, one word per refusal of the ingest API.
RefusalReason = Literal[
    "missing_token", "unknown_token", "rate_limited", "unsupported_encoding", "too_large",
    "unreadable_body", "invalid_json", "invalid_reports", "foreign_ward", "series_budget",
    "store_unavailable",
]
REFUSAL_REASONS: tuple[RefusalReason, ...] = get_args(RefusalReason)
# What became of each report of an accepted push.
REPORT_OUTCOMES = ("stored", "duplicate")


class OwnMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        ProcessCollector(registry=self.registry)
        PlatformCollector(registry=self.registry)
        GCCollector(registry=self.registry)
        self.request_seconds = Histogram(
            "sansang_collector_http_request_duration_seconds",
            "Time the collector took to answer a request, by route (its path pattern), "
            "method and status.",
            ["handler", "method", "status"], buckets=REQUEST_BUCKETS, registry=self.registry)
        self.reports = Counter(
            "sansang_collector_ingest_reports",
            "Reports of accepted pushes: stored, or a duplicate of one stored before.",
            ["outcome"], registry=self.registry)
        self.refusals = Counter(
            "sansang_collector_push_refusals",
            "Pushes refused whole, by reason.", ["reason"], registry=self.registry)
        # Every known label value shows from the start, at 0, so rate() sees the first one.
        for outcome in REPORT_OUTCOMES:
            self.reports.labels(outcome)
        for reason in REFUSAL_REASONS:
            self.refusals.labels(reason)

    def observe_request(self, request: web.Request, status: int, seconds: float) -> None:
        resource = request.match_info.route.resource
        handler = UNMATCHED if resource is None else resource.canonical
        method = request.method if request.method in METHODS else "other"
        self.request_seconds.labels(handler, method, str(status)).observe(seconds)

    def push_refused(self, reason: RefusalReason) -> None:
        self.refusals.labels(reason).inc()

    def reports_taken(self, stored: int, duplicates: int) -> None:
        self.reports.labels("stored").inc(stored)
        self.reports.labels("duplicate").inc(duplicates)

    def render(self) -> bytes:
        return generate_latest(self.registry)
