"""The readiness table's verdicts: each check passing and failing, overrides, missing data."""

from __future__ import annotations

import math
from pathlib import Path
from typing import get_args

import pytest

from inventory.criteria import (
    CHECKS,
    CHECKS_BY_NAME,
    INPUT_METRICS,
    LIMIT_METRIC,
    NOT_READY,
    STATES,
    Check,
    Condition,
    FailingItem,
    Measure,
    Missing,
    Only,
    State,
    Unit,
    _input_metrics,
    _stricter,
    agent_silent_after_seconds,
    carries,
    evaluate_ward,
    format_value,
    humanize,
    humanize_duration,
    humanize_percentage,
    limit_samples,
    limit_value,
    readings,
    ward_ready,
)
from inventory.model import Thresholds
from probes import series
from probes.series import Sample

NOW = 1_750_000_000.0
DAY = 86400.0
DEFAULTS = Thresholds()


def sample(name: str, value: float, **labels: str) -> Sample:
    return series.sample(name, {"ward": "26968", **labels}, value)


def healthy() -> list[Sample]:
    """One ward where every check passes, as the collector would export it."""
    platforms = []
    for platform in ("video", "documents", "feedback1022", "procedures"):
        platforms += [
            sample("sansang_platform_up", 1, platform=platform),
            sample("sansang_platform_response_seconds", 0.3, platform=platform),
            sample("sansang_platform_tls_expiry_timestamp_seconds", NOW + 60 * DAY,
                   platform=platform),
        ]
    return [
        sample("sansang_agent_last_report_timestamp_seconds", NOW - 30),
        sample("sansang_icmp_rtt_avg_seconds", 0.02, target="10.77.0.1"),
        sample("sansang_icmp_jitter_seconds", 0.005, target="10.77.0.1"),
        sample("sansang_icmp_loss_ratio", 0.0, target="10.77.0.1"),
        sample("sansang_link_contract_download_bytes_per_second", 12.5e6, link="main"),
        sample("sansang_link_contract_upload_bytes_per_second", 12.5e6, link="main"),
        sample("sansang_bandwidth_download_bytes_per_second", 11e6, link="main"),
        sample("sansang_bandwidth_upload_bytes_per_second", 11e6, link="main"),
        *platforms,
        sample("sansang_dns_up", 1, resolver="10.77.0.53"),
        sample("sansang_dns_lookup_seconds", 0.02, resolver="10.77.0.53"),
        sample("sansang_device_info", 1, device="core-router", role="router", critical="true"),
        sample("sansang_device_up", 1, device="core-router", role="router"),
        sample("sansang_device_uplink_up", 1, device="core-router", interface="wan0"),
        sample("sansang_device_info", 1, device="ups-1", role="ups", critical="true"),
        # A printer whose supplies count for readiness, and one whose do not (its toner
        # is nearly out: a notice on the page, never a failure).
        sample("sansang_device_info", 1, device="printer-a", role="printer", critical="false",
               supplies_required="true"),
        sample("sansang_printer_supply_level_ratio", 0.6, device="printer-a",
               supply="Black Toner", kind="toner"),
        # A full waste box and a jam: notices, never a verdict, even here.
        sample("sansang_printer_supply_level_ratio", 0.01, device="printer-a",
               supply="Waste Toner Box", kind="waste_toner"),
        sample("sansang_printer_error", 1, device="printer-a", error="jammed"),
        # (A printer error series exists only while it holds; 0 here, for the table below.)
        sample("sansang_printer_error", 0, device="printer-a", error="no_toner"),
        sample("sansang_device_info", 1, device="printer-b", role="printer", critical="false",
               supplies_required="false"),
        sample("sansang_printer_supply_level_ratio", 0.02, device="printer-b",
               supply="Black Toner", kind="toner"),
        sample("sansang_device_up", 1, device="ups-1", role="ups"),
        sample("sansang_ups_on_battery", 0, device="ups-1"),
        sample("sansang_ups_battery_charge_ratio", 1.0, device="ups-1"),
        sample("sansang_ups_runtime_seconds", 3600, device="ups-1"),
        sample("sansang_ntp_server_info", 1, server="ntp.city"),
        sample("sansang_ntp_up", 1, server="ntp.city"),
        sample("sansang_clock_offset_seconds", 0.05, server="ntp.city"),
    ]


def changed(samples: list[Sample], name: str, value: float, **labels: str) -> list[Sample]:
    """``samples`` with the value of the series ``name{labels}`` replaced."""
    out, hits = [], 0
    for s in samples:
        if s[0] == name and all(dict(s[1]).get(k) == v for k, v in labels.items()):
            s, hits = (s[0], s[1], float(value)), hits + 1
        out.append(s)
    assert hits == 1, f"{name}{labels} matched {hits} series"
    return out


