"""The collector's state renders each ward's lines when reports arrive: whatever order
and grouping the reports come in, ``/metrics`` says the same as rendering from scratch."""

from __future__ import annotations

import random
import time
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from collector.payload import parse_batch
from collector.state import FleetState
from demo.fleet import SimulatedWard, simulated_reports
from inventory.load import DEFAULT_INVENTORY, load_inventory
from inventory.model import Inventory

INVENTORY: Inventory = load_inventory(DEFAULT_INVENTORY)
CODES = list(INVENTORY.wards)[:12]


def rounds(count: int, start: float, seed: int = 3) -> list[dict[str, list[Any]]]:
    """``count`` rounds of typed reports per ward, each round 60 s after the one before."""
    rng = random.Random(seed)
    out = []
    for index in range(count):
        per_ward = {}
        for n, code in enumerate(CODES):
            ward = SimulatedWard(code, "unused", ("healthy", "platform_down", "lossy")[n % 3],
                                 contract_bytes_per_second=12.5e6)
            batch = parse_batch({"reports": simulated_reports(ward, start + 60 * index, rng)},
                                now=start + 60 * index)
            per_ward[code] = [(r.kind, r.target, r.measured_at, r.result) for r in batch.reports]
        out.append(per_ward)
    return out


def exposition(state: FleetState) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    text = state.render_bytes().decode()
    assert text == state.render()
    out = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            key = (s.name, tuple(sorted(s.labels.items())))
            assert key not in out, f"series {key} rendered twice"
            out[key] = s.value
    return out


def measured_lines(state: FleetState) -> list[str]:
    """Every line but "failing since", which holds the clock time of each state's start."""
    return [line for line in state.render().splitlines()
            if not line.startswith("sansang_ward_check_failing_since")]


def test_a_push_renders_as_its_reports_one_by_one() -> None:
    now = time.time()
    data = rounds(2, now - 120)
    one_by_one, whole = FleetState(INVENTORY), FleetState(INVENTORY)
    for per_ward in data:
        for code, reports in per_ward.items():
            for report in reports:
                one_by_one.apply(code, *report)
            whole.apply_reports(code, reports)
    one_by_one.refresh(now)
    whole.refresh(now)
    assert measured_lines(one_by_one) == measured_lines(whole)
    shown = exposition(whole)
    for code in CODES:
        assert shown[("sansang_agent_last_report_timestamp_seconds", (("ward", code),))] \
            == data[-1][code][0][2]


def test_a_replayed_older_push_changes_nothing_shown() -> None:
    now = time.time()
    old, new = rounds(2, now - 120)
    state = FleetState(INVENTORY)
    for code in CODES:
        state.apply_reports(code, new[code])
    state.refresh(now)
    before = state.render_bytes()
    for code in CODES:
        assert not state.apply_reports(code, old[code])
    state.refresh(now)
    assert state.render_bytes() == before


def test_a_series_the_newer_report_lacks_disappears() -> None:
    now = time.time()
    (first,) = rounds(1, now - 60)
    code = CODES[0]
    state = FleetState(INVENTORY)
    state.apply_reports(code, first[code])
    http = [r for r in first[code] if r[0] == "http"]
    kind, platform, _, result = http[0]
    key = ("sansang_platform_response_seconds", (("platform", platform), ("ward", code)))
    assert key in exposition(state)
    failed = result.model_copy(update={"up": False, "response_seconds": None,
                                       "status_code": None, "error": "timed out"})
    assert state.apply(code, kind, platform, now, failed)
    shown = exposition(state)
    assert key not in shown
    assert shown[("sansang_platform_up", (("platform", platform), ("ward", code)))] == 0
    # The ward's other platforms keep their lines.
    for _, other, _, _ in http[1:]:
        assert ("sansang_platform_response_seconds",
                (("platform", other), ("ward", code))) in shown


def test_simulated_wards_carry_the_label_on_every_line() -> None:
    now = time.time()
    (first,) = rounds(1, now - 60)
    state = FleetState(INVENTORY, simulated_wards=CODES[:1])
    for code in CODES[:2]:
        state.apply_reports(code, first[code])
    state.refresh(now)
    text = state.render()
    for line in text.splitlines():
        if f'ward="{CODES[0]}"' in line:
            assert 'simulated="true"' in line, line
        if f'ward="{CODES[1]}"' in line:
            assert "simulated" not in line, line


def test_verdicts_are_spaced_but_never_late_for_a_ward_falling_silent() -> None:
    now = time.time()
    first, second = rounds(2, now - 60)
    code = CODES[0]
    # Rounds a minute apart, so the agent's interval is a minute (not the 15 s default).
    state = FleetState(INVENTORY, report_interval_seconds=60.0)
    state.apply_reports(code, first[code])
    state.refresh(now)
    state.apply_reports(code, second[code])
    assert code not in state.wards_to_refresh(now + 1, spacing_seconds=5)
    assert code in state.wards_to_refresh(now + 5, spacing_seconds=5)
    assert code in state.wards_to_refresh(now + 1)  # a reader wants it current at once
    state.refresh(now + 1)
    # Long after its last report the agent is silent: judged at once, whatever the spacing.
    later = now + 3600
    assert code in state.wards_to_refresh(later, spacing_seconds=later)
