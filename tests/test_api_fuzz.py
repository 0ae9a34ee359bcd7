"""The collector's API under generated input: no server errors, no answer that breaks its schema.

schemathesis drives a running collector from the OpenAPI document it serves,
with a valid ward token, in positive and negative modes; hypothesis drives the
payload validator directly: whatever JSON arrives, it says yes or refuses with
reasons, and what it accepts it gives back unchanged.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.config import SchemathesisConfig
from schemathesis.errors import UnsupportedSchema
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    ignored_auth,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from collector.payload import MAX_AGE_SECONDS, MAX_FUTURE_SECONDS, PayloadError, parse_batch
from probes import PROBES
from tests.lab.servers import Collector, http_get, running_collector

WARD = "26968"
OPENAPI = Path(__file__).resolve().parents[1] / "collector" / "openapi.json"

# Every check about what the collector answers. positive_data_acceptance is left
# out on purpose: the schema cannot say that a token reports for its own ward only,
# or that measured_at must be near the collector's clock, so schema-valid pushes
# are rightly refused with 403 and 422; both answers are in the schema.
CONFORMANCE = [
    not_a_server_error, status_code_conformance, content_type_conformance,
    response_schema_conformance, response_headers_conformance, ignored_auth,
]


@pytest.fixture(scope="module")
def collector(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Collector]:
    # No rate limit in the way: every generated push reaches validation and the store.
    with running_collector(tmp_path_factory.mktemp("fuzzed-collector"), [WARD],
                           extra_args=["--rate", "100000", "--rate-burst", "100000"]) as running:
        yield running


# The checked-in document, which tests/test_openapi.py proves is the one the collector
# serves at /api/openapi.json. (Loaded from the file rather than through
# schemathesis.pytest.from_fixture, whose lazy loader reaches for a pytest internal,
# Function._nodeid, that pytest 9 removed.)
# A push that breaks the schema is refused with one of these. 413 is among them: a
# generated body can be over the documented size limit, and that refusal is as good.
REFUSALS = [400, 401, 403, 404, 405, 406, 409, 413, 415, 422, 428, 429]
documented = schemathesis.openapi.from_path(OPENAPI, config=SchemathesisConfig.from_dict(
    {"checks": {"negative_data_rejection": {"expected-statuses": REFUSALS}}}))
pushes = documented.include(path="/api/v1/reports")
reads = documented.exclude(path="/api/v1/reports")


def aimed_at_the_token_ward(case: Any) -> bool:
    """Point a schema-valid push at the token's ward and the present, so it gets stored."""
    body = case.body
    if (case.meta is None or not case.meta.generation.mode.is_positive
            or not isinstance(body, dict) or not isinstance(body.get("reports"), list)):
        return False
    for report in body["reports"]:
        report["ward"] = WARD
        report["measured_at"] = time.time()
    return True


def push_schema_refusal() -> UnsupportedSchema | None:
    """Why schemathesis cannot generate pushes from the document, or None when it can."""
    operation = next(result.ok() for result in pushes.get_all_operations())

    @settings(max_examples=1, deadline=None, database=None)
    @given(operation.as_strategy())
    def draw(case: Any) -> None:
        pass

    try:
        draw()
    except UnsupportedSchema as refusal:
        return refusal
    return None


REFUSAL = push_schema_refusal()


def test_schemathesis_can_generate_pushes_from_the_document() -> None:
    # The document is OpenAPI 3.1 (JSON Schema 2020-12), as pydantic writes its types.
    assert REFUSAL is None, REFUSAL


@pushes.parametrize()
@settings(max_examples=30, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
def test_any_push_is_answered_as_documented_and_what_is_stored_renders(
    case: Any, collector: Collector
) -> None:
    aimed = aimed_at_the_token_ward(case)
    # A push that breaks the schema must be refused: nothing invalid reaches the store.
    response = case.call_and_validate(
        base_url=collector.url, headers={"Authorization": f"Bearer {collector.tokens[WARD]}"},
        checks=[*CONFORMANCE, negative_data_rejection])
    if aimed and response.status_code == 422:
        # The one rule of a valid push the schema cannot state: ids unique within a batch.
        details = response.json().get("details", [])
        assert details and all("repeated within the batch" in d for d in details), details
    if response.status_code == 200:
        # What was stored must also render: the metrics and the ward's pages.
        for path in ("/metrics", f"/ward/{WARD}", "/", "/dispatch", "/api/v1/wards"):
            status, body = http_get(collector.url + path)
            assert status == 200, (path, body[:2000])


# negative_data_rejection is not asked of reads: an unknown ?lang= falls back to
# Vietnamese on purpose (a page link must never break), stricter than the document's enum.
@reads.parametrize()
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_every_read_is_answered_as_documented(case: Any, collector: Collector) -> None:
    case.call_and_validate(
        base_url=collector.url, headers={"Authorization": f"Bearer {collector.tokens[WARD]}"},
        checks=CONFORMANCE)


# --- the payload validator


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=5)
    | st.dictionaries(st.text(max_size=12), children, max_size=5),
    max_leaves=30,
)
KEYS = st.sampled_from(["id", "ward", "measured_at", "kind", "target", "result", "agent",
                        "reports", "up", "host", "sent", "received", "loss_ratio", "url",
                        "rtts_seconds", "interfaces", "ups", "error"])
