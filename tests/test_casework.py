"""The NOC's hands on a failing ward, from the dispatch page: acknowledge, assign, note,
release; kept across a restart, shown on the board, the ward page and the API; closed by
the collector once the ward is ready; forged or malformed posts refused with nothing
changed. (With a real Alertmanager: tests/test_e2e_notifications.py.)"""

from __future__ import annotations

import random
import re
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from collector.app import SHARE, CollectorSettings, create_app
from collector.casework import CASEWORK
from collector.security import hash_password
from collector.worklog import MAX_EVENTS_PER_CASE, CaseError, Event, WorkLog
from demo.fleet import SimulatedWard, simulated_reports
from tests.test_collector_security import basic, settings_for

WARD = "10001"


def reports(ward: str, healthy: bool) -> list[dict[str, Any]]:
    """A full round for the fixture inventory's ward: its switch ``sw1`` up or down."""
    out = simulated_reports(SimulatedWard(ward, "", "healthy", 12.5e6), time.time(),
                            random.Random(1))
    for report in out:
        if report["target"] == "core-router":
            report["target"] = report["result"]["target"] = "sw1"
            if not healthy:
                report["result"] = {"up": False, "target": "sw1", "version": "2c",
                                    "error": "no SNMP answer within 2.0 s"}
    return out


async def push(client: TestClient, tokens: dict[str, str], ward: str, healthy: bool) -> None:
    response = await client.post("/api/v1/reports", json={"reports": reports(ward, healthy)},
                                 headers={"Authorization": f"Bearer {tokens[ward]}"})
    assert response.status == 200, await response.text()
    client.server.app[CASEWORK].state.refresh()


async def form_token(client: TestClient, headers: dict[str, str] | None = None) -> str:
    page = await (await client.get("/dispatch", headers=headers)).text()
    match = re.search(r'name="csrf" value="([0-9a-f]+)"', page)
    assert match, page
    return match.group(1)


async def act(client: TestClient, action: str, token: str, ward: str = WARD,
              headers: dict[str, str] | None = None, **fields: str) -> Any:
    data = {"csrf": token, "action": action, "by": "An", **fields}
    return await client.post(f"/dispatch/{ward}", data=data, headers=headers,
                             allow_redirects=False)


async def case_of(client: TestClient, ward: str = WARD,
                  headers: dict[str, str] | None = None) -> Any:
    wards = (await (await client.get("/api/v1/wards", headers=headers)).json())["wards"]
    return next(w for w in wards if w["code"] == ward)["case"]


@pytest.fixture
async def collector(tmp_path: Path) -> AsyncIterator[tuple[TestClient, dict[str, str],
                                                           CollectorSettings]]:
    settings, tokens = settings_for(tmp_path)
    async with TestClient(TestServer(create_app(settings))) as client:
        yield client, tokens, settings


async def test_acknowledge_assign_and_note_survive_a_restart_and_show_everywhere(
        tmp_path: Path) -> None:
    settings, tokens = settings_for(tmp_path)
    async with TestClient(TestServer(create_app(settings))) as client:
        await push(client, tokens, WARD, healthy=False)
        token = await form_token(client)
        acknowledged = await act(client, "acknowledge", token, text="Đã gọi nhà mạng",
                                 hours="24")
        assert acknowledged.status == 303
        assert acknowledged.headers["Location"] == f"/dispatch?lang=vi#case-{WARD}"
        assert (await act(client, "assign", token, text="Bình")).status == 303
        assert (await act(client, "note", token, text="Thay dây mạng tầng 2")).status == 303

    # A new collector on the same files: the case is still there, everywhere.
    async with TestClient(TestServer(create_app(settings))) as client:
        case = await case_of(client)
        assert case["acknowledged"] is True and case["acknowledged_by"] == "An"
        assert case["acknowledged_until"] == pytest.approx(time.time() + 86400, abs=60)
        assert case["assignee"] == "Bình"
        assert [(n["action"], n["text"]) for n in case["notes"]] == [
            ("acknowledge", "Đã gọi nhà mạng"), ("assign", "Bình"),
            ("note", "Thay dây mạng tầng 2")]
        board = await (await client.get("/")).text()
        tile = re.search(rf'id="tile-{WARD}".*?</a>', board, re.S)
        assert tile and 'data-acknowledged="yes"' in tile.group(0)
        assert "An đã nhận" in tile.group(0) and "giao Bình" in tile.group(0)
        dispatch = await (await client.get("/dispatch?lang=en")).text()
        assert "Acknowledged by An at " in dispatch and "Assigned to Bình at " in dispatch
        assert "Thay dây mạng tầng 2" in dispatch
        ward = await (await client.get(f"/ward/{WARD}")).text()
        assert "Thay dây mạng tầng 2" in ward and 'name="csrf"' in ward


