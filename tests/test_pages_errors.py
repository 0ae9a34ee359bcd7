"""Errors a person can act on: a 404 in their language with the search, trailing slashes
taken, and programs still answered as programs."""

from __future__ import annotations

from pathlib import Path

from aiohttp.test_utils import TestClient, TestServer

from collector.app import create_app
from tests.test_collector_security import settings_for


async def test_an_unknown_ward_gets_a_vietnamese_404_with_the_search(tmp_path: Path) -> None:
    settings, _ = settings_for(tmp_path)
    async with TestClient(TestServer(create_app(settings))) as client:
        vi = await client.get("/ward/99999?lang=vi")
        en = await client.get("/ward/99999?lang=en")
        page = await client.get("/no-such-page?lang=vi")
        vi_text, en_text, page_text = await vi.text(), await en.text(), await page.text()
    assert (vi.status, en.status, page.status) == (404, 404, 404)
    assert vi.content_type == "text/html"
    assert "Không có đơn vị mã 99999 trong danh sách" in vi_text
    assert 'name="q" value="99999"' in vi_text and 'action="/"' in vi_text
    assert "There is no ward 99999 in the inventory" in en_text
    assert "Không có trang này" in page_text


async def test_a_trailing_slash_leads_to_the_page(tmp_path: Path) -> None:
    settings, _ = settings_for(tmp_path)
    async with TestClient(TestServer(create_app(settings))) as client:
        moved = await client.get("/ward/10001/?lang=en", allow_redirects=False)
        followed = await client.get("/ward/10001/")
        dispatch = await client.get("/dispatch/")
        followed_text = await followed.text()
    assert moved.status == 308 and moved.headers["Location"] == "/ward/10001?lang=en"
    assert followed.status == 200 and "Phường Một" in followed_text
    assert dispatch.status == 200


async def test_programs_still_get_their_own_404(tmp_path: Path) -> None:
    settings, _ = settings_for(tmp_path)
    async with TestClient(TestServer(create_app(settings))) as client:
        api = await client.get("/api/v1/no-such")
        posted = await client.post("/no-such-page", data=b"x")
    assert api.status == 404 and api.content_type != "text/html"
    assert posted.status in (404, 405) and posted.content_type != "text/html"
