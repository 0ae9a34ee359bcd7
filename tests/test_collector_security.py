"""Who may do what at the collector: rate limits per ward, the NOC login, TLS with a test CA."""

from __future__ import annotations

import base64
import ssl
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import trustme
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from collector.app import CollectorSettings, create_app
from collector.security import BasicAuth, RateLimiter, hash_password, server_tls_context
from collector.tokens import issue_token
from inventory import load_inventory
from probes.secret import Secret
from ward_agent.pusher import Pusher
from ward_agent.spool import Spool

FIXTURES = Path(__file__).parent / "fixtures" / "inventory"


def two_ward_inventory(tmp_path: Path) -> Path:
    path = tmp_path / "inventory.yaml"
    path.write_text((FIXTURES / "base.yaml").read_text() + """  "10002":
    name: Xã Hai
    kind: xã
    province: Tỉnh Thử
    cluster: Cụm B
""")
    return path


def report(ward: str) -> dict[str, Any]:
    return {"id": uuid.uuid4().hex, "ward": ward, "measured_at": time.time(), "kind": "icmp",
            "target": "127.0.0.1",
            "result": {"up": True, "host": "127.0.0.1", "sent": 1, "received": 1,
                       "loss_ratio": 0.0, "rtt_avg_seconds": 0.001}}


def settings_for(tmp_path: Path, **extra: Any) -> tuple[CollectorSettings, dict[str, str]]:
    tokens_path = tmp_path / "tokens.yaml"
    tokens = {w: issue_token(tokens_path, w).reveal() for w in ("10001", "10002")}
    return CollectorSettings(
        inventory=load_inventory(two_ward_inventory(tmp_path)), tokens_path=tokens_path,
        database_path=tmp_path / "db.sqlite3", **extra), tokens


def test_the_token_bucket_refills_at_its_rate() -> None:
    limiter = RateLimiter(rate_per_second=2, burst=3)
    assert [limiter.check("a", now=0.0) for _ in range(3)] == [0.0, 0.0, 0.0]
    assert limiter.check("a", now=0.0) == pytest.approx(0.5)
    assert limiter.check("b", now=0.0) == 0.0
    assert limiter.check("a", now=0.5) == 0.0


async def test_a_flooding_ward_gets_429_while_others_are_served(tmp_path: Path) -> None:
    settings, tokens = settings_for(tmp_path, rate_per_second=1.0, rate_burst=5)
    async with TestClient(TestServer(create_app(settings))) as client:
        statuses = []
        for _ in range(12):
            response = await client.post("/api/v1/reports", json={"reports": [report("10001")]},
                                         headers={"Authorization": f"Bearer {tokens['10001']}"})
            statuses.append(response.status)
            if response.status == 429:
                assert int(response.headers["Retry-After"]) >= 1
                assert "slow down" in (await response.json())["error"]
        other = await client.post("/api/v1/reports", json={"reports": [report("10002")]},
                                  headers={"Authorization": f"Bearer {tokens['10002']}"})
    assert statuses[:5] == [200] * 5
    assert statuses.count(429) >= 6
    assert other.status == 200


def basic(user: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


async def test_metrics_need_the_noc_login_when_configured(tmp_path: Path) -> None:
    users = tmp_path / "users.yaml"
    users.write_text(f"users:\n  noc: '{hash_password('s3cret-pass')}'\n")
    settings, tokens = settings_for(tmp_path, basic_auth_path=users)
    async with TestClient(TestServer(create_app(settings))) as client:
        anonymous = await client.get("/metrics")
        wrong = await client.get("/metrics", headers=basic("noc", "nope"))
        unknown = await client.get("/metrics", headers=basic("mallory", "s3cret-pass"))
        right = await client.get("/metrics", headers=basic("noc", "s3cret-pass"))
        health = await client.get("/healthz")
        push = await client.post("/api/v1/reports", json={"reports": [report("10001")]},
                                 headers={"Authorization": f"Bearer {tokens['10001']}"})
    assert (anonymous.status, wrong.status, unknown.status) == (401, 401, 401)
    assert anonymous.headers["WWW-Authenticate"].startswith("Basic")
    assert (right.status, health.status, push.status) == (200, 200, 200)


def test_a_basic_auth_file_without_bcrypt_hashes_is_refused_with_the_reason(
    tmp_path: Path
) -> None:
    from inventory import ConfigError

    users = tmp_path / "users.yaml"
    users.write_text("users:\n  noc: plaintext\n")
    with pytest.raises(ConfigError, match=r"users.noc: expected a bcrypt hash"):
        BasicAuth.from_file(users)


@pytest.fixture
async def tls_collector(tmp_path: Path) -> AsyncIterator[tuple[str, dict[str, str],
                                                               trustme.CA, Spool]]:
    ca = trustme.CA()
    server_cert = ca.issue_cert("127.0.0.1", "localhost")
    cert_file, key_file = tmp_path / "server.pem", tmp_path / "server.key"
    server_cert.cert_chain_pems[0].write_to_path(str(cert_file))
    server_cert.private_key_pem.write_to_path(str(key_file))
    settings, tokens = settings_for(tmp_path)
    runner = web.AppRunner(create_app(settings))
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0,
                       ssl_context=server_tls_context(cert_file, key_file))
    await site.start()
    port = runner.addresses[0][1]
    spool = Spool(tmp_path / "spool.sqlite3", 1 << 20, 3600)
    spool.put(report("10001"))
    try:
        yield f"https://127.0.0.1:{port}", tokens, ca, spool
    finally:
        spool.close()
        await runner.cleanup()