def without(samples: list[Sample], name: str, **labels: str) -> list[Sample]:
    return [s for s in samples
            if not (s[0] == name and all(dict(s[1]).get(k) == v for k, v in labels.items()))]


def evaluate(samples: list[Sample], thresholds: Thresholds = DEFAULTS):
    return evaluate_ward(samples, thresholds, NOW, agent_silent_after_seconds(thresholds))


def test_a_healthy_ward_passes_every_check_and_is_ready():
    outcomes = evaluate(healthy())
    assert {name: o.ok for name, o in outcomes.items()} == {c.name: True for c in CHECKS}
    assert ward_ready(outcomes)


# (check, series name, labels, new value, failing condition, item labels, measured, limit)
FAILURES = [
    # Three report intervals of 15 s (the production default).
    ("agent", "sansang_agent_last_report_timestamp_seconds", {}, NOW - 46,
     "silent", {}, 46, 45),
    ("latency", "sansang_icmp_rtt_avg_seconds", {"target": "10.77.0.1"}, 0.101,
     "rtt_avg", {"target": "10.77.0.1"}, 0.101, 0.1),
    ("jitter", "sansang_icmp_jitter_seconds", {"target": "10.77.0.1"}, 0.031,
     "jitter", {"target": "10.77.0.1"}, 0.031, 0.03),
    ("loss", "sansang_icmp_loss_ratio", {"target": "10.77.0.1"}, 0.02,
     "loss", {"target": "10.77.0.1"}, 0.02, 0.01),
    # Heavy loss and a cut line fail the marginal condition too; the alerts' inhibitions
    # keep the message to the worst of them.
    ("loss", "sansang_icmp_loss_ratio", {"target": "10.77.0.1"}, 0.3,
     "heavy", {"target": "10.77.0.1"}, 0.3, 0.2),
    ("loss", "sansang_icmp_loss_ratio", {"target": "10.77.0.1"}, 1.0,
     "outage", {}, 1.0, 1.0),
    ("bandwidth", "sansang_bandwidth_download_bytes_per_second", {"link": "main"}, 9e6,
     "download", {"link": "main"}, 9e6, 10e6),
    ("bandwidth", "sansang_bandwidth_upload_bytes_per_second", {"link": "main"}, 5e6,
     "upload", {"link": "main"}, 5e6, 10e6),
    ("platforms", "sansang_platform_up", {"platform": "video"}, 0,
     "down", {"platform": "video"}, 0, 1),
    ("platforms", "sansang_platform_response_seconds", {"platform": "documents"}, 2.5,
     "slow", {"platform": "documents"}, 2.5, 2.0),
    ("platforms", "sansang_platform_tls_expiry_timestamp_seconds", {"platform": "procedures"},
     NOW + 13 * DAY, "tls_expiry", {"platform": "procedures"}, 13 * DAY, 14 * DAY),
    ("dns", "sansang_dns_up", {"resolver": "10.77.0.53"}, 0,
     "failed", {"resolver": "10.77.0.53"}, 0, 1),
    ("dns", "sansang_dns_lookup_seconds", {"resolver": "10.77.0.53"}, 0.25,
     "slow", {"resolver": "10.77.0.53"}, 0.25, 0.2),
    ("devices", "sansang_device_up", {"device": "core-router"}, 0,
     "snmp", {"device": "core-router"}, 0, 1),
    ("devices", "sansang_device_uplink_up", {"device": "core-router"}, 0,
     "uplink", {"device": "core-router", "interface": "wan0"}, 0, 1),
    ("devices", "sansang_printer_supply_level_ratio", {"device": "printer-a", "kind": "toner"},
     0.05, "supply", {"device": "printer-a", "supply": "Black Toner"}, 0.05, 0.1),
    ("devices", "sansang_printer_error", {"device": "printer-a", "error": "no_toner"}, 1,
     "out", {"device": "printer-a", "error": "no_toner"}, 1, 0),
    ("power", "sansang_ups_on_battery", {"device": "ups-1"}, 1,
     "on_battery", {"device": "ups-1"}, 1, 0),
    ("power", "sansang_ups_battery_charge_ratio", {"device": "ups-1"}, 0.4,
     "charge", {"device": "ups-1"}, 0.4, 0.5),
    ("power", "sansang_ups_runtime_seconds", {"device": "ups-1"}, 600,
     "runtime", {"device": "ups-1"}, 600, 900),
    ("clock", "sansang_ntp_up", {"server": "ntp.city"}, 0,
     "no_answer", {"server": "ntp.city"}, 0, 1),
    ("clock", "sansang_clock_offset_seconds", {"server": "ntp.city"}, -1.5,
     "offset", {"server": "ntp.city"}, 1.5, 1.0),
]


