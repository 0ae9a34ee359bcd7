"""The technician's one-shot check on a lab ward: a fault fails it, the fix passes it,
and ``--push`` changes the collector's verdict at once.

The ward is a network namespace; the city core (platform stand-ins, a resolver,
the pinged host) is another. The collector runs on the host's loopback and the
ward reaches it through the loopback-only Unix-socket bridge.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import yaml

from inventory.model import PLATFORM_IDS
from tests.lab.bridge import bridged
from tests.lab.netns import Lab, python_command
from tests.lab.require import require_binary
from tests.lab.servers import ROOT, http_get, running_collector, wait_until

WARD = "26968"


def run_check(lab: Lab, ward: Any, config: Path) -> tuple[int, dict[str, Any]]:
    result = ward.run(*python_command(str(ROOT / "agent.py"), "check", "--config",
                                      str(config), "--json", "--push", "--lang", "en"),
                      timeout=120, check=False)
    assert result.stdout, result.stderr
    return result.returncode, json.loads(result.stdout)


def collector_verdict(url: str) -> dict[str, Any]:
    status, body = http_get(url + "/api/v1/wards")
    assert status == 200
    return next(w for w in json.loads(body)["wards"] if w["code"] == WARD)


def test_field_check_fails_on_a_fault_passes_after_the_fix_and_pushes(tmp_path: Path) -> None:
    from tests.lab.fixtures_net import require_lab

    require_lab()
    dnsmasq = require_binary("dnsmasq")["dnsmasq"]
    with running_collector(tmp_path / "collector", [WARD]) as collector, Lab() as lab:
        core = lab.add_host("core")
        ward = lab.add_host("ward", unprivileged_ping=True)
        lab.link(core, ward)
        core_address = core.address_toward(ward)

        # The city core: the four platforms, a resolver that knows them, the host to ping.
        site = tmp_path / "platforms"
        site.mkdir()
        for platform in PLATFORM_IDS:
            (site / platform).write_text(f"stand-in for {platform}\n")
        web = lab.start(core, [sys.executable, "-m", "http.server", "8081", "--bind",
                               core_address, "--directory", str(site)])
        lab.start(core, [dnsmasq, "--conf-file=/dev/null", "--no-resolv", "--no-hosts",
                         "--keep-in-foreground", "--port=53", f"--listen-address={core_address}",
                         "--bind-interfaces", "--pid-file=",
                         f"--address=/platforms.lab/{core_address}"])
        wait_until(lambda: ward.run("python3", "-c",
                                    f"import urllib.request as u; u.urlopen('http://"
                                    f"{core_address}:8081/video', timeout=1)",
                                    check=False).returncode == 0,
                   15, what="platform stand-ins")
        assert web.poll() is None

        with bridged(lab, ward, collector.url, tmp_path) as collector_in_ward:
            config = tmp_path / "agent.yaml"
            config.write_text(yaml.safe_dump({
                "ward": WARD, "collector_url": collector_in_ward,
                "token_file": str(collector.token_file(WARD)),
                "icmp": {"targets": [core_address], "count": 20,
                         "packet_interval_seconds": 0.02, "timeout_seconds": 0.3},
                "http": {"platforms": {p: f"http://{core_address}:8081/{p}"
                                       for p in PLATFORM_IDS}},
                "dns": {"names": ["platforms.lab"], "resolver": core_address},
                "bandwidth": {"link": "main", "duration_seconds": 1, "warmup_seconds": 0.5,
                              "streams": 1},
                "spool": {"path": str(tmp_path / "spool.sqlite3")},
                "readiness": {"links": [{"id": "main", "isp": "lab", "download_mbps": 10,
                                         "upload_mbps": 10}]},
            }))

            # A fault: the core drops half of the pings.
            drop = lab.random_loss(core, 50)
            code, report = run_check(lab, ward, config)
            assert code != 0
            assert report["ready"] is False
            assert report["checks"]["loss"]["ok"] is False
            assert any("loss" in p or "lost" in p for p in report["checks"]["loss"]["problems"])
            assert "pushed" in report["push"]
            assert "loss" in {f["check"] for f in collector_verdict(collector.url)["failing"]}

            # The fix: the check passes, and the collector's verdict follows at once.
            drop.remove()
            code, report = run_check(lab, ward, config)
            failing = {k: v for k, v in report["checks"].items() if v["ok"] is not True}
            assert code == 0, failing
            assert report["ready"] is True
            verdict = collector_verdict(collector.url)
            assert verdict["failing"] == [] and verdict["checks"]["loss"] is True
