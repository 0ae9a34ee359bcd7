"""The ingest API: who may push, what is accepted, and that a refusal changes nothing."""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from collector.app import STORE, CollectorSettings, create_app
from collector.tokens import issue_token
from inventory import load_inventory

FIXTURES = Path(__file__).parent / "fixtures" / "inventory"


def icmp_report(ward: str, rtt: float = 0.01, measured_at: float | None = None,
                **extra: Any) -> dict[str, Any]:
    return {
        "id": uuid.uuid4().hex, "ward": ward, "measured_at": measured_at or time.time(),
        "kind": "icmp", "target": "127.0.0.1",
        "result": {"up": True, "host": "127.0.0.1", "sent": 5, "received": 5,
                   "loss_ratio": 0.0, "rtt_avg_seconds": rtt, **extra},
    }


@pytest.fixture
async def client(tmp_path: Path) -> AsyncIterator[tuple[TestClient[Any, Any], dict[str, str]]]:
    inventory_path = tmp_path / "inventory.yaml"
    text = (FIXTURES / "base.yaml").read_text()
    inventory_path.write_text(text + """  "10002":
    name: Xã Hai
    kind: xã
    province: Tỉnh Thử
    cluster: Cụm B
""")
    tokens_path = tmp_path / "tokens.yaml"
    tokens = {w: issue_token(tokens_path, w).reveal() for w in ("10001", "10002")}
    app = create_app(CollectorSettings(
        inventory=load_inventory(inventory_path), tokens_path=tokens_path,
        database_path=tmp_path / "db.sqlite3", max_body_bytes=64 * 1024,
    ))
    async with TestClient(TestServer(app)) as test_client:
        yield test_client, tokens


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def snapshot(test_client: TestClient[Any, Any]) -> tuple[str, int]:
    metrics = await (await test_client.get("/metrics")).text()
    app: web.Application = test_client.server.app  # type: ignore[assignment]
    return metrics, app[STORE].count()


async def test_a_valid_push_is_acknowledged_and_shows_in_metrics(client: Any) -> None:
    test_client, tokens = client
    report = icmp_report("10001", rtt=0.0123)
    response = await test_client.post("/api/v1/reports", json={"reports": [report]},
                                      headers=bearer(tokens["10001"]))
    assert response.status == 200
    assert (await response.json())["acknowledged"] == [report["id"]]
    metrics = await (await test_client.get("/metrics")).text()
    assert 'sansang_icmp_rtt_avg_seconds{ward="10001",target="127.0.0.1"} 0.0123' in metrics


async def test_a_replayed_report_is_acknowledged_but_stored_once(client: Any) -> None:
    test_client, tokens = client
    report = icmp_report("10001")
    for expected_stored in (1, 0):
        response = await test_client.post("/api/v1/reports", json={"reports": [report]},
                                          headers=bearer(tokens["10001"]))
        body = await response.json()
        assert (response.status, body["stored"], body["acknowledged"]) == (
            200, expected_stored, [report["id"]])
    assert (await snapshot(test_client))[1] == 1


async def test_an_older_report_never_replaces_a_newer_measurement(client: Any) -> None:
    test_client, tokens = client
    now = time.time()
    newer = icmp_report("10001", rtt=0.02, measured_at=now)
    older = icmp_report("10001", rtt=0.09, measured_at=now - 600)
    for report in (newer, older):
        await test_client.post("/api/v1/reports", json={"reports": [report]},
                               headers=bearer(tokens["10001"]))
    metrics = await (await test_client.get("/metrics")).text()
    assert 'sansang_icmp_rtt_avg_seconds{ward="10001",target="127.0.0.1"} 0.02' in metrics
    assert f'sansang_agent_last_report_timestamp_seconds{{ward="10001"}} {now!r}' in metrics


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        ({}, "missing bearer token"),
        ({"Authorization": "Basic abc"}, "missing bearer token"),
        ({"Authorization": "Bearer not-a-real-token"}, "unknown token"),
    ],
)
async def test_a_push_without_a_valid_token_gets_401_and_changes_nothing(
    client: Any, headers: dict[str, str], reason: str
) -> None:
    test_client, _ = client
    before = await snapshot(test_client)
    response = await test_client.post("/api/v1/reports",
                                      json={"reports": [icmp_report("10001")]}, headers=headers)
    assert response.status == 401
    assert (await response.json())["error"] == reason
    assert await snapshot(test_client) == before


