"""A printer's supplies and errors, from real recordings to the ward page.

A supply below the limit is a notice on the ward page ("worth attention"), never a
failure, unless the inventory marks the printer ``supplies_required``: then it fails
the devices check, with the same figures, and pages as any failing item does. What a
printer reports now (out of paper, jammed) is a notice too. Old readings show nothing.
"""

from __future__ import annotations

import asyncio
import re
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from pydantic import ValidationError

from collector.app import CollectorSettings, create_app
from collector.pages import STATE_KEY
from collector.tokens import issue_token
from collector.views import notices
from inventory.load import load_inventory
from inventory.model import Device
from probes import snmp
from probes.series import inventory_series
from probes.snmp import PrinterStatus, PrinterSupply, SnmpResult
from tests.lab.fixtures_snmp import CORPUS_DIR
from tests.test_collector_security import FIXTURES
from tests.test_snmp_probe import RecordedAgent, load_snmprec

PRINTERS = """    devices:
      - {id: p-xerox, role: printer, address: 127.0.0.1, credentials: lab-v2c,
         name: máy in tầng 1, supplies_required: %s, critical: %s}
      - {id: p-sharp, role: printer, address: 127.0.0.2, credentials: lab-v2c,
         name: máy in tầng 2}
"""


async def read_printer(name: str, target: str) -> SnmpResult:
    """A real printer's recording, read by the probe's own logic."""
    agent = RecordedAgent(load_snmprec(CORPUS_DIR / f"{name}.snmprec"))
    collected = await snmp.collect(agent, "printer", snmp.Collected())
    return SnmpResult(up=True, target=target, version="2c", **collected.fields())


def recorded_printer(name: str, target: str) -> SnmpResult:
    return asyncio.run(read_printer(name, target))


def series_of(result: SnmpResult, metric: str) -> dict[tuple[tuple[str, str], ...], float]:
    inventory = load_inventory(FIXTURES / "base.yaml")
    return {labels: value for name, labels, value in
            snmp.series(result.target, result, inventory.wards["10001"]) if name == metric}


def test_supply_levels_and_errors_become_series() -> None:
    sharp = recorded_printer("sharp", "p-sharp")
    levels = series_of(sharp, "sansang_printer_supply_level_ratio")
    # 14 supplies, of which the waste toner box and the fuser report no level: no series.
    assert len(sharp.printer.supplies if sharp.printer else []) == 14
    assert len(levels) == 12
    assert levels[(("device", "p-sharp"), ("supply", "Magenta Toner"),
                   ("kind", "toner"))] == pytest.approx(0.19)
    assert levels[(("device", "p-sharp"), ("supply", "Black Photoconductive Drum"),
                   ("kind", "drum"))] == pytest.approx(0.95)
    assert series_of(sharp, "sansang_printer_error") == {
        (("device", "p-sharp"), ("error", "low_toner")): 1.0}
    # The Xerox says no supply type: its waste box is "unknown", at 5 % of its space left.
    xerox = series_of(recorded_printer("xerox", "p-xerox"), "sansang_printer_supply_level_ratio")
    waste = [v for labels, v in xerox.items() if dict(labels)["supply"].startswith("Waste")]
    assert waste == [pytest.approx(0.05)]
    assert {dict(labels)["kind"] for labels in xerox} == {"unknown", "waste"}


def test_only_the_mib_s_names_become_labels_and_same_named_supplies_stay_apart() -> None:
    result = SnmpResult(up=True, target="p", version="2c", printer=PrinterStatus(
        errors=["jammed", 'x"} 1\nfake_metric 2', "jammed"],
        supplies=[PrinterSupply(description="Toner", kind="toner", level_ratio=0.5),
                  PrinterSupply(description="Toner", kind="no such kind", level_ratio=0.2),
                  PrinterSupply(description="T" * 500, kind="toner", level_ratio=0.9)]))
    assert list(series_of(result, "sansang_printer_error")) == [
        (("device", "p"), ("error", "jammed"))]
    supplies = [dict(labels) for labels in series_of(result, "sansang_printer_supply_level_ratio")]
    assert [s["supply"] for s in supplies] == ["Toner (#1)", "Toner (#2)", "T" * 80]
    assert [s["kind"] for s in supplies] == ["toner", "unknown", "toner"]