async def test_the_agent_pushes_to_a_tls_collector_it_trusts(tmp_path: Path,
                                                             tls_collector: Any) -> None:
    url, tokens, ca, spool = tls_collector
    ca_file = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    pusher = Pusher(spool, url, Secret(tokens["10001"]), ca_file=str(ca_file))
    async with aiohttp.ClientSession() as session:
        outcome = await pusher.push_once(session)
    assert (outcome.acknowledged, outcome.error, len(spool)) == (1, None, 0)


async def test_the_agent_refuses_a_collector_signed_by_another_ca_and_says_why(
    tmp_path: Path, tls_collector: Any
) -> None:
    url, tokens, _, spool = tls_collector
    wrong_ca = tmp_path / "other-ca.pem"
    trustme.CA().cert_pem.write_to_path(str(wrong_ca))
    pusher = Pusher(spool, url, Secret(tokens["10001"]), ca_file=str(wrong_ca))
    async with aiohttp.ClientSession() as session:
        outcome = await pusher.push_once(session)
    assert outcome.acknowledged == 0
    assert outcome.error is not None and "certificate verify failed" in outcome.error
    assert len(spool) == 1  # nothing lost: it stays in the spool for the next try


def test_the_collector_speaks_tls_1_2_at_least(tmp_path: Path) -> None:
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1")
    cert.cert_chain_pems[0].write_to_path(str(tmp_path / "c.pem"))
    cert.private_key_pem.write_to_path(str(tmp_path / "k.pem"))
    context = server_tls_context(tmp_path / "c.pem", tmp_path / "k.pem")
    assert context.minimum_version == ssl.TLSVersion.TLSv1_2


async def test_client_certificates_are_required_when_a_client_ca_is_given(
    tmp_path: Path
) -> None:
    ca = trustme.CA()
    server_cert = ca.issue_cert("127.0.0.1")
    server_cert.cert_chain_pems[0].write_to_path(str(tmp_path / "c.pem"))
    server_cert.private_key_pem.write_to_path(str(tmp_path / "k.pem"))
    ca.cert_pem.write_to_path(str(tmp_path / "ca.pem"))
    settings, _ = settings_for(tmp_path)
    runner = web.AppRunner(create_app(settings))
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=server_tls_context(
        tmp_path / "c.pem", tmp_path / "k.pem", tmp_path / "ca.pem"))
    await site.start()
    url = f"https://127.0.0.1:{runner.addresses[0][1]}/healthz"
    try:
        without = ssl.create_default_context()
        ca.configure_trust(without)
        with_cert = ssl.create_default_context()
        ca.configure_trust(with_cert)
        ca.issue_cert("agent-10001").configure_cert(with_cert)
        async with aiohttp.ClientSession() as session:
            with pytest.raises(aiohttp.ClientError):
                async with session.get(url, ssl=without) as response:
                    await response.read()
            async with session.get(url, ssl=with_cert) as response:
                assert response.status == 200
    finally:
        await runner.cleanup()


def test_a_wards_share_key_never_reaches_the_access_log(tmp_path: Path) -> None:
    from collector.pages import ShareLinks
    from tests.lab.servers import http_get, running_collector

    with running_collector(tmp_path, ["26968"]) as collector:
        key = ShareLinks.beside(tmp_path / "collector.sqlite3").key("26968")
        status, _ = http_get(f"{collector.url}/ward/26968?key={key}&lang=en")
        assert status == 200
    assert collector.log_path is not None
    log = collector.log_path.read_text()
    assert '"GET /ward/26968"' in log
    assert key not in log