async def test_a_ward_ready_again_has_its_case_closed_by_the_collector(
        collector: tuple[TestClient, dict[str, str], CollectorSettings]) -> None:
    client, tokens, _ = collector
    await push(client, tokens, WARD, healthy=False)
    token = await form_token(client)
    assert (await act(client, "acknowledge", token)).status == 303
    casework = client.server.app[CASEWORK]
    assert await casework.close_ready_wards() == []
    await push(client, tokens, WARD, healthy=True)
    assert casework.state.wards[WARD].ready
    assert await casework.close_ready_wards() == [WARD]
    assert await case_of(client) is None
    assert [e.action for e in casework.worklog.history(WARD)] == ["close", "acknowledge"]
    # A ready ward cannot be acknowledged: there is nothing to silence.
    refused = await act(client, "acknowledge", token)
    assert refused.status == 409 and "Đơn vị đang sẵn sàng" in await refused.text()


async def test_release_ends_the_case_and_a_second_release_is_refused(
        collector: tuple[TestClient, dict[str, str], CollectorSettings]) -> None:
    client, tokens, _ = collector
    await push(client, tokens, WARD, healthy=False)
    token = await form_token(client)
    await act(client, "acknowledge", token)
    assert (await act(client, "release", token)).status == 303
    case = await case_of(client)
    assert case["acknowledged"] is False and case["acknowledged_by"] is None
    assert [n["action"] for n in case["notes"]] == ["acknowledge", "release"]


@pytest.mark.parametrize(("fields", "headers", "status", "says"), [
    ({"csrf": "0" * 32}, {}, 403, "không đến từ trang của sansang"),
    ({}, {"Origin": "http://evil.example"}, 403, "không đến từ trang của sansang"),
    ({}, {"Sec-Fetch-Site": "cross-site"}, 403, "không đến từ trang của sansang"),
    ({"action": "delete"}, {}, 400, "Thao tác không hợp lệ"),
    ({"by": ""}, {}, 422, "Thiếu thông tin bắt buộc (Người thực hiện)"),
    ({"text": "x" * 501}, {}, 422, "dài quá 500 ký tự"),
    ({"text": "a\x1b[31mb"}, {}, 422, "ký tự điều khiển"),
    ({"hours": "nan"}, {}, 422, "từ 1 giờ đến 7 ngày"),
    ({"hours": "1000"}, {}, 422, "từ 1 giờ đến 7 ngày"),
    ({"hours": "soon"}, {}, 422, "từ 1 giờ đến 7 ngày"),
])
async def test_a_bad_post_gets_a_reason_in_vietnamese_and_changes_nothing(
        collector: tuple[TestClient, dict[str, str], CollectorSettings],
        fields: dict[str, str], headers: dict[str, str], status: int, says: str) -> None:
    client, tokens, _ = collector
    await push(client, tokens, WARD, healthy=False)
    token = await form_token(client)
    response = await act(client, fields.pop("action", "acknowledge"), fields.pop("csrf", token),
                         headers=headers, **fields)
    assert response.status == status
    assert says in await response.text()
    assert await case_of(client) is None


