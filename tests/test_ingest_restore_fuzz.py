"""Generated input for the two paths no report may break: ingest into the fleet state, and a
start that restores the store's rows. Whatever arrives, ingest accepts it and renders it, or
refuses it with reasons; whatever the store holds, a restart finishes and renders."""

from __future__ import annotations

import json
import math
import time
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from prometheus_client.parser import text_string_to_metric_families

from collector.payload import PayloadError, parse_batch
from collector.state import FleetState
from inventory import load_inventory
from probes import PROBES

INVENTORY = load_inventory(Path(__file__).parent / "fixtures" / "inventory" / "base.yaml")
NOW = time.time()

NUMBERS = (st.integers(-(2**70), 2**70) | st.floats(allow_nan=True, allow_infinity=True)
           | st.sampled_from([2**64 - 1, 2**64, -(2**63), 10**400, 0, -1]))
TEXTS = st.text(max_size=30) | st.sampled_from(["eth0", "\x00", "=1+1", "a\nb", "é" * 5])
SCALARS = st.none() | st.booleans() | NUMBERS | TEXTS
JSON = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=4)
                    | st.dictionaries(TEXTS, inner, max_size=4), max_leaves=20)

INTERFACE = st.fixed_dictionaries({
    "index": NUMBERS, "name": TEXTS, "oper_up": st.booleans() | SCALARS,
}, optional={"in_bytes_total": NUMBERS, "out_errors_total": NUMBERS,
             "speed_bits_per_second": NUMBERS})
RESULTS = {
    "snmp": st.fixed_dictionaries({
        "up": st.booleans(), "target": TEXTS, "version": st.sampled_from(["2c", "3"]),
        "interfaces": st.lists(INTERFACE, max_size=5),
    }, optional={"uptime_seconds": NUMBERS, "cpu_ratio": NUMBERS, "sys_descr": TEXTS,
                 "ups": st.fixed_dictionaries({"mib": st.just("ups-mib")},
                                              optional={"runtime_seconds": NUMBERS,
                                                        "on_battery": SCALARS})}),
    "icmp": st.fixed_dictionaries({
        "up": st.booleans(), "host": TEXTS, "sent": NUMBERS, "received": NUMBERS,
        "loss_ratio": NUMBERS}, optional={"rtt_avg_seconds": NUMBERS,
                                          "rtts_seconds": st.lists(NUMBERS, max_size=5)}),
    "http": st.fixed_dictionaries({"up": st.booleans(), "url": TEXTS},
                                  optional={"status_code": NUMBERS, "error": TEXTS}),
}


@st.composite
def pushes(draw: st.DrawFn) -> dict[str, Any]:
    kind = draw(st.sampled_from(sorted(RESULTS)))
    return {"reports": [{
        "id": draw(st.from_regex(r"\A[a-z0-9]{8,16}\Z")), "ward": "10001",
        "measured_at": draw(st.floats(NOW - 3600, NOW) | NUMBERS),
        "kind": kind, "target": draw(TEXTS), "result": draw(RESULTS[kind] | JSON),
    } for _ in range(draw(st.integers(1, 3)))]}


def renders(state: FleetState) -> None:
    state.refresh()
    families = list(text_string_to_metric_families(state.render()))
    assert families


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pushes())
def test_any_push_is_refused_with_reasons_or_taken_in_and_rendered(data: dict[str, Any]) -> None:
    state = FleetState(INVENTORY)
    try:
        batch = parse_batch(data, now=NOW)
    except PayloadError as refusal:
        assert refusal.reasons
        return
    prepared = state.prepare("10001", [(r.kind, r.target, r.measured_at, r.result)
                                       for r in batch.reports])
    if not prepared.over_budget:
        state.apply_prepared(prepared)
    renders(state)
    # What ingest stores (each result as JSON) restores on the next start.
    again = FleetState(INVENTORY)
    problems = again.restore("10001", [(r.id, r.kind, r.target, r.measured_at,
                                        r.result.model_dump_json()) for r in batch.reports])
    assert problems == [] or prepared.over_budget
    renders(again)


ROW = st.tuples(
    st.text(max_size=10),
    st.sampled_from(sorted(PROBES)) | st.text(max_size=8),
    TEXTS,
    st.floats(allow_nan=True, allow_infinity=True) | st.just(NOW),
    JSON.map(json.dumps) | st.text(max_size=40)
    | st.sampled_from(["[" * 50_000, '{"up": true, "host": "x", "sent": 1e400}']),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(ROW, max_size=6))
def test_any_stored_row_is_restored_or_skipped_with_a_reason(rows: list[Any]) -> None:
    state = FleetState(INVENTORY)
    problems = state.restore("10001", rows)
    assert all(isinstance(p, str) and "skipped" in p for p in problems)
    assert len(problems) <= len(rows)
    renders(state)
    assert all(math.isfinite(w.last_report_at) for w in state.wards.values()
               if w.last_report_at is not None)
