"""The five states of a check (pass, fail, stale, not configured, no data yet) and the ward
that never reported: old or unmeasured data is never a pass, anywhere it is shown."""

from __future__ import annotations

import time
from pathlib import Path

from collector.state import FleetState
from collector.views import ward_summary
from inventory import criteria, load_inventory
from inventory.model import Thresholds
from probes.icmp import IcmpResult
from probes.series import sample

INVENTORY = load_inventory(Path(__file__).parent / "fixtures" / "inventory" / "base.yaml")
WARD = "10001"
NOW = 1_750_000_000.0
SILENT_AFTER = 180.0


def icmp(rtt: float = 0.01) -> IcmpResult:
    return IcmpResult(up=True, host="core", sent=5, received=5, loss_ratio=0.0,
                      rtt_avg_seconds=rtt, jitter_seconds=0.001)


def timed_latency(age: float) -> list[tuple[tuple[str, tuple[tuple[str, str], ...], float],
                                            float | None]]:
    return [(sample("sansang_agent_last_report_timestamp_seconds", {}, NOW - age), None),
            (sample("sansang_icmp_rtt_avg_seconds", {"target": "core"}, 0.01), NOW - age)]


DEFAULTS = Thresholds()


def evaluate(timed: list, thresholds: Thresholds = DEFAULTS) -> dict:
    return criteria.evaluate_timed(timed, thresholds, NOW, SILENT_AFTER)


def test_a_fresh_measurement_passes_and_an_old_one_is_stale_with_its_time() -> None:
    assert evaluate(timed_latency(60))["latency"].state == "pass"
    old = evaluate(timed_latency(600))["latency"]
    assert (old.state, old.ok, old.newest_at) == ("stale", None, NOW - 600)


def test_nothing_declared_is_not_configured_and_nothing_measured_is_no_data() -> None:
    outcomes = evaluate(timed_latency(60))
    # No critical device, no UPS, no NTP server declared: nothing to answer for.
    for check in ("devices", "power", "clock"):
        assert (outcomes[check].state, outcomes[check].ok) == ("not_configured", True)
    # A link measured without a contract: the contract is missing, which readiness needs.
    unreferenced = evaluate([*timed_latency(60), (
        sample("sansang_bandwidth_download_bytes_per_second", {"link": "main"}, 1e6), NOW)])
    assert (unreferenced["bandwidth"].state, unreferenced["bandwidth"].ok) == (
        "not_configured", None)
    assert (outcomes["dns"].state, outcomes["dns"].ok) == ("no_data", None)


def test_a_speed_test_from_last_night_is_still_todays() -> None:
    timed = [(sample("sansang_link_contract_download_bytes_per_second", {"link": "main"}, 1e6),
              None),
             (sample("sansang_bandwidth_download_bytes_per_second", {"link": "main"}, 9e5),
              NOW - 20 * 3600)]
    assert evaluate(timed)["bandwidth"].state == "pass"
    timed[1] = (timed[1][0], NOW - 27 * 3600)
    assert evaluate(timed)["bandwidth"].state == "stale"


def test_a_speed_test_stays_fresh_for_exactly_26_hours() -> None:
    contract = (sample("sansang_link_contract_download_bytes_per_second", {"link": "main"},
                       1e6), None)
    measured = sample("sansang_bandwidth_download_bytes_per_second", {"link": "main"}, 9e5)
    assert evaluate([contract, (measured, NOW - 26 * 3600)])["bandwidth"].state == "pass"
    assert evaluate([contract, (measured, NOW - 26 * 3600 - 1)])["bandwidth"].state == "stale"


