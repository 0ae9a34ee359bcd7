"""What a hostile ward agent, a stranger or a broken collector may send, and what comes back.

One test per finding of the attack on the collector and the agent (issue 11): each
reproduces the attack and asserts the fixed behaviour — the status, nothing stored,
nothing crashed, memory bounded. Time bounds are measured in ``bench/``, not here.
"""

from __future__ import annotations

import asyncio
import base64
import csv
import io
import json
import sqlite3
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import bcrypt
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from openpyxl import load_workbook

from collector import security
from collector.app import STORE, CollectorSettings, create_app
from collector.export import rows, write_csv, write_xlsx
from collector.pages import dispatch_csv_text
from collector.security import BasicAuth, LoginThrottle, hash_password
from collector.tokens import issue_token
from collector.views import dispatch_rows
from inventory import load_inventory
from probes.bandwidth import BandwidthConfig, probe
from probes.base import deadline_in
from probes.json_reply import MAX_REPLY_BYTES
from probes.secret import Secret
from ward_agent.config import AgentConfig
from ward_agent.pusher import Pusher
from ward_agent.spool import Spool

FIXTURES = Path(__file__).parent / "fixtures" / "inventory"
ROOT = Path(__file__).resolve().parents[1]
TWO_WARDS = (FIXTURES / "base.yaml").read_text() + """  "10002":
    name: Xã Hai
    kind: xã
    province: Tỉnh Thử
    cluster: Cụm B
"""


def icmp(ward: str = "10001", target: str = "127.0.0.1", **result: Any) -> dict[str, Any]:
    return {"id": uuid.uuid4().hex, "ward": ward, "measured_at": time.time(), "kind": "icmp",
            "target": target,
            "result": {"up": True, "host": target, "sent": 5, "received": 5,
                       "loss_ratio": 0.0, "rtt_avg_seconds": 0.01, **result}}


def snmp(ward: str = "10001", interfaces: list[dict[str, Any]] | None = None,
         **result: Any) -> dict[str, Any]:
    return {"id": uuid.uuid4().hex, "ward": ward, "measured_at": time.time(), "kind": "snmp",
            "target": "sw1",
            "result": {"up": True, "target": "127.0.0.1", "version": "2c",
                       "interfaces": interfaces or [], **result}}


def interface(index: int, name: str, up: bool = True, **counters: Any) -> dict[str, Any]:
    return {"index": index, "name": name, "oper_up": up, **counters}


def settings(tmp_path: Path, inventory_text: str = TWO_WARDS, **extra: Any
             ) -> tuple[CollectorSettings, dict[str, str]]:
    inventory = tmp_path / "inventory.yaml"
    inventory.write_text(inventory_text)
    tokens_path = tmp_path / "tokens.yaml"
    tokens = {w: issue_token(tokens_path, w).reveal() for w in ("10001", "10002")}
    return CollectorSettings(inventory=load_inventory(inventory), tokens_path=tokens_path,
                             database_path=tmp_path / "db.sqlite3", **extra), tokens


Client = TestClient[Any, Any]


@pytest.fixture
async def collector(tmp_path: Path) -> AsyncIterator[tuple[Client, dict[str, str]]]:
    app_settings, tokens = settings(tmp_path, rate_per_second=1000.0, rate_burst=1000)
    async with TestClient(TestServer(create_app(app_settings))) as client:
        yield client, tokens


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def stored(client: Client) -> int:
    return client.server.app[STORE].count()  # type: ignore[union-attr]


async def push(client: Client, token: str, *reports: dict[str, Any]) -> tuple[int, Any]:
    response = await client.post("/api/v1/reports", json={"reports": list(reports)},
                                 headers=bearer(token))
    return response.status, await response.json()


# --- 1. a number no store or renderer can hold

