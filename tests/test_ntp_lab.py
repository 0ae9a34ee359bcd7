"""The clock check end to end: a real NTP server (Debian's chrony) whose clock is shifted by a
known offset (libfaketime), the probe beside chrony's own one-shot reading of the same
server, and the collector's verdict on the ward page with the value and the limit.

The server runs in a namespace of its own; the probe and ``chronyd -Q`` ask it from the
ward's namespace. Namespaces share the real-time clock, so the only offset is the one
injected into the server.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from collector.app import CollectorSettings, create_app
from collector.tokens import issue_token
from inventory import load_inventory
from tests.lab.netns import Host, Lab, python_command
from tests.lab.ntp import LIBFAKETIME, chronyd_server_command
from tests.lab.require import require_binary, unavailable

pytestmark = pytest.mark.lab

ROOT = Path(__file__).resolve().parents[1]
# The probe and chrony read the same server within this much of each other (the issue's
# acceptance); both see the same network, so the difference is their arithmetic.
AGREEMENT_SECONDS = 0.005


@pytest.fixture
def binaries() -> dict[str, str]:
    found = require_binary("chronyd")
    if not LIBFAKETIME.exists():
        unavailable(f"{LIBFAKETIME} is missing (Debian package faketime)")
    return found


def start_server(lab: Lab, host: Host, address: str, folder: Path, offset: str,
                 chronyd: str, synchronised: bool = True) -> None:
    host.popen(*chronyd_server_command(chronyd, folder, address, offset=offset,
                                       synchronised=synchronised))


def probe_from(ward: Host, address: str) -> dict[str, Any]:
    done = ward.run(*python_command(str(ROOT / "agent.py"), "probe", "ntp", address,
                                    "--json"), timeout=30, check=False)
    assert done.stdout, done.stderr
    return dict(json.loads(done.stdout)[0])


def answer_from(ward: Host, address: str) -> dict[str, Any]:
    """The probe's result once chronyd answers (it starts within a second or two, longer
    on a busy machine): bounded at 20 s."""
    give_up = time.monotonic() + 20
    result = probe_from(ward, address)
    while not result["up"] and time.monotonic() < give_up:
        time.sleep(0.25)
        result = probe_from(ward, address)
    return result


def chrony_reading(ward: Host, address: str, folder: Path, chronyd: str) -> float:
    """``chronyd -Q``: chrony's own measurement of the server, the clock left alone."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "chrony.conf").write_text(f"cmdport 0\npidfile {folder}/chronyd.pid\n")
    done = ward.run(chronyd, "-Q", "-u", "root", "-f", str(folder / "chrony.conf"),
                    f"server {address} iburst maxsamples 4", timeout=30, check=False)
    found = re.search(r"System clock wrong by (-?[0-9.]+) seconds", done.stdout + done.stderr)
    assert found, done.stdout + done.stderr
    return float(found.group(1))


@pytest.fixture
def clock_lab(tmp_path: Path, binaries: dict[str, str]
              ) -> Iterator[tuple[Lab, Host, Host, str]]:
    with Lab() as lab:
        server, ward = lab.add_host("ntp"), lab.add_host("ward")
        address = lab.link(server, ward).address_of(server)
        yield lab, server, ward, address


@pytest.mark.parametrize("offset,seconds", [("+5s", 5.0), ("-3s", -3.0)])
def test_the_probe_reads_the_injected_offset_as_chrony_does(
        clock_lab: tuple[Lab, Host, Host, str], tmp_path: Path, binaries: dict[str, str],
        offset: str, seconds: float) -> None:
    lab, server, ward, address = clock_lab
    start_server(lab, server, address, tmp_path / "server", offset, binaries["chronyd"])
    ours = answer_from(ward, address)
    assert ours["up"], ours
    chrony = chrony_reading(ward, address, tmp_path / "reference", binaries["chronyd"])
    assert abs(ours["offset_seconds"] - chrony) <= AGREEMENT_SECONDS, (ours, chrony)
    assert abs(ours["offset_seconds"] - seconds) < 0.1
    assert ours["stratum"] == 3


def test_an_unsynchronised_server_is_a_failure_not_an_offset(
        clock_lab: tuple[Lab, Host, Host, str], tmp_path: Path, binaries: dict[str, str]) -> None:
    lab, server, ward, address = clock_lab
    start_server(lab, server, address, tmp_path / "server", "+0s", binaries["chronyd"],
                 synchronised=False)
    time.sleep(1.0)
    result = probe_from(ward, address)
    assert not result["up"] and result["offset_seconds"] is None
    assert "not synchronised" in result["error"] or "did not answer" in result["error"]


async def test_a_clock_five_seconds_behind_fails_readiness_on_the_ward_page(
        clock_lab: tuple[Lab, Host, Host, str], tmp_path: Path, binaries: dict[str, str]) -> None:
    lab, server, ward, address = clock_lab
    start_server(lab, server, address, tmp_path / "server", "+5s", binaries["chronyd"])
    result = answer_from(ward, address)
    assert result["up"], result

    inventory = tmp_path / "inventory.yaml"
    inventory.write_text((ROOT / "tests" / "fixtures" / "inventory" / "base.yaml").read_text()
                         .replace("platforms:", f"ntp_servers: [{address}]\nplatforms:", 1))
    tokens = tmp_path / "tokens.yaml"
    token = issue_token(tokens, "10001").reveal()
    settings = CollectorSettings(inventory=load_inventory(inventory), tokens_path=tokens,
                                 database_path=tmp_path / "db.sqlite3")
    async with TestClient(TestServer(create_app(settings))) as client:
        report = {"id": uuid.uuid4().hex, "ward": "10001", "measured_at": time.time(),
                  "kind": "ntp", "target": address, "result": result}
        pushed = await client.post("/api/v1/reports", json={"reports": [report]},
                                   headers={"Authorization": f"Bearer {token}"})
        assert pushed.status == 200, await pushed.text()
        wards = await (await client.get("/api/v1/wards?lang=en")).json()
        page = await (await client.get("/ward/10001?lang=vi")).text()
        metrics = await (await client.get("/metrics")).text()
    ward_entry = next(w for w in wards["wards"] if w["code"] == "10001")
    assert ward_entry["checks"]["clock"] is False
    problem = next(f for f in ward_entry["failing"] if f["check"] == "clock")["problems"][0]
    assert f"off time server {address}" in problem and "the limit is 1 second" in problem
    assert "Đồng hồ máy tính" in page and "vượt ngưỡng 1 giây" in page
    exported = re.search(
        rf'^sansang_clock_offset_seconds{{ward="10001",server="{re.escape(address)}"}} (\S+)$',
        metrics, re.MULTILINE)
    assert exported and abs(float(exported.group(1)) - 5.0) < 0.1, exported