def test_a_silent_wards_measurements_turn_stale_and_leave_metrics() -> None:
    state = FleetState(INVENTORY, report_interval_seconds=60.0)
    measured = time.time()
    state.apply(WARD, "icmp", "core", measured, icmp())
    state.refresh(measured + 1)
    assert state.wards[WARD].outcomes["latency"].state == "pass"
    assert 'sansang_icmp_rtt_avg_seconds{ward="10001",target="core"}' in state.render()

    later = measured + SILENT_AFTER + 5
    assert WARD in state.wards_to_refresh(later)
    state.refresh(later)
    outcome = state.wards[WARD].outcomes["latency"]
    assert (outcome.state, outcome.newest_at) == ("stale", measured)
    text = state.render()
    assert 'sansang_icmp_rtt_avg_seconds{ward="10001"' not in text
    assert ('sansang_ward_check_state{ward="10001",check="latency",state="stale"} 1'
            in text)
    # A fresh report brings the series back at once.
    state.apply(WARD, "icmp", "core", later, icmp(0.02))
    assert 'sansang_icmp_rtt_avg_seconds{ward="10001",target="core"} 0.02' in state.render()


def test_a_verdict_is_judged_again_when_its_data_grows_old_without_any_push() -> None:
    state = FleetState(INVENTORY, report_interval_seconds=60.0)
    measured = time.time()
    state.apply(WARD, "icmp", "core", measured, icmp())
    state.refresh(measured + 1)
    assert state.wards[WARD].expires_at == measured + SILENT_AFTER
    assert WARD not in state.wards_to_refresh(measured + 2)


def test_a_ward_that_never_reported_is_not_installed_and_shows_no_pass() -> None:
    state = FleetState(INVENTORY)
    summary = ward_summary(state, WARD, "vi")
    assert summary["status"] == "not_installed" and summary["silent_for_seconds"] is None
    assert "pass" not in {s for name, s in summary["states"].items()
                          if name not in ("devices", "power", "clock")}
    assert summary["states"]["agent"] == "fail"


def test_a_silence_is_counted_when_shown_not_when_judged() -> None:
    # Silent for just under a minute: a second later the words say one minute.
    state = FleetState(INVENTORY, report_interval_seconds=15.0)
    measured = time.time() - 59.3
    state.apply(WARD, "icmp", "core", measured, icmp())
    state.refresh()
    first = ward_summary(state, WARD, "en")
    time.sleep(1.1)
    second = ward_summary(state, WARD, "en")
    assert second["silent_for_seconds"] > first["silent_for_seconds"] >= 59
    assert "59 seconds" in first["failing"][0]["problems"][0]
    assert "1 minute;" in second["failing"][0]["problems"][0]


def test_an_age_in_words_is_counted_up_to_when_it_is_shown() -> None:
    outcome = evaluate(timed_latency(600))["agent"]
    (item,) = outcome.failing
    assert item.counted_from == NOW - 600
    assert "10 minutes" in item.describe("en")  # as judged
    assert "20 minutes" in item.describe("en", now=NOW + 600)  # as shown ten minutes later
    no_age = evaluate(timed_latency(60))["latency"]
    assert no_age.state == "pass"


def test_a_measurement_exactly_as_old_as_the_limit_is_still_fresh() -> None:
    assert evaluate(timed_latency(SILENT_AFTER))["latency"].state == "pass"
    assert evaluate(timed_latency(SILENT_AFTER + 0.001))["latency"].state == "stale"


def test_measurements_may_come_as_any_iterable() -> None:
    outcomes = criteria.evaluate_timed(iter(timed_latency(600)), DEFAULTS, NOW, SILENT_AFTER)
    assert outcomes["latency"].state == "stale"


def test_a_declared_time_server_never_measured_fails_the_clock_check() -> None:
    timed = [*timed_latency(60),
             (sample("sansang_ntp_server_info", {"server": "ntp.city"}, 1), None)]
    outcome = evaluate(timed)["clock"]
    assert (outcome.state, outcome.ok) == ("fail", False)
    (item,) = outcome.failing
    assert (item.condition, dict(item.labels)) == ("not_measured", {"server": "ntp.city"})


def test_a_ward_that_never_reported_has_failed_since_nothing() -> None:
    # Not "since the collector started": the agent check of a ward with no agent has no
    # start, on the API, the dispatch list and the page.
    from collector.views import dispatch_rows

    summary = ward_summary(FleetState(INVENTORY), WARD, "en")
    assert [f["since"] for f in summary["failing"]] == [None]
    assert dispatch_rows([summary])[0]["failing_since"] is None