@pytest.mark.parametrize(
    ("check", "name", "labels", "value", "condition", "item", "measured", "limit"),
    FAILURES, ids=[f"{f[0]}-{f[4]}" for f in FAILURES],
)
def test_a_failing_measurement_fails_its_check_only_and_says_by_how_much(
    check, name, labels, value, condition, item, measured, limit
):
    outcomes = evaluate(changed(healthy(), name, value, **labels))
    assert outcomes[check].ok is False
    [failing] = [f for f in outcomes[check].failing if f.condition == condition]
    assert (failing.check, failing.condition, dict(failing.labels)) == (check, condition, item)
    assert failing.value == pytest.approx(measured)
    assert failing.threshold == pytest.approx(limit)
    assert [n for n, o in outcomes.items() if o.ok is not True] == [check]
    assert not ward_ready(outcomes)


def test_every_condition_of_the_table_has_a_failing_case_above():
    tested = {(f[0], f[4]) for f in FAILURES}
    assert tested == {(c.name, cond.name) for c in CHECKS for cond in c.conditions}


@pytest.mark.parametrize(("name", "labels", "value"), [
    ("sansang_agent_last_report_timestamp_seconds", {}, NOW - 45),
    ("sansang_icmp_rtt_avg_seconds", {"target": "10.77.0.1"}, 0.1),
    ("sansang_icmp_loss_ratio", {"target": "10.77.0.1"}, 0.01),
    ("sansang_bandwidth_download_bytes_per_second", {"link": "main"}, 10e6),
    ("sansang_platform_tls_expiry_timestamp_seconds", {"platform": "video"}, NOW + 14 * DAY),
    ("sansang_ups_battery_charge_ratio", {"device": "ups-1"}, 0.5),
    ("sansang_ups_runtime_seconds", {"device": "ups-1"}, 900),
])
def test_a_measurement_exactly_at_its_limit_passes(name, labels, value):
    assert ward_ready(evaluate(changed(healthy(), name, value, **labels)))


def test_a_ward_override_moves_the_limit_for_that_ward_only():
    samples = changed(healthy(), "sansang_icmp_rtt_avg_seconds", 0.11, target="10.77.0.1")
    assert evaluate(samples)["latency"].ok is False
    relaxed = DEFAULTS.model_copy(update={"latency_avg_seconds": 0.12})
    assert evaluate(samples, relaxed)["latency"].ok is True
    strict = DEFAULTS.model_copy(update={"latency_avg_seconds": 0.05})
    assert evaluate(healthy(), strict)["latency"].ok is True
    assert evaluate(changed(healthy(), "sansang_icmp_rtt_avg_seconds", 0.07,
                            target="10.77.0.1"), strict)["latency"].ok is False


def test_more_silent_intervals_give_a_silent_agent_more_time():
    samples = changed(healthy(), "sansang_agent_last_report_timestamp_seconds", NOW - 50)
    assert evaluate(samples)["agent"].ok is False
    patient = DEFAULTS.model_copy(update={"agent_silent_intervals": 4})
    assert agent_silent_after_seconds(patient, 60) == 240
    assert evaluate(samples, patient)["agent"].ok is True


def test_a_ward_with_no_metrics_has_a_failed_agent_and_no_other_verdict():
    outcomes = evaluate([])
    assert outcomes["agent"].ok is False
    [failing] = outcomes["agent"].failing
    assert (failing.condition, failing.value, failing.threshold) == ("never_reported", None, None)
    others = {name: o.ok for name, o in outcomes.items() if name != "agent"}
    # Without device_info the ward declares no device: nothing to answer for.
    assert others == {"latency": None, "jitter": None, "loss": None, "bandwidth": None,
                      "platforms": None, "dns": None, "devices": True, "power": True,
                      "clock": True}
    assert not ward_ready(outcomes)


def test_a_check_without_data_keeps_the_ward_not_ready():
    samples = without(healthy(), "sansang_icmp_jitter_seconds")
    outcomes = evaluate(samples)
    assert outcomes["jitter"].ok is None
    assert not ward_ready(outcomes)


def test_a_platform_never_measured_fails_once_others_are():
    outcomes = evaluate(without(healthy(), "sansang_platform_up", platform="procedures"))
    assert outcomes["platforms"].ok is False
    [failing] = outcomes["platforms"].failing
    assert (failing.condition, dict(failing.labels)) == ("not_measured", {"platform": "procedures"})


