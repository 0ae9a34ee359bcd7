"""``agent.py check`` and the collector agree line by line: the same reports, fed to the
check's evaluation and to the collector's fleet state, give every check the same state,
the same failing items and problem texts, and the ward the same verdict."""

from __future__ import annotations

import time
from typing import Any

import pytest

from collector.provision import readiness_section
from collector.state import FleetState
from collector.views import ward_summary
from inventory import criteria, load_inventory
from inventory.model import Inventory
from probes import PROBES
from probes.bandwidth import BandwidthResult
from probes.base import ProbeResult
from probes.dns import DnsResult
from probes.http import HttpResult
from probes.icmp import IcmpResult
from probes.ntp import NtpResult
from probes.snmp import Interface, PrinterStatus, PrinterSupply, SnmpResult, UpsStatus
from ward_agent.check import checklist_lines, evaluate, silent_after_seconds, verdict_line
from ward_agent.config import AgentConfig

EQUIPPED, BARE = "26968", "26969"
NOW = time.time()
INVENTORY_YAML = """
city: Lab City
golive: 2025-07-01
platforms:
  video: {url: "https://video.lab/"}
  documents: {url: "https://documents.lab/"}
  feedback1022: {url: "https://feedback.lab/"}
  procedures: {url: "https://procedures.lab/"}
credentials:
  lab: {version: "2c", community_env: LAB_COMMUNITY}
wards:
  "26968":
    name: Phường Tân Sơn Nhất
    kind: phường
    province: TP. Hồ Chí Minh
    cluster: Tân Bình
    ntp_servers: [ntp1.lab]
    links:
      - {id: main, isp: VNPT, download_mbps: 100, upload_mbps: 100}
    devices:
      - {id: core-router, role: router, address: 127.0.0.1, credentials: lab,
         critical: true, uplink_interface: wan0}
      - {id: ups-1, role: ups, address: 127.0.0.1, credentials: lab, critical: true}
      - {id: printer-1, role: printer, address: 127.0.0.1, credentials: lab,
         critical: true, supplies_required: true}
      - {id: printer-2, role: printer, address: 127.0.0.1, credentials: lab}
  "26969":
    name: Phường Bảy Hiền
    kind: phường
    province: TP. Hồ Chí Minh
    cluster: Tân Bình
"""


@pytest.fixture(scope="module")
def inventory(tmp_path_factory: pytest.TempPathFactory) -> Inventory:
    path = tmp_path_factory.mktemp("inventory") / "lab.yaml"
    path.write_text(INVENTORY_YAML, encoding="utf-8")
    return load_inventory(path)


def report(kind: str, target: str, result: ProbeResult, age: float = 5.0) -> dict[str, Any]:
    return {"kind": kind, "target": target, "measured_at": NOW - age,
            "result": result.to_json()}


def icmp(loss: float = 0.0, age: float = 5.0) -> dict[str, Any]:
    received = round(10 * (1 - loss))
    return report("icmp", "127.0.0.1", IcmpResult(
        up=received > 0, host="127.0.0.1", sent=10, received=received, loss_ratio=loss,
        rtt_avg_seconds=0.012, jitter_seconds=0.002,
        error=None if received else "no reply from 127.0.0.1 (10 sent)"), age)


def platform(name: str, status: int = 200, age: float = 5.0) -> dict[str, Any]:
    ok = status < 400
    return report("http", name, HttpResult(
        up=ok, url=f"https://{name}.lab/", status_code=status, response_seconds=0.08,
        tls_expiry_timestamp_seconds=NOW + 90 * 86400,
        error=None if ok else f"HTTP status {status}"), age)


