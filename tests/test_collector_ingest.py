"""The ingest API: who may push, what is accepted, and that a refusal changes nothing."""

from __future__ import annotations

import subprocess
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from prometheus_client.parser import text_string_to_metric_families

from collector.app import STATE, STORE, CollectorSettings, create_app
from collector.exposition import FAMILIES
from collector.tokens import issue_token
from inventory import load_inventory
from tests.lab.require import require_binary

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
    """The fleet's series and the stored reports: what a refusal must leave alone (the
    collector's own metrics count the refusal, and change on every request)."""
    app: web.Application = test_client.server.app  # type: ignore[assignment]
    return app[STATE].render(), app[STORE].count()


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


def samples_of(metrics: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(metrics) for s in family.samples}


async def test_pushes_and_their_reports_are_counted_by_outcome_and_refusal_reason(
        client: Any) -> None:
    test_client, tokens = client
    report = icmp_report("10001")
    for _ in range(2):
        await test_client.post("/api/v1/reports", json={"reports": [report]},
                               headers=bearer(tokens["10001"]))
    await test_client.post("/api/v1/reports", json={"reports": [icmp_report("10002")]},
                           headers=bearer(tokens["10001"]))
    await test_client.post("/api/v1/reports", json={"reports": [report]},
                           headers=bearer("not-a-real-token"))
    shown = samples_of(await (await test_client.get("/metrics")).text())
    reports, refusals = "sansang_collector_ingest_reports_total", \
        "sansang_collector_push_refusals_total"
    assert shown[(reports, (("outcome", "stored"),))] == 1
    assert shown[(reports, (("outcome", "duplicate"),))] == 1
    assert shown[(refusals, (("reason", "foreign_ward"),))] == 1
    assert shown[(refusals, (("reason", "unknown_token"),))] == 1
    assert shown[(refusals, (("reason", "series_budget"),))] == 0


async def test_requests_are_timed_by_route_pattern_never_by_raw_path(client: Any) -> None:
    test_client, tokens = client
    await test_client.post("/api/v1/reports", json={"reports": [icmp_report("10001")]},
                           headers=bearer(tokens["10001"]))
    for path in ("/ward/10001", "/ward/99999", "/no/such/path/1", "/no/such/path/2"):
        await test_client.get(path)
    await test_client.request("PROPFIND", "/metrics")
    metrics = await (await test_client.get("/metrics")).text()
    counts = {labels: value for (name, labels), value in samples_of(metrics).items()
              if name == "sansang_collector_http_request_duration_seconds_count"}
    assert counts[(("handler", "/api/v1/reports"), ("method", "POST"), ("status", "200"))] == 1
    assert counts[(("handler", "/ward/{code}"), ("method", "GET"), ("status", "200"))] == 1
    assert counts[(("handler", "/ward/{code}"), ("method", "GET"), ("status", "404"))] == 1
    assert counts[(("handler", "unmatched"), ("method", "GET"), ("status", "404"))] == 2
    assert counts[(("handler", "unmatched"), ("method", "other"), ("status", "405"))] == 1
    assert "10001" not in "".join(dict(labels)["handler"] for labels in counts)


async def test_metrics_end_with_the_collectors_own_process_and_runtime_families(
        client: Any) -> None:
    test_client, _ = client
    metrics = await (await test_client.get("/metrics")).text()
    declared = [line.split()[2] for line in metrics.splitlines() if line.startswith("# TYPE ")]
    assert len(declared) == len(set(declared)), "a family is declared twice"
    own = set(declared) - set(FAMILIES)
    assert {"process_cpu_seconds", "process_resident_memory_bytes", "python_info",
            "python_gc_collections", "sansang_collector_http_request_duration_seconds",
            "sansang_collector_ingest_reports", "sansang_collector_push_refusals"} <= {
        name.removesuffix("_total") for name in own}
    # The fleet's families come first, from the fast renderer; the library's follow.
    first_own = min(declared.index(name) for name in own)
    assert all(declared.index(name) < first_own for name in set(declared) & set(FAMILIES))
    assert not any(name.startswith("sansang_collector_") for name in FAMILIES)


async def test_promtool_accepts_the_whole_metrics_body(client: Any) -> None:
    promtool = require_binary("promtool")["promtool"]
    test_client, tokens = client
    await test_client.post("/api/v1/reports", json={"reports": [icmp_report("10001")]},
                           headers=bearer(tokens["10001"]))
    await test_client.post("/api/v1/reports", json={"reports": []},
                           headers=bearer(tokens["10001"]))
    await test_client.get("/ward/10001")
    metrics = await (await test_client.get("/metrics")).text()
    check = subprocess.run([promtool, "check", "metrics"], input=metrics, capture_output=True,
                           text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    assert check.stdout + check.stderr == ""