def test_no_platform_measured_yet_is_no_data():
    samples = [s for s in healthy() if not s[0].startswith("sansang_platform_")]
    assert evaluate(samples)["platforms"].ok is None


def test_bandwidth_on_a_link_without_a_contract_is_not_judged():
    samples = without(without(healthy(), "sansang_link_contract_download_bytes_per_second"),
                      "sansang_link_contract_upload_bytes_per_second")
    samples = changed(samples, "sansang_bandwidth_download_bytes_per_second", 1.0, link="main")
    assert evaluate(samples)["bandwidth"].ok is None


def test_a_non_critical_device_down_does_not_fail_the_devices_check():
    samples = [
        *healthy(),
        sample("sansang_device_info", 1, device="printer-1", role="printer", critical="false"),
        sample("sansang_device_up", 0, device="printer-1", role="printer"),
    ]
    assert evaluate(samples)["devices"].ok is True


def test_devices_without_any_poll_yet_are_no_data_then_a_missing_one_fails():
    not_polled = [s for s in healthy() if s[0] not in (
        "sansang_device_up", "sansang_device_uplink_up", "sansang_printer_supply_level_ratio",
        "sansang_printer_error")]
    assert evaluate(not_polled)["devices"].ok is None
    one_polled = without(healthy(), "sansang_device_up", device="ups-1")
    outcome = evaluate(one_polled)["devices"]
    assert outcome.ok is False
    assert [(f.condition, dict(f.labels)) for f in outcome.failing] == [
        ("not_measured", {"device": "ups-1"})]


def test_a_ward_without_critical_devices_or_ups_passes_devices_and_power():
    samples = [s for s in healthy()
               if not s[0].startswith(("sansang_device_", "sansang_ups_"))]
    outcomes = evaluate(samples)
    assert (outcomes["devices"].ok, outcomes["power"].ok) == (True, True)
    assert ward_ready(outcomes)


def test_a_declared_ups_never_read_is_no_data():
    samples = [s for s in healthy() if not s[0].startswith("sansang_ups_")]
    assert evaluate(samples)["power"].ok is None


def test_a_nan_sample_counts_as_not_measured():
    samples = changed(healthy(), "sansang_icmp_jitter_seconds", math.nan, target="10.77.0.1")
    assert evaluate(samples)["jitter"].ok is None


def test_failing_items_read_like_the_alerts():
    latency = FailingItem("latency", "rtt_avg", {"target": "10.77.0.1"}, 0.11, 0.1)
    assert latency.describe("vi") == (
        "độ trễ trung bình đến 10.77.0.1 là 110 ms, vượt ngưỡng 100 ms")
    assert latency.describe("en") == (
        "average round-trip time to 10.77.0.1 is 110 ms, above the limit of 100 ms")
    download = FailingItem("bandwidth", "download", {"link": "main"}, 5.25e6, 10e6)
    assert download.describe("en") == (
        "download on the main link is 42 Mbit/s; it needs at least 80 Mbit/s")
    missing = FailingItem("platforms", "not_measured", {"platform": "procedures"}, None, None)
    assert missing.describe("vi") == "chưa có kết quả đo procedures"


@pytest.mark.parametrize(("function", "value", "text"), [
    (humanize_duration, 0.123, "123ms"),
    (humanize_duration, 2.0, "2s"),
    (humanize_duration, 180.0, "3m 0s"),
    (humanize_duration, 1209599.0, "13d 23h 59m 59s"),
    (humanize_percentage, 0.015, "1.5%"),
    (humanize, 42e6, "42M"),
    (humanize, 0.0, "0"),
])
def test_values_print_as_prometheus_templates_print_them(function, value, text):
    assert function(value) == text


def test_every_limit_names_a_threshold_field():
    for check in CHECKS:
        for condition in check.conditions:
            assert limit_value(condition, DEFAULTS) >= 0
            if isinstance(condition.threshold, str):
                assert condition.threshold in Thresholds.model_fields


def test_the_table_maps_every_check_of_the_design_to_its_alert():
    assert {c.name: c.alert for c in CHECKS} == {
        "agent": "WardAgentSilent", "latency": "WardHighLatency", "jitter": "WardHighJitter",
        "loss": "WardPacketLoss", "bandwidth": "WardBandwidthBelowContract",
        "platforms": "WardPlatformUnreachable", "dns": "WardDnsSlow",
        "devices": "WardDeviceDown", "power": "WardUpsOnBattery", "clock": "WardClockSkew",
    }
    assert CHECKS_BY_NAME["loss"].runbook == "docs/runbooks/WardPacketLoss.md"


