"""The bandwidth probe measures the truth: shaped veth links in the lab, iperf3 as referee.

The collector's speed-test routes run in the core namespace, the probe in a ward
namespace, exactly as deployed. On each shaped link the probe and iperf3 (with
the same streams, warm-up omission and duration) run in the same test; download
is shaped on the core's side of the veth, upload on the ward's.
"""

from __future__ import annotations

import itertools
import json
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from tests.lab.netns import Host, Lab, python_command
from tests.lab.require import require_binary

pytestmark = pytest.mark.lab

PORT = 8080
IPERF_PORT = 5201
STREAMS = 4
WARMUP_SECONDS = 1
DURATION_SECONDS = 3
MEGABIT = 1e6
GIGABIT_BYTES_PER_SECOND = 1e9 / 8
ATTEMPTS = 2


@dataclass
class SpeedLab:
    lab: Lab
    core: Host
    shaped: Host
    unshaped: Host

    def url(self, ward: Host) -> str:
        return f"http://{self.core.address_toward(ward)}:{PORT}"


@pytest.fixture(scope="module")
def speedlab(module_lab: Lab) -> Iterator[SpeedLab]:
    """A core running the speed-test routes (one slot) and iperf3, and two wards."""
    iperf3 = require_binary("iperf3")["iperf3"]
    core, (shaped, unshaped) = module_lab.star(2)
    server = core.popen(*python_command("tests/lab/bw_server.py"), "--listen",
                        f"0.0.0.0:{PORT}", "--slots", "1", "--max-seconds", "30")
    module_lab.wait_for_line(server, "ready")
    # Its per-interval reports are not read: keep them out of a pipe that could fill up.
    core.popen(iperf3, "--server", "--port", str(IPERF_PORT),
               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    yield SpeedLab(module_lab, core, shaped, unshaped)


def run_probe(ward: Host, url: str, duration: float = DURATION_SECONDS,
              warmup: float = WARMUP_SECONDS) -> dict[str, Any]:
    completed = ward.python(
        "tests/lab/bw_probe.py", url, "--duration", str(duration), "--warmup", str(warmup),
        "--streams", str(STREAMS), "--deadline", "60", timeout=90, check=False,
    )
    result: dict[str, Any] = json.loads(completed.stdout)
    assert result["up"], result["error"]
    return result


def run_iperf3(ward: Host, server: str, download: bool) -> float:
    """iperf3's receiver-side rate in bytes per second, warm-up omitted like the probe's."""
    args = ["iperf3", "--client", server, "--port", str(IPERF_PORT), "--json",
            "--time", str(DURATION_SECONDS), "--omit", str(WARMUP_SECONDS),
            "--parallel", str(STREAMS)]
    if download:
        args.append("--reverse")
    # The server may still be closing the previous test for a moment: retry, bounded.
    for attempt in range(5):
        completed = ward.run(*args, timeout=60, check=False)
        report = json.loads(completed.stdout or "{}")
        if completed.returncode == 0 and "error" not in report:
            # The receiver's count: what arrived, not what was written into buffers.
            return float(report["end"]["sum_received"]["bits_per_second"]) / 8
        time.sleep(0.2 * (attempt + 1))
    raise AssertionError(f"iperf3 failed: {completed.stdout[-1000:]} {completed.stderr[-1000:]}")


@pytest.mark.parametrize("rate_mbit", [10, 50, 200])
def test_shaped_link_matches_iperf3_within_five_percent(
    speedlab: SpeedLab, rate_mbit: int
) -> None:
    lab, core, ward = speedlab.lab, speedlab.core, speedlab.shaped
    server = core.address_toward(ward)
    lab.shape_both(core, ward, rate_mbit * MEGABIT)
    try:
        # A shaper depends on timely softirqs: on a busy machine one short run can
        # wander by several percent for iperf3 and the probe alike. A probe that
        # is really off is off on every attempt; a noisy moment is not.
        for attempt in range(1, ATTEMPTS + 1):
            # Each direction of the probe runs right next to iperf3's run of it.
            iperf_down = run_iperf3(ward, server, download=True)
            result = run_probe(ward, speedlab.url(ward))
            iperf_up = run_iperf3(ward, server, download=False)
            down, up = result["download_bytes_per_second"], result["upload_bytes_per_second"]
            print(f"{rate_mbit} Mbit/s (attempt {attempt}): download probe "
                  f"{down * 8 / MEGABIT:.2f} / iperf3 {iperf_down * 8 / MEGABIT:.2f} = "
                  f"{down / iperf_down:.4f}; upload probe {up * 8 / MEGABIT:.2f} / iperf3 "
                  f"{iperf_up * 8 / MEGABIT:.2f} = {up / iperf_up:.4f}; "
                  f"rtt {result['rtt_seconds'] * 1000:.1f} ms")
            if abs(down / iperf_down - 1) <= 0.05 and abs(up / iperf_up - 1) <= 0.05:
                break
    finally:
        lab.unshape(core, ward)
        lab.unshape(ward, core)

    assert abs(down / iperf_down - 1) <= 0.05
    assert abs(up / iperf_up - 1) <= 0.05


def test_unshaped_link_carries_at_least_a_gigabit(speedlab: SpeedLab) -> None:
    result = run_probe(speedlab.unshaped, speedlab.url(speedlab.unshaped))

    down, up = result["download_bytes_per_second"], result["upload_bytes_per_second"]
    print(f"unshaped veth: download {down * 8 / 1e9:.2f} Gbit/s, upload {up * 8 / 1e9:.2f} Gbit/s")
    assert down >= GIGABIT_BYTES_PER_SECOND
    assert up >= GIGABIT_BYTES_PER_SECOND


def test_two_agents_asking_at_once_for_one_slot_never_overlap(speedlab: SpeedLab) -> None:
    lab, core = speedlab.lab, speedlab.core
    wards = [speedlab.shaped, speedlab.unshaped]
    local = f"http://127.0.0.1:{PORT}"
    # A third party holds the one slot until both agents are queued behind it, so
    # they really do ask at once however slowly their processes start.
    blocker = core.popen(*python_command("tests/lab/bw_probe.py"), local, "--hold",
                         stdin=subprocess.PIPE)
    lab.wait_for_line(blocker, "held")
    agents = [
        ward.popen(*python_command("tests/lab/bw_probe.py"), speedlab.url(ward),
                   "--duration", "1", "--warmup", "0.5", "--streams", str(STREAMS),
                   "--deadline", "60")
        for ward in wards
    ]
    try:
        queued = wait_until(lambda: speedlab_status(core)["waiting"] == 2)
    finally:
        assert blocker.stdin is not None
        blocker.stdin.write("go\n")
        blocker.stdin.close()
    results = []
    for agent in agents:
        try:
            stdout, _ = agent.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            agent.kill()
            raise
        results.append(json.loads(stdout))
    history = speedlab_status(core)["history"]

    assert queued, "the two agents never waited for the slot at the same time"
    assert all(r["up"] for r in results), [r["error"] for r in results]
    turns = sorted(history[-3:], key=lambda r: r["granted_at"])
    print("turns: " + "; ".join(f"{t['agent']} {t['granted_at']:.2f}-{t['ended_at']:.2f}"
                                for t in turns))
    assert [t["end"] for t in turns] == ["released"] * 3
    assert turns[0]["agent"] == "127.0.0.1"
    assert {t["agent"] for t in turns[1:]} == {w.address_toward(core) for w in wards}
    for earlier, later in itertools.pairwise(turns):
        assert earlier["ended_at"] <= later["granted_at"]
    assert all(r["slot_wait_seconds"] > 0 for r in results)


def speedlab_status(core: Host) -> dict[str, Any]:
    completed = core.python(
        "-c", "import sys, urllib.request; print(urllib.request.urlopen(sys.argv[1]).read()"
        ".decode())", f"http://127.0.0.1:{PORT}/speedtest/status",
    )
    status: dict[str, Any] = json.loads(completed.stdout)
    return status


def wait_until(condition: Callable[[], bool], attempts: int = 60) -> bool:
    """Poll ``condition`` a bounded number of times, half a second apart."""
    for _ in range(attempts):
        if condition():
            return True
        time.sleep(0.5)
    return False
