"""A ward's page is a checklist a clerk can act on: failing checks first, each with the
probe's cause, and the measured figure beside its limit on every judged line."""

from __future__ import annotations

import random
import re
import time
from pathlib import Path

from aiohttp.test_utils import TestClient, TestServer

from collector.app import create_app
from demo.fleet import SimulatedWard, simulated_reports
from tests.test_collector_security import settings_for

WARD = "10001"


async def test_failing_first_with_its_cause_and_figures_beside_limits(tmp_path: Path) -> None:
    settings, tokens = settings_for(tmp_path)
    reports = simulated_reports(SimulatedWard(WARD, "", "platform_down", 12.5e6), time.time(),
                                random.Random(3))
    for report in reports:
        if report["target"] == "core-router":  # the fixture inventory's switch
            report["target"] = report["result"]["target"] = "sw1"
    async with TestClient(TestServer(create_app(settings))) as client:
        pushed = await client.post("/api/v1/reports", json={"reports": reports},
                                   headers={"Authorization": f"Bearer {tokens[WARD]}"})
        assert pushed.status == 200, await pushed.text()
        page = await (await client.get(f"/ward/{WARD}?lang=vi")).text()
    states = re.findall(r'class="check (\w+)" id="check-(\w+)"', page)
    assert states[0] == ("fail", "platforms"), states
    assert "Không truy cập được procedures (nguyên nhân: HTTP status 503)" in page
    latency = re.search(r'id="check-latency".*?</li>', page, re.S)
    assert latency and re.search(r'class="figures">core\.city: [\d,]+ ms ≤ 100 ms<', latency[0])