async def test_a_counter_beyond_64_bits_is_refused_and_nothing_is_stored(collector: Any) -> None:
    client, tokens = collector
    huge = snmp(interfaces=[interface(1, "wan0", in_bytes_total=10**400)])
    status, body = await push(client, tokens["10001"], huge, icmp())
    assert status == 422
    assert any("integer outside" in reason for reason in body["details"]), body
    assert stored(client) == 0
    assert (await client.get("/metrics")).status == 200


async def test_a_start_survives_any_row_its_store_holds(tmp_path: Path) -> None:
    app_settings, tokens = settings(tmp_path)
    good = icmp()
    async with TestClient(TestServer(create_app(app_settings))) as client:
        assert (await push(client, tokens["10001"], good))[0] == 200
    # Rows no version of ingest would take now, written past it into the store.
    db = sqlite3.connect(tmp_path / "db.sqlite3")
    bad_rows = [
        ("10001", "snmp", "sw1", json.dumps({"up": True, "target": "x", "version": "2c",
                                             "interfaces": [interface(1, "a", in_bytes_total=1)]})
         .replace('"in_bytes_total": 1', '"in_bytes_total": ' + "9" * 400)),
        ("10001", "gone-kind", "x", "{}"),
        ("10001", "icmp", "broken", "{not json"),
        ("10001", "icmp", "deep", "[" * 100_000 + "]" * 100_000),
        ("10001", "http", "strict", json.dumps({"up": "maybe", "url": "x"})),
        ("99999", "icmp", "unknown-ward", json.dumps(good["result"])),
    ]
    for ward, kind, target, result in bad_rows:
        db.execute("INSERT INTO latest VALUES (?, ?, ?, ?, ?, ?)",
                   (ward, kind, target, uuid.uuid4().hex, time.time(), result))
    db.commit()
    db.close()
    async with TestClient(TestServer(create_app(app_settings))) as client:
        metrics = await (await client.get("/metrics")).text()
    assert 'sansang_icmp_rtt_avg_seconds{ward="10001",target="127.0.0.1"} 0.01' in metrics
    assert 'target="broken"' not in metrics and "gone-kind" not in metrics


# --- 2. a ward inventing series

async def test_a_ward_inventing_targets_is_stopped_at_its_series_budget(collector: Any) -> None:
    client, tokens = collector
    before = len(await (await client.get("/metrics")).read())
    refusals = []
    for round_ in range(10):
        reports = [icmp(target=f"invented-{round_}-{n}") for n in range(100)]
        refusals.append(await push(client, tokens["10001"], *reports))
    accepted = [body for status, body in refusals if status == 200]
    refused = [body for status, body in refusals if status == 422]
    # The default budget is 200 measurements: two pushes of 100 fit, the rest do not.
    assert len(accepted) == 2 and len(refused) == 8
    assert all(any("max_measurements (200)" in d for d in body["details"]) for body in refused)
    metrics = await (await client.get("/metrics")).text()
    assert 'sansang_ward_pushes_refused_total{ward="10001",reason="series_budget"} 8' in metrics
    assert metrics.count('sansang_icmp_rtt_avg_seconds{ward="10001"') == 200
    assert len(metrics.encode()) < before + 200 * 5 * 120
    # The ward's own series still update, and another ward is untouched.
    assert (await push(client, tokens["10001"], icmp(target="invented-0-0", rtt_avg_seconds=0.5)
                       ))[0] == 200
    assert (await push(client, tokens["10002"], icmp("10002")))[0] == 200


async def test_a_device_with_too_many_interfaces_is_refused_by_name(collector: Any) -> None:
    client, tokens = collector
    report = snmp(interfaces=[interface(i, f"port{i}") for i in range(150)])
    status, body = await push(client, tokens["10001"], report)
    assert status == 422
    assert any("max_interfaces_per_device (128)" in d for d in body["details"]), body
    assert stored(client) == 0