def router(up: bool = True, uplink: bool = True) -> dict[str, Any]:
    if not up:
        return report("snmp", "core-router", SnmpResult(
            up=False, target="127.0.0.1", version="2c",
            error="no SNMP answer from 127.0.0.1 in 2.0 s (host down, port filtered, "
                  "or no SNMP agent)"))
    return report("snmp", "core-router", SnmpResult(
        up=True, target="127.0.0.1", version="2c",
        interfaces=[Interface(index=1, name="wan0", oper_up=uplink)]))


def ups(on_battery: bool = False) -> dict[str, Any]:
    return report("snmp", "ups-1", SnmpResult(
        up=True, target="127.0.0.1", version="2c",
        ups=UpsStatus(on_battery=on_battery, battery_charge_ratio=0.9, mib="ups-mib",
                      runtime_seconds=1800 if on_battery else 3600)))


def printer(device: str, toner: float, errors: tuple[str, ...] = ()) -> dict[str, Any]:
    return report("snmp", device, SnmpResult(
        up=True, target="127.0.0.1", version="2c", profile="printer",
        printer=PrinterStatus(status="idle", errors=list(errors), supplies=[
            PrinterSupply(description="Black Toner", kind="toner", level_ratio=toner),
            PrinterSupply(description="Drum Unit", kind="drum", level_ratio=0.9)])))


def healthy(*, loss: float = 0.0, down: str | None = None, router_up: bool = True,
            platforms_age: float = 5.0, bandwidth: bool = True,
            on_battery: bool = False, toner: float = 0.8) -> list[dict[str, Any]]:
    reports = [
        icmp(loss),
        *(platform(p, 503 if p == down else 200, platforms_age)
          for p in ("video", "documents", "feedback1022", "procedures")),
        report("dns", "video.lab", DnsResult(up=True, name="video.lab", resolver="127.0.0.1",
                                             lookup_seconds=0.01, addresses=["127.0.0.1"])),
        router(router_up), ups(on_battery), printer("printer-1", toner),
        report("ntp", "ntp1.lab", NtpResult(up=True, server="ntp1.lab", offset_seconds=0.02,
                                            stratum=2)),
    ]
    if bandwidth:
        reports.append(report("bandwidth", "main", BandwidthResult(
            up=True, url="http://127.0.0.1:9", streams=2, download_bytes_per_second=11.5e6,
            upload_bytes_per_second=11e6), age=3600))
    return reports


SCENARIOS: dict[str, tuple[str, list[dict[str, Any]]]] = {
    "healthy": (EQUIPPED, healthy()),
    "packet loss": (EQUIPPED, healthy(loss=0.3)),
    "line cut": (EQUIPPED, healthy(loss=1.0)),
    "platform down": (EQUIPPED, healthy(down="procedures")),
    "platforms stale": (EQUIPPED, healthy(platforms_age=600)),
    "device down": (EQUIPPED, healthy(router_up=False)),
    "UPS on battery": (EQUIPPED, healthy(on_battery=True)),
    "no speed test yet": (EQUIPPED, healthy(bandwidth=False)),
    # One printer's supplies count for readiness, the other's are a notice on the page.
    "printers low on toner": (EQUIPPED, [*healthy(toner=0.04),
                                         printer("printer-2", 0.03, ("jammed", "low_toner"))]),
    "no contract, nothing declared": (BARE, [icmp(), platform("video"), report(
        "bandwidth", "main", BandwidthResult(up=True, url="http://127.0.0.1:9", streams=1,
                                             download_bytes_per_second=1e6,
                                             upload_bytes_per_second=1e6))]),
    "never reported": (EQUIPPED, []),
}


def agent_config(inventory: Inventory, ward: str) -> AgentConfig:
    """agent.yaml as provisioning writes it for ``ward`` (the parts the check reads)."""
    return AgentConfig.model_validate({
        "ward": ward, "collector_url": "http://127.0.0.1:9", "token_file": "token",
        "icmp": {"targets": ["127.0.0.1"]}, "readiness": readiness_section(inventory, ward)})