async def test_a_token_reports_for_its_own_ward_only(client: Any) -> None:
    test_client, tokens = client
    before = await snapshot(test_client)
    response = await test_client.post("/api/v1/reports",
                                      json={"reports": [icmp_report("10002")]},
                                      headers=bearer(tokens["10001"]))
    assert response.status == 403
    assert "ward 10001 only, not 10002" in (await response.json())["error"]
    assert await snapshot(test_client) == before


@pytest.mark.parametrize(
    ("body", "status", "reason_part"),
    [
        (b"{not json", 400, "not valid JSON"),
        (b'{"reports": []}', 422, "reports: List should have at least 1 item"),
        (b'{"reports": [{"id": "x"}]}', 422, "kind must be one of"),
        (b'{"report": []}', 422, "report: Extra inputs are not permitted"),
    ],
)
async def test_a_malformed_push_is_refused_with_a_reason_and_changes_nothing(
    client: Any, body: bytes, status: int, reason_part: str
) -> None:
    test_client, tokens = client
    before = await snapshot(test_client)
    response = await test_client.post("/api/v1/reports", data=body,
                                      headers={**bearer(tokens["10001"]),
                                               "Content-Type": "application/json"})
    assert response.status == status
    payload = await response.json()
    assert reason_part in payload["error"] + " ".join(payload.get("details", []))
    assert await snapshot(test_client) == before


@pytest.mark.parametrize(
    ("mutate", "reason_part"),
    [
        (lambda r: r["result"].update(rtt_avg_seconds=-0.1), "greater than or equal to 0"),
        (lambda r: r["result"].update(loss_ratio=1.5), "less than or equal to 1"),
        (lambda r: r.update(measured_at=time.time() + 3600), "in the future"),
        (lambda r: r["result"].update(surprise=1), "Extra inputs are not permitted"),
        (lambda r: r.update(ward="1"), "String should match pattern"),
    ],
)
async def test_one_bad_report_refuses_the_whole_batch(
    client: Any, mutate: Any, reason_part: str
) -> None:
    test_client, tokens = client
    before = await snapshot(test_client)
    good, bad = icmp_report("10001"), icmp_report("10001")
    mutate(bad)
    response = await test_client.post("/api/v1/reports", json={"reports": [good, bad]},
                                      headers=bearer(tokens["10001"]))
    assert response.status == 422
    assert reason_part in " ".join((await response.json())["details"])
    assert await snapshot(test_client) == before


async def test_nan_is_refused(client: Any) -> None:
    test_client, tokens = client
    before = await snapshot(test_client)
    body = (b'{"reports": [{"id": "abcdefgh12", "ward": "10001", "measured_at": %d, '
            b'"kind": "icmp", "target": "h", "result": {"up": true, "host": "h", "sent": 1, '
            b'"received": 1, "loss_ratio": NaN}}]}' % int(time.time()))
    response = await test_client.post("/api/v1/reports", data=body,
                                      headers={**bearer(tokens["10001"]),
                                               "Content-Type": "application/json"})
    assert response.status == 422
    assert await snapshot(test_client) == before


async def test_a_body_over_the_limit_gets_413(client: Any) -> None:
    test_client, tokens = client
    before = await snapshot(test_client)
    reports = [icmp_report("10001", rtts_seconds=[0.01] * 2000) for _ in range(10)]
    response = await test_client.post("/api/v1/reports", json={"reports": reports},
                                      headers=bearer(tokens["10001"]))
    assert response.status == 413
    assert await snapshot(test_client) == before


async def test_every_inventory_ward_has_its_info_series(client: Any) -> None:
    test_client, _ = client
    metrics = await (await test_client.get("/metrics")).text()
    assert metrics.count("sansang_ward_info{") == 2
    assert 'name="Xã Hai",kind="xã"' in metrics