async def test_a_ward_may_be_given_a_larger_budget_in_the_inventory(tmp_path: Path) -> None:
    raised = TWO_WARDS.replace('    cluster: Cụm A\n', '    cluster: Cụm A\n'
                               '    series_budget: {max_measurements: 300}\n', 1)
    app_settings, tokens = settings(tmp_path, raised, rate_per_second=1000.0, rate_burst=1000)
    async with TestClient(TestServer(create_app(app_settings))) as client:
        reports = [icmp(target=f"t{n}") for n in range(250)]
        assert (await push(client, tokens["10001"], *reports[:125]))[0] == 200
        assert (await push(client, tokens["10001"], *reports[125:]))[0] == 200
        assert (await push(client, tokens["10002"], *[icmp("10002", target=f"t{n}")
                                                       for n in range(201)]))[0] == 422


async def test_a_restart_skips_what_no_longer_fits_a_lowered_budget(tmp_path: Path) -> None:
    app_settings, tokens = settings(tmp_path, rate_per_second=1000.0, rate_burst=1000)
    async with TestClient(TestServer(create_app(app_settings))) as client:
        assert (await push(client, tokens["10001"],
                           *[icmp(target=f"t{n}") for n in range(150)]))[0] == 200
    lowered = TWO_WARDS.replace("platforms:", "series_budget: {max_measurements: 100}\n"
                                "platforms:", 1)
    app_settings, _ = settings(tmp_path, lowered)
    async with TestClient(TestServer(create_app(app_settings))) as client:
        metrics = await (await client.get("/metrics")).text()
    assert metrics.count('sansang_icmp_rtt_avg_seconds{ward="10001"') == 100


# --- 3, 4, 5. the NOC login

def basic(user: str, password: bytes | str) -> dict[str, str]:
    raw = (user.encode() + b":" + (password if isinstance(password, bytes) else password.encode()))
    return {"Authorization": "Basic " + base64.b64encode(raw).decode()}


@pytest.fixture
def users_file(tmp_path: Path) -> Path:
    path = tmp_path / "users.yaml"
    hashed = bcrypt.hashpw(b"s3cret-pass", bcrypt.gensalt(rounds=4)).decode()
    path.write_text(f"users:\n  noc: '{hashed}'\n")
    return path