def test_supplies_required_is_for_critical_printers_read_as_printers_only() -> None:
    with pytest.raises(ValidationError, match="supplies_required only on a printer"):
        Device(id="sw1", role="switch", address="127.0.0.1", credentials="c",
               supplies_required=True, critical=True)
    # Otherwise a required printer that is down, or never read, would pass for want of
    # a figure.
    with pytest.raises(ValidationError, match="critical: true on a printer whose"):
        Device(id="p", role="printer", address="127.0.0.1", credentials="c",
               supplies_required=True)
    with pytest.raises(ValidationError, match="another profile reads no supplies"):
        Device(id="p", role="printer", address="127.0.0.1", credentials="c",
               supplies_required=True, critical=True, snmp_profile="host")
    printer = Device(id="p", role="printer", address="127.0.0.1", credentials="c",
                     supplies_required=True, critical=True)
    assert printer.supplies_required and printer.profile == "printer"


def test_the_inventory_says_which_printers_supplies_count() -> None:
    inventory = load_inventory(FIXTURES / "base.yaml")
    ward = inventory.wards["10001"].model_copy(update={"devices": (
        Device(id="p1", role="printer", address="a", credentials="c", supplies_required=True,
               critical=True),
        Device(id="p2", role="printer", address="b", credentials="c"),
        Device(id="sw1", role="switch", address="c", credentials="c"))})
    info = {dict(labels)["device"]: dict(labels) for name, labels, _ in inventory_series(ward)
            if name == "sansang_device_info"}
    assert info["p1"]["supplies_required"] == "true"
    assert info["p2"]["supplies_required"] == "false"
    assert "supplies_required" not in info["sw1"]


def inventory_with_printers(tmp_path: Path, required: bool) -> Path:
    base = (FIXTURES / "base.yaml").read_text()
    # Ward 10001 keeps nothing but its two printers (no critical device).
    said = "true" if required else "false"
    base = base.split("    devices:\n")[0] + PRINTERS % (said, said)
    path = tmp_path / "inventory.yaml"
    path.write_text(base)
    return path


def report(result: SnmpResult, measured_at: float) -> dict[str, Any]:
    return {"id": uuid.uuid4().hex, "ward": "10001", "measured_at": measured_at,
            "kind": "snmp", "target": result.target,
            "result": result.model_dump(mode="json", exclude_none=True)}


async def ward_page(tmp_path: Path, required: bool, measured_at: float, first: str = "xerox",
                    ) -> tuple[str, str, dict[str, Any], list[str]]:
    """Ward 10001's pages with its first printer (``first``'s recording) and a Sharp."""
    tokens_path = tmp_path / "tokens.yaml"
    token = issue_token(tokens_path, "10001").reveal()
    settings = CollectorSettings(
        inventory=load_inventory(inventory_with_printers(tmp_path, required)),
        tokens_path=tokens_path, database_path=tmp_path / "db.sqlite3")
    reports = [report(await read_printer(first, "p-xerox"), measured_at),
               report(await read_printer("sharp", "p-sharp"), measured_at)]
    app = create_app(settings)
    async with TestClient(TestServer(app)) as client:
        pushed = await client.post("/api/v1/reports", json={"reports": reports},
                                   headers={"Authorization": f"Bearer {token}"})
        assert pushed.status == 200, await pushed.text()
        page_vi = await (await client.get("/ward/10001?lang=vi")).text()
        page_en = await (await client.get("/ward/10001?lang=en")).text()
        api = await (await client.get("/api/v1/wards?lang=vi")).json()
        later = notices(app[STATE_KEY], "10001", "vi", now=time.time() + 3600)
    (ward,) = [w for w in api["wards"] if w["code"] == "10001"]
    return page_vi, page_en, ward, later


