"""One ward measured end to end: a real agent, the collector, a real Prometheus."""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.lab.require import require_binary
from tests.lab.servers import (
    running_agent,
    running_collector,
    running_platforms,
    running_prometheus,
)

WARD = "26968"


def test_agent_measurements_reach_prometheus(tmp_path: Path) -> None:
    with running_platforms() as platforms:
        with running_collector(tmp_path / "collector", [WARD]) as collector:
            agent_config = {
                "ward": WARD, "collector_url": collector.url,
                "token_file": str(collector.token_file(WARD)),
                "icmp": {"targets": ["127.0.0.1"], "interval_seconds": 2, "count": 3,
                         "packet_interval_seconds": 0.05},
                "http": {"platforms": {"video": platforms["video"]},
                         "interval_seconds": 2},
                "spool": {"path": str(tmp_path / "agent" / "spool.sqlite3")},
                "push": {"interval_seconds": 1},
                "jitter_seconds": 0.2,
            }
            host_port = collector.url.removeprefix("http://")
            with (
                running_agent(tmp_path / "agent", agent_config),
                running_prometheus(tmp_path / "prometheus", [host_port],
                                   scrape_interval="1s") as prometheus,
            ):
                rtt = prometheus.wait_for(
                    f'sansang_icmp_rtt_avg_seconds{{ward="{WARD}",target="127.0.0.1"}}', 60)
                up = prometheus.wait_for(
                    f'sansang_platform_up{{ward="{WARD}",platform="video"}}', 60)
                info = prometheus.wait_for("count(sansang_ward_info)", 30)

    value = float(rtt[0]["value"][1])
    assert 0 < value < 0.05, value
    assert up[0]["value"][1] == "1"
    assert info[0]["value"][1] == "168"


async def test_promtool_accepts_the_metrics_of_a_busy_collector(tmp_path: Path) -> None:
    promtool = require_binary("promtool")["promtool"]
    from demo.fleet import SimulatedWard, profile_for, run_fleet
    from inventory import DEFAULT_INVENTORY, load_inventory

    wards = list(load_inventory(DEFAULT_INVENTORY).wards)[:40]
    with running_collector(tmp_path, wards) as collector:
        fleet = [SimulatedWard(w, collector.tokens[w], profile_for(w)) for w in wards]
        await run_fleet(collector.url, fleet, interval_seconds=0, rounds=1)
        text = collector.metrics()
    assert text.count("sansang_platform_up{") >= 4 * 30
    # The collector's own metrics follow the fleet's, and no family is declared twice.
    assert 'sansang_collector_http_request_duration_seconds_count{handler="/api/v1/reports"' \
        in text and "process_cpu_seconds_total" in text
    declared = [line.split()[2] for line in text.splitlines() if line.startswith("# TYPE ")]
    assert len(declared) == len(set(declared))
    check = subprocess.run([promtool, "check", "metrics"], input=text, capture_output=True,
                           text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    assert check.stdout + check.stderr == ""