async def test_password_checks_run_off_the_event_loop(tmp_path: Path, users_file: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    threads: list[str] = []
    real = bcrypt.checkpw

    def recording(password: bytes, hashed: bytes) -> bool:
        threads.append(threading.current_thread().name)
        return real(password, hashed)

    monkeypatch.setattr(bcrypt, "checkpw", recording)
    app_settings, _ = settings(tmp_path, basic_auth_path=users_file)
    async with TestClient(TestServer(create_app(app_settings))) as client:
        answers = [(await client.get("/metrics", headers=basic("noc", p))).status
                   for p in ("wrong", "s3cret-pass")]
    assert answers == [401, 200]
    assert threads and all(name.startswith("sansang-login") for name in threads), threads


async def test_failed_logins_are_throttled_per_client_and_a_push_is_not(
        tmp_path: Path, users_file: Path) -> None:
    app_settings, tokens = settings(tmp_path, basic_auth_path=users_file)
    async with TestClient(TestServer(create_app(app_settings))) as client:
        statuses = [(await client.get("/metrics", headers=basic("noc", f"guess{n}"))).status
                    for n in range(7)]
        throttled = await client.get("/metrics", headers=basic("noc", "s3cret-pass"))
        pushed = await push(client, tokens["10001"], icmp())
    assert statuses[:5] == [401] * 5 and statuses[5:] == [429, 429]
    assert throttled.status == 429 and int(throttled.headers["Retry-After"]) >= 1
    assert pushed[0] == 200


def test_the_throttle_backs_off_exponentially_and_forgets_the_oldest() -> None:
    now = [0.0]
    throttle = LoginThrottle(free_failures=2, max_delay=8, max_tracked=3, clock=lambda: now[0])
    waits = []
    for _ in range(6):
        throttle.failed(["client a"])
        waits.append(throttle.wait(["client a"]))
    assert waits == [0.0, 1.0, 2.0, 4.0, 8.0, 8.0]
    throttle.succeeded(["client a"])
    assert throttle.wait(["client a"]) == 0.0
    for n in range(10):
        throttle.failed([f"client {n}"])
    assert len(throttle._failures) == 3


async def test_strangers_bytes_in_the_login_get_4xx_never_500(tmp_path: Path,
                                                               users_file: Path) -> None:
    app_settings, _ = settings(tmp_path, basic_auth_path=users_file)
    async with TestClient(TestServer(create_app(app_settings))) as client:
        too_long = await client.get("/metrics", headers=basic("noc", "x" * 73))
        latin = await client.get("/metrics", headers={"Authorization": "Basic \xe9\xff=="})
        not_utf8 = await client.get("/metrics", headers={
            "Authorization": "Basic " + base64.b64encode(b"\xff:\xfe").decode()})
        empty = await client.get("/metrics", headers={"Authorization": "Basic "})
        reason = (await too_long.json())["error"]
    assert too_long.status == 400 and "72 bytes" in reason
    assert (latin.status, not_utf8.status, empty.status) == (401, 401, 401)


def test_hash_password_refuses_what_bcrypt_cannot_hold() -> None:
    with pytest.raises(ValueError, match="72 bytes"):
        hash_password("é" * 40)
    for stdin, message in ((b"x" * 80 + b"\n", b"72 bytes"), (b"\xff\xfe\n", b"not UTF-8")):
        done = subprocess.run([sys.executable, "-m", "collector", "hash-password"], input=stdin,
                              capture_output=True, cwd=ROOT, timeout=60, check=False)
        assert done.returncode == 2 and message in done.stderr, done.stderr
        assert b"Traceback" not in done.stderr


def test_an_unknown_user_costs_the_same_bcrypt_rounds_as_a_known_one() -> None:
    real = bcrypt.hashpw(b"pw", bcrypt.gensalt(rounds=6))
    auth = BasicAuth({"noc": real})
    try:
        assert auth._dummy_hash[:7] == real[:7] == b"$2b$06$"
    finally:
        auth.close()


async def test_a_login_flood_is_told_to_come_back_rather_than_queued(
        monkeypatch: pytest.MonkeyPatch) -> None:
    release = threading.Event()

    def slow_check(password: bytes, hashed: bytes) -> bool:
        release.wait(10)
        return False

    monkeypatch.setattr(bcrypt, "checkpw", slow_check)
    auth = BasicAuth({"noc": bcrypt.hashpw(b"pw", bcrypt.gensalt(rounds=4))},
                     throttle=LoginThrottle(free_failures=1000))
    try:
        header = basic("noc", "guess")["Authorization"]
        attempts = [asyncio.ensure_future(auth.check(header, f"10.77.0.{n}"))
                    for n in range(BasicAuth.MAX_QUEUED_CHECKS + 4)]
        await asyncio.sleep(0.2)
        release.set()
        outcomes = await asyncio.gather(*attempts)
    finally:
        auth.close()
    statuses = sorted(o.status for o in outcomes)
    assert statuses.count(429) == 4 and statuses.count(401) == BasicAuth.MAX_QUEUED_CHECKS


# --- 6. speed-test slots

async def test_a_wards_speed_test_slot_is_its_own(collector: Any) -> None:
    client, tokens = collector
    mine, theirs = bearer(tokens["10001"]), bearer(tokens["10002"])
    granted = await client.post("/speedtest/slot", json={"wait_seconds": 0}, headers=mine)
    slot = (await granted.json())["slot"]
    status = await (await client.get("/speedtest/status", headers=theirs)).json()
    assert all(record["slot"] is None for record in status["history"])
    own_status = await (await client.get("/speedtest/status", headers=mine)).json()
    assert [r["slot"] for r in own_status["history"]] == [slot]
    renew = await client.post(f"/speedtest/slot/{slot}/renew", headers=theirs)
    use = await client.get(f"/speedtest/download?slot={slot}&seconds=0.1", headers=theirs)
    end = await client.delete(f"/speedtest/slot/{slot}", headers=theirs)
    assert (renew.status, use.status, end.status) == (404, 409, 404)
    again = await client.post("/speedtest/slot", json={"wait_seconds": 5}, headers=mine)
    assert again.status == 409
    assert (await client.delete(f"/speedtest/slot/{slot}", headers=mine)).status == 200


async def test_a_ward_waits_for_at_most_one_slot(collector: Any) -> None:
    client, tokens = collector
    holder = await client.post("/speedtest/slot", json={"wait_seconds": 0},
                               headers=bearer(tokens["10002"]))
    assert holder.status == 200
    first = asyncio.ensure_future(client.post(
        "/speedtest/slot", json={"wait_seconds": 3}, headers=bearer(tokens["10001"])))
    await asyncio.sleep(0.3)
    second = await client.post("/speedtest/slot", json={"wait_seconds": 3},
                               headers=bearer(tokens["10001"]))
    assert second.status == 409
    assert (await first).status == 503


# --- 7. a collector (or a stranger at its address) answering anything

Reply = Callable[[web.Request], Awaitable[web.StreamResponse]]


async def endless(request: web.Request) -> web.StreamResponse:
    response = web.StreamResponse(headers={"Content-Type": "application/json"})
    await response.prepare(request)
    chunk = b"[" * 65536
    for _ in range(2000):  # 128 MiB at most, far past any bound the agent keeps
        await response.write(chunk)
    return response


def fixed(status: int, body: bytes) -> Reply:
    async def answer(_request: web.Request) -> web.Response:
        return web.Response(status=status, body=body, content_type="application/json")
    return answer


@pytest.fixture
async def stranger() -> AsyncIterator[Callable[[Reply], Awaitable[str]]]:
    runners: list[web.AppRunner] = []

    async def start(reply: Reply) -> str:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", reply)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        runners.append(runner)
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        return f"http://127.0.0.1:{runner.addresses[0][1]}"

    yield start
    for runner in runners:
        await runner.cleanup()


@pytest.mark.parametrize("reply", [
    fixed(200, b"[]"), fixed(200, b"[" * 100_000), fixed(200, b"not json"),
    fixed(200, b'{"acknowledged": "everything"}'), fixed(200, b"\xff\xfe"),
    fixed(302, b""), endless,
], ids=["list", "deep", "garbage", "ack-not-a-list", "not-utf8", "redirect", "endless"])
async def test_no_collector_answer_crashes_the_pusher_or_loses_a_report(
        tmp_path: Path, stranger: Any, reply: Reply) -> None:
    import aiohttp

    spool = Spool(tmp_path / "spool.sqlite3", 1 << 20, 3600)
    spool.put(icmp())
    pusher = Pusher(spool, await stranger(reply), Secret("token-" + "x" * 30))
    async with aiohttp.ClientSession() as session:
        outcome = await pusher.push_once(session)
    assert outcome.error and outcome.acknowledged == 0
    assert len(spool) == 1
    spool.close()


async def test_a_refused_batch_sets_aside_only_the_refused_report(tmp_path: Path) -> None:
    import aiohttp

    app_settings, tokens = settings(tmp_path, rate_per_second=1000.0, rate_burst=1000)
    spool = Spool(tmp_path / "spool.sqlite3", 1 << 20, 3600)
    good = [icmp() for _ in range(7)]
    bad = icmp(target="\x07bell")
    for report in (*good[:3], bad, *good[3:]):
        spool.put(report)
    async with TestClient(TestServer(create_app(app_settings))) as client:
        pusher = Pusher(spool, str(client.make_url("/")), Secret(tokens["10001"]))
        async with aiohttp.ClientSession() as session:
            for _ in range(20):
                if len(spool) == 0:
                    break
                await pusher.push_once(session)
        assert len(spool) == 0
        assert client.server.app[STORE].ids("10001") == {r["id"] for r in good}  # type: ignore
    spool.close()


async def test_the_field_check_push_survives_any_answer(tmp_path: Path, stranger: Any) -> None:
    from ward_agent.check import push_now

    url = await stranger(endless)
    token = tmp_path / "token"
    token.write_text("t" * 32)
    config = AgentConfig.model_validate({
        "ward": "10001", "collector_url": url, "token_file": str(token),
        "spool": {"path": str(tmp_path / "spool.sqlite3")}})
    said = await push_now(config, [icmp()])
    assert "kept 1 report" in said and f"larger than {MAX_REPLY_BYTES}" in said


async def test_the_bandwidth_probe_survives_an_endless_slot_answer(stranger: Any) -> None:
    url = await stranger(endless)
    result = await probe(url, BandwidthConfig(duration_seconds=0.3, warmup_seconds=0.1,
                                              timeout_seconds=2), deadline_in(15))
    assert not result.up and result.error and "larger than" in result.error


# --- 9, 11. exports and CSVs

HOSTILE_WARD = {
    "code": "10001", "name": "=HYPERLINK(\"http://x\",\"a\")", "kind": "phường",
    "province": "+1", "cluster": "-cụm", "status": "not_ready", "ready": False,
    "simulated": False, "last_report_at": None, "checks": {}, "states": {},
    "failing": [{"check": "platforms", "title": "t", "severity": "critical", "since": 0.0,
                 "problems": ["@SUM(1)\x00\x01 broken"]}],
    "address": "\tcmd", "contact": {"name": "=1+1", "phone": "0900"},
}


def test_exports_neutralise_formulas_and_control_characters(tmp_path: Path) -> None:
    table = rows([HOSTILE_WARD])
    write_csv(tmp_path / "r.csv", table)
    write_xlsx(tmp_path / "r.xlsx", table, "t")
    with (tmp_path / "r.csv").open(encoding="utf-8-sig") as handle:
        cells = [cell for row in csv.reader(handle) for cell in row]
    assert not any(cell.startswith(("=", "+", "-", "@", "\t", "\r")) for cell in cells)
    assert not any(ch in cell for cell in cells for ch in "\x00\x01")
    sheet = load_workbook(tmp_path / "r.xlsx").active
    assert sheet is not None
    values = [cell for row in sheet.iter_rows(min_row=2) for cell in row]
    assert all(cell.data_type != "f" for cell in values)
    assert sheet["B2"].value == HOSTILE_WARD["name"]


def test_the_dispatch_csv_neutralises_formulas() -> None:
    text = dispatch_csv_text(dispatch_rows([HOSTILE_WARD]))
    cells = [cell for row in csv.reader(io.StringIO(text)) for cell in row]
    assert "'=HYPERLINK(\"http://x\",\"a\")" in cells
    assert not any(cell.startswith(("=", "+", "-", "@", "\t")) for cell in cells)


# --- 10. framing

async def test_bad_framing_is_a_4xx_never_a_500(collector: Any) -> None:
    client, tokens = collector
    headers = {**bearer(tokens["10001"]), "Content-Type": "application/json"}
    deep = await client.post("/api/v1/reports", data=b"[" * 100_000 + b"]" * 100_000,
                             headers=headers)
    gzip_lie = await client.post("/api/v1/reports", data=b'{"reports": []}',
                                 headers={**headers, "Content-Encoding": "gzip"})
    unknown = await client.post("/api/v1/reports", data=b'{"reports": []}',
                                headers={**headers, "Content-Encoding": "compress"})
    # aiohttp's parser refuses an encoding it has no decoder for (brotli) itself, with 400.
    brotli = await client.post("/api/v1/reports", data=b'{"reports": []}',
                               headers={**headers, "Content-Encoding": "br"})
    assert (deep.status, gzip_lie.status, unknown.status) == (400, 400, 415)
    assert brotli.status in (400, 415)
    assert stored(client) == 0


# --- 12. and the rest

async def test_two_interfaces_of_one_name_make_two_series(collector: Any) -> None:
    client, tokens = collector
    report = snmp(interfaces=[interface(1, "eth0"), interface(2, "eth0", up=False)])
    assert (await push(client, tokens["10001"], report))[0] == 200
    metrics = await (await client.get("/metrics")).text()
    assert 'interface="eth0 (ifIndex 1)"} 1' in metrics
    assert 'interface="eth0 (ifIndex 2)"} 0' in metrics


async def test_report_ids_belong_to_their_ward(collector: Any) -> None:
    client, tokens = collector
    first = icmp("10001")
    same_id = {**icmp("10002"), "id": first["id"]}
    assert (await push(client, tokens["10001"], first))[1]["stored"] == 1
    assert (await push(client, tokens["10002"], same_id))[1]["stored"] == 1


def test_a_database_with_city_wide_ids_is_moved_to_ids_per_ward(tmp_path: Path) -> None:
    from collector.store import ReportStore

    db = sqlite3.connect(tmp_path / "db.sqlite3")
    db.executescript("""
        CREATE TABLE reports (id TEXT NOT NULL UNIQUE, ward TEXT NOT NULL, kind TEXT NOT NULL,
            target TEXT NOT NULL, measured_at REAL NOT NULL, received_at REAL NOT NULL,
            result TEXT NOT NULL);
        INSERT INTO reports VALUES ('report-01', '10001', 'icmp', 'x', 1, 1, '{}');
    """)
    db.close()
    store = ReportStore(tmp_path / "db.sqlite3")
    schema = store._db.execute("SELECT sql FROM sqlite_master WHERE name = 'reports'").fetchone()
    assert "UNIQUE (ward, id)" in schema[0]
    assert store.ids("10001") == {"report-01"}


async def test_pages_carry_security_headers(collector: Any) -> None:
    client, _ = collector
    for path in ("/", "/ward/10001", "/dispatch", "/metrics"):
        headers = (await client.get(path)).headers
        assert "frame-ancestors 'none'" in headers["Content-Security-Policy"], path
        assert headers["X-Frame-Options"] == "DENY"
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["Referrer-Policy"] == "no-referrer"


@pytest.mark.parametrize("field,value", [("up", "yes"), ("up", 1), ("sent", "5"),
                                         ("loss_ratio", "0")])
async def test_lax_coercion_is_refused(collector: Any, field: str, value: Any) -> None:
    client, tokens = collector
    status, _ = await push(client, tokens["10001"], icmp(**{field: value}))
    assert status == 422 and stored(client) == 0


def test_security_module_keeps_no_dummy_hash_of_its_own() -> None:
    # Equal cost comes from the configured hashes, not a fixed cheaper one (finding 5).
    assert not hasattr(security, "_DUMMY_HASH")


async def test_a_ward_past_its_series_total_is_refused_by_name(collector: Any) -> None:
    client, tokens = collector
    counters = {"in_bytes_total": 1, "out_bytes_total": 1, "in_errors_total": 0,
                "out_errors_total": 0}
    ports = [interface(i, f"p{i}", **counters) for i in range(40)]  # 5 series each
    devices = [{**snmp(interfaces=ports), "target": f"sw{n}"} for n in range(6)]
    status, body = await push(client, tokens["10001"], *devices)
    assert status == 422 and any("max_series (1000)" in d for d in body["details"]), body
    assert (await push(client, tokens["10001"], *devices[:4]))[0] == 200