async def test_posts_that_are_not_forms_or_not_for_a_ward_are_refused(
        collector: tuple[TestClient, dict[str, str], CollectorSettings]) -> None:
    client, tokens, _ = collector
    await push(client, tokens, WARD, healthy=False)
    token = await form_token(client)
    as_json = await client.post(f"/dispatch/{WARD}", json={"csrf": token, "action": "note",
                                                           "by": "An", "text": "x"})
    unknown = await act(client, "note", token, ward="99999", text="x")
    huge = await client.post(f"/dispatch/{WARD}", data={"csrf": token, "action": "note",
                                                        "by": "An", "text": "x" * 20_000})
    english = await client.post(f"/dispatch/{WARD}?lang=en", data={"csrf": token,
                                                                   "action": "note", "by": "An"})
    assert (as_json.status, unknown.status, huge.status) == (415, 404, 413)
    assert "There is no ward 99999" not in await unknown.text()
    assert "Không có đơn vị mã 99999" in await unknown.text()
    assert english.status == 422 and "A required field is empty (Text)" in await english.text()
    assert await case_of(client) is None


async def test_with_the_noc_login_the_author_is_the_login_and_tokens_are_per_user(
        tmp_path: Path) -> None:
    users = tmp_path / "users.yaml"
    users.write_text(f"users:\n  an: '{hash_password('pass-an-1')}'\n"
                     f"  binh: '{hash_password('pass-binh-1')}'\n")
    settings, tokens = settings_for(tmp_path, basic_auth_path=users)
    an, binh = basic("an", "pass-an-1"), basic("binh", "pass-binh-1")
    async with TestClient(TestServer(create_app(settings))) as client:
        await push(client, tokens, WARD, healthy=False)
        token_an = await form_token(client, an)
        anonymous = await act(client, "acknowledge", token_an)
        borrowed = await act(client, "acknowledge", token_an, headers=binh)
        assert (anonymous.status, borrowed.status) == (401, 403)
        done = await act(client, "acknowledge", token_an, headers=an, by="Someone else")
        assert done.status == 303
        assert (await case_of(client, headers=an))["acknowledged_by"] == "an"
        # The ward's shared link shows who comes, not the NOC's notes or forms, and
        # cannot post.
        await act(client, "assign", token_an, headers=an, text="Bình")
        await act(client, "note", token_an, headers=an, text="ghi chú nội bộ")
        link = f"/ward/{WARD}?key={client.server.app[SHARE].key(WARD)}"
        shared = await (await client.get(link)).text()
        assert "Kỹ thuật viên Bình đã được giao xử lý" in shared
        assert "ghi chú nội bộ" not in shared and 'name="csrf"' not in shared
        posted = await client.post(f"/dispatch/{WARD}?key={client.server.app[SHARE].key(WARD)}",
                                   data={"csrf": token_an, "action": "note", "text": "x"})
        assert posted.status == 401


def test_a_case_is_bounded_and_closed_cases_are_pruned(tmp_path: Path) -> None:
    log = WorkLog(tmp_path / "worklog.sqlite3")
    for index in range(MAX_EVENTS_PER_CASE):
        log.record(Event(WARD, float(index), "An", "note", f"n{index}"))
    with pytest.raises(CaseError):
        log.record(Event(WARD, 999.0, "An", "note", "one too many"))
    log.record(Event(WARD, 1000.0, "sansang", "close", "ready again"))
    log.record(Event(WARD, 5000.0, "An", "note", "a new case"))
    assert log.prune(older_than=2000.0) == MAX_EVENTS_PER_CASE + 1
    assert [e.text for e in log.history(WARD)] == ["a new case"]
    log.close()
    again = WorkLog(tmp_path / "worklog.sqlite3")
    case = again.case(WARD)
    assert case is not None and [n.text for n in case.notes] == ["a new case"]
    again.close()