def with_a_second_ups_never_read(samples: list[Sample]) -> list[Sample]:
    return [*samples,
            sample("sansang_device_info", 1, device="ups-2", role="ups", critical="false")]


def test_a_declared_ups_never_read_fails_power_once_another_ups_is_read():
    outcome = evaluate(with_a_second_ups_never_read(healthy()))["power"]
    assert outcome.ok is False
    assert [(f.condition, dict(f.labels)) for f in outcome.failing] == [
        ("not_measured", {"device": "ups-2"})]
    assert outcome.failing[0].describe("en") == "the state of the ups-2 has not been read"


SCENARIOS = {
    "healthy": healthy(),
    "slow link": changed(healthy(), "sansang_bandwidth_upload_bytes_per_second", 5e6,
                         link="main"),
    "router down": changed(healthy(), "sansang_device_up", 0, device="core-router"),
    "ups never read": with_a_second_ups_never_read(healthy()),
    "platform never measured": without(healthy(), "sansang_platform_up", platform="video"),
}


@pytest.mark.parametrize("samples", SCENARIOS.values(), ids=SCENARIOS.keys())
def test_the_verdicts_need_no_series_beyond_input_metrics(samples):
    # The collector hands evaluate_ward only the series in INPUT_METRICS.
    counters = [sample("sansang_interface_in_octets_total", 1e9, device="core-router",
                       interface="wan0")]
    assert evaluate([s for s in samples if s[0] in INPUT_METRICS]) == evaluate(
        samples + counters)


@pytest.mark.parametrize("check", CHECKS, ids=[c.name for c in CHECKS])
@pytest.mark.parametrize("samples", SCENARIOS.values(), ids=SCENARIOS.keys())
def test_each_check_reads_its_measurements_references_and_item_lists(check, samples):
    # References: the link contracts; item lists: the info series naming the critical
    # devices and the UPSes.
    inputs = _input_metrics([check])
    assert evaluate([s for s in samples if s[0] in inputs])[check.name] == evaluate(
        samples)[check.name]


def test_each_alert_has_the_severity_and_delay_of_its_urgency():
    # (severity, for) of each check, then of each condition or missing item that differs.
    table = {
        check.name: (check.severity, check.for_, {
            part.name: (part.severity, getattr(part, "for_", None), getattr(part, "window", None))
            for part in (*check.conditions, *([check.missing] if check.missing else []))
            if part.severity or getattr(part, "for_", None) or getattr(part, "window", None)
        })
        for check in CHECKS
    }
    assert table == {
        # Before go-live many wards have no agent yet: worth a list, not a page.
        # A silent agent's limit (three intervals) is its wait: no for: on top.
        "agent": ("critical", "1m", {"never_reported": ("warning", None, None),
                                     "silent": (None, "0s", None)}),
        # Slow is not down: ten-minute means.
        "latency": ("warning", "5m", {"rtt_avg": (None, None, "10m")}),
        "jitter": ("warning", "5m", {"jitter": (None, None, "10m")}),
        # A cut line and heavy loss page on short windows; one run's loss moves in steps
        # of 10 %, so ten minutes of runs resolve the 1 % limit.
        "loss": ("warning", "2m", {"outage": ("critical", "15s", None),
                                   "heavy": ("critical", "30s", "1m"),
                                   "loss": (None, None, "10m")}),
        "bandwidth": ("warning", "30m", {}),
        "platforms": ("critical", "5m", {"slow": ("warning", None, None),
                                        "tls_expiry": ("warning", None, None)}),
        "dns": ("warning", "10m", {"failed": ("critical", None, None)}),
        # A required printer's low supply is no outage: a warning, and time to fit a spare.
        "devices": ("critical", "5m", {"supply": ("warning", "30m", None),
                                       "out": ("warning", "30m", None)}),
        # Mains lost is urgent: the UPS's runtime is the time left to act.
        "power": ("warning", "10m", {"on_battery": ("critical", "2m", None)}),
        # A wrong clock breaks signatures, but slowly enough to fix in office hours.
        "clock": ("warning", "10m", {}),
    }
    assert (NOT_READY.alert, NOT_READY.metric, NOT_READY.for_) == (
        "WardNotReady", "sansang_ward_ready", "15m")
    assert NOT_READY.runbook == "docs/runbooks/WardNotReady.md"


def test_the_silent_agent_limit_is_intervals_times_the_report_interval():
    [silent] = CHECKS_BY_NAME["agent"].conditions
    assert limit_value(silent, DEFAULTS, report_interval_seconds=30) == 90
    assert limit_value(silent, DEFAULTS) == 45