# Shapes close to a real push, so the validator is pressed beyond its first check.
NEAR_MISS = st.fixed_dictionaries({
    "reports": st.lists(
        st.dictionaries(KEYS, JSON, max_size=8)
        | st.fixed_dictionaries({
            "id": st.text(max_size=70), "ward": st.text(max_size=6), "measured_at": JSON,
            "kind": st.sampled_from(sorted(PROBES)) | st.text(max_size=6),
            "target": st.text(max_size=10), "result": st.dictionaries(KEYS, JSON, max_size=8),
        }),
        max_size=4),
}, optional={"agent": JSON})


@settings(max_examples=400, deadline=None)
@given(st.one_of(JSON, NEAR_MISS))
def test_any_json_is_accepted_or_refused_with_reasons_never_raises_otherwise(data: Any) -> None:
    try:
        parse_batch(data)
    except PayloadError as exc:
        assert exc.reasons and all(isinstance(r, str) and r for r in exc.reasons)


def text(min_size: int = 0, max_size: int | None = None) -> st.SearchStrategy[str]:
    """Text a report may hold: anything but control characters (see probes.report_bounds)."""
    return st.text(st.characters(exclude_categories=("Cc", "Cs")),
                   min_size=min_size, max_size=max_size)


def finite(low: float = 0.0, high: float = 1e6) -> st.SearchStrategy[float]:
    return st.floats(min_value=low, max_value=high, allow_nan=False, allow_infinity=False)


def optional(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.none() | strategy


ICMP_RESULT = st.builds(
    lambda up, host, sent, received, rtt, rtts: {
        "up": up, "host": host, "sent": sent, "received": min(received, sent),
        "loss_ratio": 1 - min(received, sent) / sent if sent else 1.0,
        "rtt_avg_seconds": rtt, "rtts_seconds": rtts,
    },
    st.booleans(), text(min_size=1, max_size=40), st.integers(0, 1000),
    st.integers(0, 1000), optional(finite(0, 10)), st.lists(finite(0, 10), max_size=20),
)
HTTP_RESULT = st.builds(
    lambda up, url, code, seconds, error: {
        "up": up, "url": url, "status_code": code, "response_seconds": seconds, "error": error,
    },
    st.booleans(), text(min_size=1, max_size=60), optional(st.integers(100, 599)),
    optional(finite(0, 60)), optional(text(max_size=80)),
)
DNS_RESULT = st.builds(
    lambda up, name, seconds, addresses: {
        "up": up, "name": name, "lookup_seconds": seconds, "addresses": addresses,
    },
    st.booleans(), text(max_size=60), optional(finite(0, 10)),
    st.lists(st.ip_addresses().map(str), max_size=5),
)
RESULTS = {"icmp": ICMP_RESULT, "http": HTTP_RESULT, "dns": DNS_RESULT}


# One collector clock for the whole run, so the strategy draws the same way every time.
NOW = time.time()


@st.composite
def valid_batches(draw: st.DrawFn) -> dict[str, Any]:
    now = NOW
    reports = []
    for _ in range(draw(st.integers(1, 5))):
        kind = draw(st.sampled_from(sorted(RESULTS)))
        reports.append({
            "id": uuid.uuid4().hex,
            "ward": draw(st.from_regex(r"\A[0-9]{5}\Z")),
            "measured_at": draw(finite(now - MAX_AGE_SECONDS + 60, now + MAX_FUTURE_SECONDS - 60)),
            "kind": kind,
            "target": draw(text(min_size=1, max_size=200)),
            "result": draw(RESULTS[kind]),
        })
    batch: dict[str, Any] = {"reports": reports}
    if draw(st.booleans()):
        batch["agent"] = {"dropped_reports_total": draw(st.integers(0, 2**53)),
                          "spooled_reports": draw(st.integers(0, 2**53))}
    return batch


@settings(max_examples=200, deadline=None)
@given(valid_batches())
def test_a_valid_batch_is_accepted_and_round_trips_unchanged(batch: dict[str, Any]) -> None:
    parsed = parse_batch(batch, now=NOW)
    assert len(parsed.reports) == len(batch["reports"])
    for report, sent in zip(parsed.reports, batch["reports"], strict=True):
        assert (report.id, report.ward, report.kind, report.target) == (
            sent["id"], sent["ward"], sent["kind"], sent["target"])
        assert report.measured_at == sent["measured_at"]
        dumped = report.result.to_json()
        assert {key: dumped[key] for key in sent["result"]} == sent["result"]
    # What the collector stores (each result as JSON) reads back as the very same reports.
    stored = [{"id": r.id, "ward": r.ward, "measured_at": r.measured_at, "kind": r.kind,
               "target": r.target, "result": json.loads(r.result.model_dump_json())}
              for r in parsed.reports]
    assert parse_batch({"reports": stored}, now=NOW).reports == parsed.reports
