"""Acknowledging a ward silences it in a real Alertmanager (API v2), and an acknowledgement
made while Alertmanager is down is kept and applied when it returns."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from collector.silences import AlertmanagerUnavailable, SilenceBook, SilenceRejected
from tests.lab.servers import free_port, http_post_json, running_alertmanager, wait_until

pytestmark = pytest.mark.servers

CONFIG = {"route": {"receiver": "none", "group_by": ["ward"]}, "receivers": [{"name": "none"}]}


def test_an_acknowledgement_silences_only_its_ward_until_expired(tmp_path: Path) -> None:
    with running_alertmanager(tmp_path / "am", CONFIG) as alertmanager:
        book = SilenceBook(alertmanager.url, tmp_path / "queue.sqlite3")
        until = time.time() + 3600
        silence = asyncio.run(book.acknowledge("26968", "noc-an", "Đã cử kỹ thuật viên", until))
        assert (silence.state, silence.ward, silence.author) == ("active", "26968", "noc-an")
        assert silence.comment == "Đã cử kỹ thuật viên" and silence.id
        assert abs(silence.ends_at - until) < 1.0

        status, _ = http_post_json(alertmanager.url + "/api/v2/alerts", [
            {"labels": {"alertname": "WardPacketLoss", "ward": code}} for code in
            ("26968", "25747")])
        assert status == 200

        def states() -> dict[str, str]:
            return {a["labels"]["ward"]: a["status"]["state"] for a in alertmanager.alerts()}

        wait_until(lambda: states() == {"26968": "suppressed", "25747": "active"}, 10,
                   what="the acknowledged ward's alert silenced, the other not")
        # A silence made in Alertmanager's own UI (the same API) is listed too.
        status, _ = http_post_json(alertmanager.url + "/api/v2/silences", {
            "matchers": [{"name": "ward", "value": "25747", "isRegex": False}],
            "startsAt": "2020-01-01T00:00:00Z", "endsAt": "2100-01-01T00:00:00Z",
            "createdBy": "ui-user", "comment": "from the UI"})
        assert status == 200
        listed = asyncio.run(book.silences())
        assert sorted((s.ward, s.author) for s in listed) == [
            ("25747", "ui-user"), ("26968", "noc-an")]

        asyncio.run(book.expire("26968"))
        assert asyncio.run(book.silences("26968")) == []
        wait_until(lambda: states() == {"26968": "active", "25747": "suppressed"}, 10,
                   what="the ward's alert active again, the other ward still silenced")
        with pytest.raises(SilenceRejected):
            asyncio.run(book.acknowledge("26968", "noc-an", "", until))


def test_an_acknowledgement_made_while_alertmanager_is_down_is_applied_when_it_returns(
        tmp_path: Path) -> None:
    port = free_port()
    queue = tmp_path / "queue.sqlite3"
    book = SilenceBook(f"http://127.0.0.1:{port}", queue, timeout_seconds=1)
    until = time.time() + 3600
    silence = asyncio.run(book.acknowledge("26968", "noc-an", "Mất điện lưới, đã báo EVN", until))
    assert silence.state == "queued"
    assert [s.comment for s in book.queued("26968")] == ["Mất điện lưới, đã báo EVN"]
    with pytest.raises(AlertmanagerUnavailable):
        asyncio.run(book.silences("26968"))
    book.close()

    # The queue outlives the process: a new book over the same file applies it.
    with running_alertmanager(tmp_path / "am", CONFIG, port=port):
        book = SilenceBook(f"http://127.0.0.1:{port}", queue)
        assert asyncio.run(book.flush()) == 1
        [applied] = asyncio.run(book.silences("26968"))
        assert (applied.state, applied.comment) == ("active", "Mất điện lưới, đã báo EVN")
        assert book.queued() == []
        # Flushing again (a retry) never silences twice.
        assert asyncio.run(book.flush()) == 0
        assert len(asyncio.run(book.silences())) == 1