@pytest.mark.parametrize(("value", "text"), [
    (42, "42"), (999.9, "999.9"), (1000, "1k"), (-1500, "-1.5k"), (1e6, "1M"), (1e9, "1G"),
    (1e12, "1T"), (1e15, "1P"), (1e18, "1E"), (1e21, "1Z"), (1e24, "1Y"), (1e27, "1000Y"),
    (0.5, "500m"), (-0.25, "-250m"), (1e-3, "1m"), (0.0015, "1.5m"), (1e-6, "1u"),
    (1e-9, "1n"), (1e-12, "1p"), (1e-15, "1f"), (1e-18, "1a"), (1e-21, "1z"), (1e-24, "1y"),
])
def test_humanize_prints_si_prefixes_as_prometheus_does(value, text):
    assert humanize(value) == text


@pytest.mark.parametrize(("value", "text"), [
    (0, "0s"), (1.0, "1s"), (59, "59s"), (60, "1m 0s"), (-180, "-3m 0s"),
    (3599, "59m 59s"), (3600, "1h 0m 0s"), (3661, "1h 1m 1s"), (86399, "23h 59m 59s"),
    (86400, "1d 0h 0m 0s"), (90061, "1d 1h 1m 1s"), (-0.123, "-123ms"), (1e-3, "1ms"),
    (0.0015, "1.5ms"), (1e-6, "1us"), (2.5e-7, "250ns"), (1e-12, "1ps"), (1e-15, "1fs"),
    (1e-18, "1as"), (1e-21, "1zs"), (1e-24, "1ys"),
])
def test_humanize_duration_prints_days_hours_minutes_and_fractions_as_prometheus_does(
    value, text
):
    assert humanize_duration(value) == text


@pytest.mark.parametrize("value", [math.inf, -math.inf, math.nan])
def test_a_value_that_is_not_finite_prints_without_an_error(value):
    assert humanize_duration(value) == humanize(value)


@pytest.mark.parametrize(("value", "unit", "text"), [
    (0.02, "seconds", "20 ms"), (240, "duration", "4 minutes"), (0.5, "ratio", "50%"),
    (12.5e6, "bits_per_second", "100 Mbit/s"), (1, "state", "1"),
])
def test_each_unit_prints_in_its_own_way(value, unit, text):
    assert format_value(value, unit) == text


def test_a_failing_item_reads_in_vietnamese_unless_asked_otherwise():
    latency = FailingItem("latency", "rtt_avg", {"target": "10.77.0.1"}, 0.11, 0.1)
    assert latency.describe() == latency.describe("vi") != latency.describe("en")


def test_a_failing_item_without_figures_says_so():
    unknown = FailingItem("latency", "rtt_avg", {"target": "10.77.0.1"}, None, None)
    assert unknown.describe("en") == (
        "average round-trip time to 10.77.0.1 is ?, above the limit of ?")


def test_each_alert_stays_firing_long_enough_that_a_value_at_its_limit_pages_once():
    # keep_firing_for of each check, then of each condition that sets its own.
    table = {
        check.name: (check.keep_firing_for, {
            condition.name: condition.keep_firing_for
            for condition in check.conditions if condition.keep_firing_for
        })
        for check in CHECKS
    }
    assert table == {
        # A dead agent pages at once and resolves soon after it reports again.
        "agent": ("5m", {"silent": "1m"}),
        # Ten-minute means hovering at their limit: a quarter of an hour of grace.
        "latency": ("5m", {"rtt_avg": "15m"}),
        "jitter": ("5m", {"jitter": "15m"}),
        "loss": ("5m", {"outage": "2m", "heavy": "5m", "loss": "15m"}),
        "bandwidth": ("5m", {}),
        "platforms": ("5m", {}),
        "dns": ("5m", {}),
        "devices": ("5m", {}),
        "power": ("5m", {}),
        "clock": ("5m", {}),
    }


def test_a_condition_holds_back_only_milder_conditions_of_its_own_check():
    inhibitions = {
        (check.name, condition.name): condition.inhibits
        for check in CHECKS for condition in check.conditions if condition.inhibits
    }
    assert inhibitions == {
        ("loss", "outage"): ("heavy", "loss"),
        ("loss", "heavy"): ("loss",),
        ("platforms", "down"): ("slow", "tls_expiry"),
        ("power", "on_battery"): ("charge", "runtime"),
    }
    for (check, name), held_back in inhibitions.items():
        own = {condition.name for condition in CHECKS_BY_NAME[check].conditions}
        assert set(held_back) <= own - {name}


