"""The ICMP probe measures the truth: delay and loss injected in the lab, fping as referee.

The probe runs inside a ward namespace exactly as an agent would, against an
echo responder (or the kernel) in the core namespace; fping runs from the same
ward, with the same count and pacing, in the same run.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from tests.lab.netns import Host, Lab
from tests.lab.require import require_binary

pytestmark = pytest.mark.lab

PROBE_SCRIPT = "tests/lab/net_icmp_probe.py"
DELAY_COUNT = 20
DELAY_INTERVAL_SECONDS = 0.05
LOSS_COUNT = 100
LOSS_INTERVAL_SECONDS = 0.01


@dataclass
class Wards:
    lab: Lab
    core: Host
    raw: Host
    unprivileged: Host


@pytest.fixture(scope="module")
def wards(module_lab: Lab) -> Iterator[Wards]:
    """A core and two wards: one where the probe must use raw sockets, one datagram."""
    core = module_lab.add_host("core")
    raw = module_lab.add_host("ward-raw")
    unprivileged = module_lab.add_host("ward-dgram", unprivileged_ping=True)
    module_lab.link(core, raw)
    module_lab.link(core, unprivileged)
    yield Wards(module_lab, core, raw, unprivileged)


def run_probe(
    ward: Host, targets: list[str], count: int, interval: float, timeout: float = 1.0,
) -> list[dict[str, Any]]:
    completed = ward.python(
        PROBE_SCRIPT, "--count", str(count), "--interval", str(interval),
        "--timeout", str(timeout), "--deadline", "60", *targets, timeout=90,
    )
    results: list[dict[str, Any]] = json.loads(completed.stdout)
    return results


def run_fping(ward: Host, target: str, count: int, interval: float) -> list[float]:
    """fping's RTTs in seconds (lost packets left out), same count and pacing as the probe."""
    fping = require_binary("fping")["fping"]
    completed = ward.run(
        fping, "-C", str(count), "-q", "-p", str(round(interval * 1000)), "-t", "1000", target,
        check=False, timeout=90,
    )
    # "-C" prints "HOST : 40.3 40.2 - 40.4" on stderr; "-" is a lost packet.
    _, _, values = completed.stderr.strip().splitlines()[-1].partition(":")
    return [float(v) / 1000.0 for v in values.split() if v != "-"]


@pytest.mark.parametrize("socket_kind", ["raw", "unprivileged"])
@pytest.mark.parametrize("delay_ms", [5, 40, 150])
def test_average_rtt_matches_fping_and_the_injected_delay(
    wards: Wards, delay_ms: int, socket_kind: str
) -> None:
    ward = wards.raw if socket_kind == "raw" else wards.unprivileged
    target = wards.core.address_toward(ward)
    responder = wards.lab.echo_responder(wards.core, delay_ms=delay_ms)
    try:
        (result,) = run_probe(ward, [target], DELAY_COUNT, DELAY_INTERVAL_SECONDS)
        fping_rtts = run_fping(ward, target, DELAY_COUNT, DELAY_INTERVAL_SECONDS)
    finally:
        wards.lab.stop_echo_responder(wards.core, responder)

    assert result["socket"] == socket_kind
    assert (result["sent"], result["received"]) == (DELAY_COUNT, DELAY_COUNT), result["error"]
    assert len(fping_rtts) == DELAY_COUNT
    probe_avg = float(result["rtt_avg_seconds"])
    fping_avg = sum(fping_rtts) / len(fping_rtts)
    injected = delay_ms / 1000.0
    print(f"delay {delay_ms} ms ({socket_kind}): probe {probe_avg * 1000:.3f} ms, "
          f"fping {fping_avg * 1000:.3f} ms")
    assert abs(probe_avg - fping_avg) <= max(0.0005, 0.03 * fping_avg)
    assert abs(probe_avg - injected) <= max(0.002, 0.05 * injected)


@pytest.mark.parametrize("loss_percent", [0, 5, 25])
def test_deterministic_loss_is_reported_within_one_point(
    wards: Wards, loss_percent: int
) -> None:
    ward = wards.raw
    target = wards.core.address_toward(ward)
    responder = wards.lab.echo_responder(wards.core, delay_ms=1, drop_percent=loss_percent)
    try:
        (result,) = run_probe(ward, [target], LOSS_COUNT, LOSS_INTERVAL_SECONDS, timeout=0.5)
    finally:
        seen = json.loads(wards.lab.stop_echo_responder(wards.core, responder))

    print(f"loss {loss_percent} %: probe {result['loss_ratio']}, responder {seen}")
    assert result["sent"] == LOSS_COUNT
    assert seen["dropped"] == LOSS_COUNT * loss_percent // 100
    assert abs(float(result["loss_ratio"]) - loss_percent / 100) <= 0.01


def test_random_loss_over_a_thousand_packets_matches_what_the_firewall_dropped(
    wards: Wards,
) -> None:
    ward = wards.raw
    # Four addresses on the core, probed at once: 1,000 packets in about 2.5 s,
    # answered by the core's own kernel, 20 % dropped at random on the way in.
    targets = [wards.core.address_toward(ward)]
    targets += [wards.lab.add_address(wards.core, ward) for _ in range(3)]
    drop = wards.lab.random_loss(wards.core, 20)
    try:
        results = run_probe(ward, targets, 250, LOSS_INTERVAL_SECONDS, timeout=0.3)
        seen, dropped = drop.counters()
    finally:
        drop.remove()

    sent = sum(int(r["sent"]) for r in results)
    received = sum(int(r["received"]) for r in results)
    reported = (sent - received) / sent
    actual = dropped / seen
    print(f"random loss 20 %: probe {reported:.4f} over {sent}, firewall {actual:.4f} "
          f"({dropped}/{seen})")
    assert sent >= 1000
    assert seen == sent
    assert abs(reported - actual) <= 0.04
    # And against what was injected: 1,000 draws at 20 % stay within 4 points but for
    # about one run in 700 (3 standard deviations).
    assert abs(reported - 0.20) <= 0.04