def devices_line(page: str) -> str:
    found = re.search(r'<li class="check (\w+)" id="check-devices".*?</li>\n  ', page, re.S)
    assert found, page
    return found[0]


XEROX_WASTE = "Waste Toner Container, PN 008R13061;SNunknown"


async def test_a_low_supply_is_a_notice_not_a_failure(tmp_path: Path) -> None:
    page_vi, page_en, ward, later = await ward_page(tmp_path, False, time.time())
    assert 'data-state="fail"' not in devices_line(page_vi)
    assert ward["checks"].get("devices") is not False
    assert ward["notices"] == [
        "Máy in tầng 2 báo: sắp hết mực",
        # The Xerox names no supply type; its waste box is told by its name, and its 5 %
        # is the space left in it.
        f"Hộp chứa mực thải “{XEROX_WASTE}” của máy in tầng 1 sắp đầy: chỉ còn trống 5%, "
        "dưới mức 10%; nên thay hoặc đổ hộp",
    ]
    notices_html = re.search(r'<section class="notices" id="notices">.*?</section>', page_vi,
                             re.S)
    assert notices_html and "Cần lưu ý (không ảnh hưởng đến trạng thái sẵn sàng)" in \
        notices_html[0]
    for notice in ward["notices"]:
        assert notice in notices_html[0]
    assert "Worth attention (does not change readiness)" in page_en
    # The inventory names the printers in Vietnamese only; English keeps those names.
    assert "The máy in tầng 2 reports: toner low" in page_en
    # An hour on, the same readings are old: nothing is shown as today's.
    assert later == []


async def test_a_required_printer_s_low_supply_fails_the_ward(tmp_path: Path) -> None:
    # The Epson's four inks are at 1 %.
    page_vi, _, ward, _ = await ward_page(tmp_path, True, time.time(), first="epson")
    line = devices_line(page_vi)
    assert 'data-state="fail"' in line
    assert ("Vật tư in “Black Ink Supply Unit T9441/T9451/T9461” của máy in tầng 1 còn 1%, "
            "cần tối thiểu 10%" in line)
    assert line.count("cần tối thiểu 10%") == 4
    assert ward["ready"] is False and ward["checks"]["devices"] is False
    # Said once, as a failure: not again as a notice. The other printer's error still is.
    assert ward["notices"] == ["Máy in tầng 2 báo: sắp hết mực"]


async def test_a_required_printer_s_waste_box_is_a_notice_not_a_failure(tmp_path: Path) -> None:
    # Vendors read a waste box's level either way (CUPS turns it round): the Xerox's 5 %
    # is worth a look, not a verdict, even where its toner is required.
    page_vi, _, ward, _ = await ward_page(tmp_path, True, time.time())
    assert 'data-state="pass"' in devices_line(page_vi)
    assert ward["notices"][1].startswith(f"Hộp chứa mực thải “{XEROX_WASTE}”")


@pytest.mark.parametrize(("kind", "description", "label"), [
    ("waste_toner", "Resttonerbehälter", "waste_toner"), ("waste_ink", "Maintenance Box",
                                                          "waste_ink"),
    (None, "Waste Toner Container, PN 008R13061", "waste"), ("other", "waste box", "waste"),
    ("toner", "Waste Toner", "toner"), (None, "Black Toner", "unknown"),
    ("a report's words", "Drum", "unknown")])
def test_a_supply_s_kind_is_the_mib_s_or_a_waste_box_by_its_name(
        kind: str | None, description: str, label: str) -> None:
    supply = PrinterSupply(description=description, kind=kind, level_ratio=0.5)
    assert snmp.supply_kind(supply) == label