@pytest.mark.parametrize("check", CHECKS, ids=[c.name for c in CHECKS])
def test_every_condition_is_measured_and_printed_in_a_way_the_verdicts_know(check):
    for condition in check.conditions:
        assert condition.measure in get_args(Measure)
        assert condition.unit in get_args(Unit)


@pytest.mark.parametrize(("check", "condition", "measured", "limit"), [
    ("jitter", "jitter", "31 ms", "30 ms"),
    ("loss", "heavy", "30%", "20%"),
    ("loss", "loss", "2%", "1%"),
    ("bandwidth", "upload", "40 Mbit/s", "80 Mbit/s"),
    ("platforms", "slow", "2.5 seconds", "2 seconds"),
    ("platforms", "tls_expiry", "13 days", "14 days"),
    ("dns", "slow", "250 ms", "200 ms"),
    ("power", "charge", "40%", "50%"),
    ("power", "runtime", "10 minutes", "15 minutes"),
    ("clock", "offset", "1.5 seconds", "1 second"),
])
def test_each_failing_measurement_prints_its_figures_in_its_own_unit(
    check, condition, measured, limit
):
    [(value, threshold)] = [(f[6], f[7]) for f in FAILURES if (f[0], f[4]) == (check, condition)]
    labels = dict.fromkeys(CHECKS_BY_NAME[check].item_labels, "x")
    text = FailingItem(check, condition, labels, value, threshold).describe("en")
    assert f" {measured}" in text and f" {limit}" in text
    assert text.index(measured) < text.index(limit)


def test_a_line_down_says_how_much_was_lost():
    outage = FailingItem("loss", "outage", {}, 1.0, 1.0)
    assert "100% of packets lost" in outage.describe("en")


def test_the_states_listed_are_every_state_a_check_can_be_in():
    assert STATES == get_args(State)


def test_each_threshold_is_exported_as_one_limit_series_named_by_check_and_condition():
    limits = {dict(labels)["check"] + "/" + dict(labels)["condition"]: value
              for name, labels, value in limit_samples(DEFAULTS, 30)
              if name == LIMIT_METRIC}
    # Constant limits (a platform is up, a UPS is not on battery) are not thresholds.
    assert set(limits) == {
        "agent/silent", "latency/rtt_avg", "jitter/jitter", "loss/heavy", "loss/loss",
        "bandwidth/download", "bandwidth/upload", "platforms/slow", "platforms/tls_expiry",
        "dns/slow", "devices/supply", "power/charge", "power/runtime", "clock/offset",
    }
    assert len(limit_samples(DEFAULTS)) == len(limits)
    assert (limits["agent/silent"], limits["latency/rtt_avg"], limits["platforms/tls_expiry"]) == (
        90, 0.1, 14 * DAY)


def a_check_of_listed_items() -> Check:
    """A check whose condition judges only listed items and whose expected items are
    named by another series: none of its lists is the metric of a condition."""
    return Check(
        name="listed", alert="WardListed", severity="warning", for_="1m", title_vi="t",
        title_en="t", hint_en="h", item_labels=("device",),
        conditions=(Condition(name="up", metric="sansang_x_up", passes_when="==",
                              threshold=1.0, unit="state", problem_vi="p", problem_en="p",
                              only=Only("sansang_x_info", ("device",), {"critical": "true"})),),
        missing=Missing(name="not_measured", metric="sansang_x_seen", problem_vi="p",
                        problem_en="p", label="device", listed_by="sansang_x_list"),
    )


def test_a_check_reads_its_item_lists_and_expected_items_even_when_no_condition_names_them():
    check = a_check_of_listed_items()
    assert _input_metrics([check]) == {"sansang_x_up", "sansang_x_info", "sansang_x_seen",
                                       "sansang_x_list"}
    # What makes the check stale when old: the measurements, not the lists.
    assert check.measured_metrics == {"sansang_x_up", "sansang_x_seen"}



def figures(samples: list[Sample]) -> dict[str, list[tuple[str, dict[str, str], str | None]]]:
    judged = readings(samples, DEFAULTS, NOW, agent_silent_after_seconds(DEFAULTS))
    return {name: [(i.condition, dict(i.labels), i.reading("en")) for i in items]
            for name, items in judged.items()}