def collector_side(inventory: Inventory, ward: str, reports: list[dict[str, Any]],
                   language: criteria.Language) -> tuple[dict[str, Any], dict[str, list[str]]]:
    state = FleetState(inventory)
    for r in reports:
        state.apply(ward, r["kind"], r["target"], r["measured_at"],
                    PROBES[r["kind"]].result_type.model_validate(r["result"]))
    state.refresh(NOW)
    # At the moment the reports are judged at (they were made just before NOW), not
    # whenever this test happens to run.
    summary = ward_summary(state, ward, language, NOW)
    problems = {f["check"]: f["problems"] for f in summary["failing"]}
    return {"outcomes": state.wards[ward].outcomes, "ready": state.wards[ward].ready,
            "notices": summary["notices"]}, problems


def items(outcome: criteria.CheckOutcome) -> list[tuple[Any, ...]]:
    return [(i.condition, dict(i.labels), i.value, i.threshold) for i in outcome.failing]


@pytest.mark.parametrize("scenario", list(SCENARIOS))
@pytest.mark.parametrize("language", ["vi", "en"])
def test_the_check_and_the_collector_agree_line_by_line(
    inventory: Inventory, scenario: str, language: criteria.Language
) -> None:
    ward, reports = SCENARIOS[scenario]
    collector, problems = collector_side(inventory, ward, reports, language)
    config = agent_config(inventory, ward)
    checklist = evaluate(config, reports, NOW, silent_after_seconds(config))
    lines = {line.check: line for line in checklist_lines(checklist, language)}
    assert list(lines) == [check.name for check in criteria.CHECKS]
    for name, theirs in collector["outcomes"].items():
        ours = checklist.outcomes[name]
        assert (ours.state, ours.ok, items(ours)) == (theirs.state, theirs.ok, items(theirs)), name
        assert lines[name].state == theirs.state
        if theirs.state == "fail":
            # The ward page's words, each problem with the probe's cause after it.
            details = lines[name].details
            assert len(details) == len(problems[name])
            for detail, problem in zip(details, problems[name], strict=True):
                assert detail.startswith(problem), (detail, problem)
    assert checklist.ready == collector["ready"]
    assert checklist.notices[language] == collector["notices"]
    assert verdict_line(checklist, language).startswith(
        f"{inventory.wards[ward].name} ({ward}): ")


def test_scenarios_cover_every_state(inventory: Inventory) -> None:
    seen = set()
    for ward, reports in SCENARIOS.values():
        config = agent_config(inventory, ward)
        checklist = evaluate(config, reports, NOW, silent_after_seconds(config))
        seen |= {o.state for o in checklist.outcomes.values()}
    assert seen == set(criteria.STATES)


def test_a_healthy_ward_is_ready_with_a_figure_beside_every_limit(inventory: Inventory) -> None:
    config = agent_config(inventory, EQUIPPED)
    checklist = evaluate(config, healthy(), NOW, silent_after_seconds(config))
    lines = checklist_lines(checklist, "vi")
    assert checklist.ready
    assert verdict_line(checklist, "vi") == "Phường Tân Sơn Nhất (26968): SẴN SÀNG"
    assert {line.mark for line in lines} == {"ĐẠT"}
    by_check = {line.check: line for line in lines}
    assert by_check["latency"].title == "Độ trễ"
    assert by_check["latency"].figures == "127.0.0.1: 12 ms ≤ 100 ms"
    assert by_check["bandwidth"].figures == ("chính (VNPT): tải xuống 92 Mbit/s ≥ 80 Mbit/s, "
                                             "tải lên 88 Mbit/s ≥ 80 Mbit/s")
    # A required printer's supplies by their names, beside the limit.
    assert by_check["devices"].figures == ("bộ định tuyến; bộ lưu điện (UPS); máy in 1: "
                                           "Black Toner 80% ≥ 10%, Drum Unit 90% ≥ 10%")
    assert all(line.figures for line in lines)


