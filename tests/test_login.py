"""The NOC's login page and session, beside Basic auth for programs."""

from __future__ import annotations

import re
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer

from collector.app import create_app
from collector.login import SESSION_COOKIE, SESSIONS, Sessions, safe_next
from collector.security import hash_password
from tests.test_collector_security import basic, settings_for

HTML = {"Accept": "text/html,application/xhtml+xml"}


@pytest.fixture
async def client(tmp_path: Path) -> AsyncIterator[TestClient]:
    users = tmp_path / "users.yaml"
    users.write_text(f"users:\n  an: '{hash_password('pass-an-1')}'\n")
    settings, _ = settings_for(tmp_path, basic_auth_path=users)
    async with TestClient(TestServer(create_app(settings))) as test_client:
        yield test_client


async def log_in(client: TestClient, password: str = "pass-an-1", next_: str = "/dispatch",
                 **headers: str) -> object:
    return await client.post("/login?lang=vi", data={"user": "an", "password": password,
                                                      "next": next_},
                             headers=headers, allow_redirects=False)


async def test_a_browser_is_sent_to_the_login_page_and_comes_back_logged_in(
        client: TestClient) -> None:
    sent = await client.get("/dispatch?lang=vi", headers=HTML, allow_redirects=False)
    assert sent.status == 303
    assert sent.headers["Location"] == "/login?lang=vi&next=%2Fdispatch%3Flang%3Dvi"
    page = await client.get(sent.headers["Location"])
    text = await page.text()
    assert page.status == 200 and "Đăng nhập trung tâm điều hành (NOC)" in text
    assert 'name="next" value="/dispatch?lang=vi"' in text

    logged_in = await log_in(client, next_="/dispatch?lang=vi")
    assert logged_in.status == 303 and logged_in.headers["Location"] == "/dispatch?lang=vi"
    cookie = logged_in.headers["Set-Cookie"]
    assert cookie.startswith(f"{SESSION_COOKIE}=")
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Max-Age=43200" in cookie
    board = await client.get("/", headers=HTML)
    text = await board.text()
    assert board.status == 200 and "Đăng xuất (an)" in text
    out = await client.post("/logout", allow_redirects=False)
    assert out.status == 303
    again = await client.get("/", headers=HTML, allow_redirects=False)
    assert again.status == 303 and again.headers["Location"].startswith("/login")


async def test_wrong_passwords_are_refused_in_words_and_throttled(client: TestClient) -> None:
    statuses = []
    for _ in range(8):
        refused = await log_in(client, password="wrong")
        statuses.append(refused.status)
        text = await refused.text()
        assert "Sai tên đăng nhập hoặc mật khẩu" in text or "quá nhiều lần" in text
        assert SESSION_COOKIE not in refused.headers.get("Set-Cookie", "")
    assert statuses[0] == 401 and statuses[-1] == 429
    throttled = await log_in(client)  # even the right password waits now
    assert throttled.status == 429 and int(throttled.headers["Retry-After"]) >= 1


async def test_a_login_posted_from_another_site_or_malformed_is_refused(
        client: TestClient) -> None:
    forged = await log_in(client, Origin="http://evil.example")
    as_json = await client.post("/login", json={"user": "an", "password": "pass-an-1"})
    too_long = await log_in(client, password="x" * 100)
    assert (forged.status, as_json.status, too_long.status) == (403, 400, 400)
    assert "Mật khẩu dài quá 72 byte" in await too_long.text()


async def test_programs_keep_basic_auth_and_get_401_not_a_page(client: TestClient) -> None:
    anonymous = await client.get("/metrics", allow_redirects=False)
    api = await client.get("/api/v1/wards", allow_redirects=False)
    with_basic = await client.get("/api/v1/wards", headers=basic("an", "pass-an-1"))
    assert (anonymous.status, api.status, with_basic.status) == (401, 401, 200)
    assert anonymous.headers["WWW-Authenticate"].startswith("Basic")


async def test_a_forged_or_expired_session_is_no_session(client: TestClient) -> None:
    sessions: Sessions = client.server.app[SESSIONS]
    good = sessions.issue("an")
    assert sessions.user_of(good) == "an"
    forged = re.sub(r"^[^.]+", "Ym9i", good)  # "bob", same signature
    expired = sessions.issue("an", now=time.time() - 13 * 3600)
    assert sessions.user_of(forged) is None and sessions.user_of(expired) is None
    for cookie in (forged, expired, "x" * 2000, "a.b.c"):
        client.session.cookie_jar.clear()
        response = await client.get("/", headers={**HTML, "Cookie": f"{SESSION_COOKIE}={cookie}"},
                                    allow_redirects=False)
        assert response.status == 303


def test_after_login_a_person_goes_only_to_a_page_of_ours() -> None:
    assert safe_next("/ward/26968?lang=en") == "/ward/26968?lang=en"
    for bad in ("//evil.example/", "https://evil.example/", "/\\evil.example", "", None):
        assert safe_next(bad) == "/"


async def test_the_noc_forms_know_who_logged_in_by_session(client: TestClient) -> None:
    await log_in(client)
    page = await (await client.get("/dispatch", headers=HTML)).text()
    assert 'name="by"' not in page  # the author is the login, not a field