def test_readings_show_every_judged_figure_beside_its_limit_passing_or_failing():
    shown = figures(healthy())
    assert shown["agent"] == [("silent", {}, "30 seconds ≤ 45 seconds")]
    assert shown["bandwidth"] == [("download", {"link": "main"}, "88 Mbit/s ≥ 80 Mbit/s"),
                                  ("upload", {"link": "main"}, "88 Mbit/s ≥ 80 Mbit/s")]
    assert shown["power"] == [("on_battery", {"device": "ups-1"}, None),
                              ("charge", {"device": "ups-1"}, "100% ≥ 50%"),
                              ("runtime", {"device": "ups-1"}, "1 hour ≥ 15 minutes")]
    assert set(shown) == set(CHECKS_BY_NAME)


def test_a_loss_judged_three_ways_shows_one_figure_against_the_strictest_limit():
    # The cut line judges every target at once and adds no figure; heavy loss (20 %) and
    # the normal limit (1 %) judge the same figure, shown once against 1 %.
    for loss, text in ((0.0, "0% ≤ 1%"), (0.3, "30% ≤ 1%"), (1.0, "100% ≤ 1%")):
        samples = changed(healthy(), "sansang_icmp_loss_ratio", loss, target="10.77.0.1")
        assert figures(samples)["loss"] == [("loss", {"target": "10.77.0.1"}, text)]


def test_for_a_lower_bound_the_higher_limit_is_the_stricter():
    [charge] = [c for c in CHECKS_BY_NAME["power"].conditions if c.name == "charge"]
    [rtt] = CHECKS_BY_NAME["latency"].conditions
    high = FailingItem("power", "charge", {}, 0.4, 0.6)
    low = FailingItem("power", "charge", {}, 0.4, 0.5)
    assert _stricter(charge, high, low) and not _stricter(charge, low, high)
    assert _stricter(rtt, low, high) and not _stricter(rtt, high, low)
    [_, heavy, _] = CHECKS_BY_NAME["loss"].conditions
    assert _stricter(heavy, low, high) and not _stricter(heavy, high, low)
    # An equal limit is not stricter: the figure first shown stays.
    assert not _stricter(rtt, low, low) and not _stricter(charge, high, high)
    assert not _stricter(rtt, FailingItem("latency", "rtt_avg", {}, None, None), high)
    assert not _stricter(rtt, high, FailingItem("latency", "rtt_avg", {}, None, None))


def test_a_reading_puts_the_value_beside_its_limit_with_the_sign_that_passes():
    assert FailingItem("latency", "rtt_avg", {}, 0.11, 0.1).reading() == "110 ms ≤ 100 ms"
    assert FailingItem("loss", "heavy", {}, 0.3, 0.2).reading("en") == "30% < 20%"
    assert FailingItem("bandwidth", "upload", {}, 5e6, 10e6).reading() == (
        "40 Mbit/s ≥ 80 Mbit/s")
    assert FailingItem("platforms", "slow", {}, 2.5, 2.0).reading("vi") == "2,5 giây ≤ 2 giây"


def test_a_yes_or_no_condition_or_an_item_never_measured_has_no_reading():
    assert FailingItem("platforms", "down", {}, 0.0, 1.0).reading() is None
    assert FailingItem("platforms", "not_measured", {}, None, None).reading() is None
    assert FailingItem("latency", "rtt_avg", {}, None, 0.1).reading() is None
    assert FailingItem("latency", "rtt_avg", {}, 0.11, None).reading() is None


def test_a_measurement_carries_the_figure_of_its_own_metric_and_item_only():
    slow = FailingItem("latency", "rtt_avg", {"target": "10.77.0.1"}, 0.2, 0.1)
    assert carries(slow, [sample("sansang_icmp_rtt_avg_seconds", 0.2, target="10.77.0.1")])
    assert not carries(slow, [sample("sansang_icmp_rtt_avg_seconds", 0.2, target="10.77.0.2")])
    assert not carries(slow, [sample("sansang_icmp_jitter_seconds", 0.2, target="10.77.0.1")])
    never = FailingItem("platforms", "not_measured", {"platform": "video"}, None, None)
    assert carries(never, [sample("sansang_platform_up", 0, platform="video")])
    assert not carries(never, [sample("sansang_platform_response_seconds", 1,
                                      platform="video")])


def test_the_glossary_lists_every_check_by_its_titles() -> None:
    """docs/glossary.md is where people look up the words: it must say what the pages say."""
    glossary = (Path(__file__).resolve().parent.parent / "docs" / "glossary.md").read_text(
        encoding="utf-8")
    rows = {cells[0].strip(): (cells[1].strip(), cells[2].strip())
            for line in glossary.splitlines() if line.startswith("| ")
            if len(cells := line.strip("|").split("|")) >= 3}
    for check in CHECKS:
        assert rows.get(check.name) == (check.title_vi, check.title_en), check.name