def test_a_failure_says_what_the_probe_saw(inventory: Inventory) -> None:
    config = agent_config(inventory, EQUIPPED)
    checklist = evaluate(config, healthy(down="procedures", router_up=False), NOW,
                         silent_after_seconds(config))
    by_check = {line.check: line for line in checklist_lines(checklist, "vi")}
    assert by_check["platforms"].mark == "CHƯA ĐẠT"
    assert by_check["platforms"].details == (
        "Không truy cập được procedures (nguyên nhân: HTTP status 503)",)
    assert by_check["devices"].details[0].startswith(
        "Bộ định tuyến không trả lời SNMP (nguyên nhân: no SNMP answer from 127.0.0.1")
    assert verdict_line(checklist, "vi") == (
        "Phường Tân Sơn Nhất (26968): CHƯA SẴN SÀNG — 2 mục chưa đạt")


def test_no_contract_is_not_configured_in_agent_yaml_not_no_data(inventory: Inventory) -> None:
    ward, reports = SCENARIOS["no contract, nothing declared"]
    config = agent_config(inventory, ward)
    checklist = evaluate(config, reports, NOW, silent_after_seconds(config))
    vi = {line.check: line for line in checklist_lines(checklist, "vi")}["bandwidth"]
    en = {line.check: line for line in checklist_lines(checklist, "en")}["bandwidth"]
    assert (vi.mark, vi.details) == (
        "CHƯA KHAI BÁO", ("không có hợp đồng đường truyền trong agent.yaml (readiness.links)",))
    assert (en.mark, en.details) == ("NOT CONFIGURED",
                                     ("no contract in agent.yaml (readiness.links)",))


def test_a_check_without_data_says_why_the_probe_failed(inventory: Inventory) -> None:
    refused = report("bandwidth", "main", BandwidthResult(
        up=False, url="http://127.0.0.1:9", streams=0,
        error="collector answered 'HTTP/1.1 409 Conflict' to the slot: busy"))
    config = agent_config(inventory, EQUIPPED)
    checklist = evaluate(config, [*healthy(bandwidth=False), refused], NOW,
                         silent_after_seconds(config))
    line = {line.check: line for line in checklist_lines(checklist, "vi")}["bandwidth"]
    assert (line.state, line.details) == ("no_data", (
        "lần đo lỗi: collector answered 'HTTP/1.1 409 Conflict' to the slot: busy",))


def test_a_ward_without_readiness_name_takes_it_from_the_shipped_list() -> None:
    config = AgentConfig.model_validate({
        "ward": "26968", "collector_url": "http://127.0.0.1:9", "token_file": "token"})
    checklist = evaluate(config, [], NOW, silent_after_seconds(config))
    assert verdict_line(checklist, "vi").startswith("Phường Tân Sơn Nhất (26968): CHƯA SẴN SÀNG")


def test_the_check_prints_the_printers_notices_after_the_checklist(inventory: Inventory) -> None:
    import io

    from ward_agent.check import print_checklist

    config = agent_config(inventory, EQUIPPED)
    _, reports = SCENARIOS["printers low on toner"]
    checklist = evaluate(config, reports, NOW, silent_after_seconds(config))
    assert checklist.outcomes["devices"].state == "fail"
    out = io.StringIO()
    print_checklist(checklist, "vi", out)
    text = out.getvalue()
    assert "Vật tư in “Black Toner” của máy in 1 còn 4%, cần tối thiểu 10%" in text
    notices = text.split("Cần lưu ý (không ảnh hưởng đến trạng thái sẵn sàng):\n")[1]
    assert notices.splitlines() == [
        "  - Máy in 2 báo: sắp hết mực, kẹt giấy",  # in the MIB's order of its bits
        "  - Vật tư in “Black Toner” của máy in 2 còn 3%, dưới mức 10%: nên chuẩn bị hộp "
        "thay thế",
    ]
