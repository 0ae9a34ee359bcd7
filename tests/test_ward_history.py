"""A ward's history, from the collector's own store: the graphs hold exactly the stored
reports of their window and never more than a bounded number of points, state changes are
recorded once each (a restart records only what really changed), availability and "ready
since" count whole days of the city's own time zone, a ward without history says so, and
the demo's seeded week gives every graph and list something to show."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import random
import sqlite3
import statistics
import zoneinfo
from pathlib import Path

from aiohttp.test_utils import TestClient, TestServer

from collector.app import STATE, STORE, create_app
from collector.history import (
    LATENCY_WINDOWS,
    MAX_POINTS,
    bucket_width,
    connect_read_only,
    read_ward_history,
)
from collector.history_page import history_view, megabits, milliseconds, percent
from collector.state import VERDICT
from collector.store import ReportStore, StoredReport
from demo.fleet import SimulatedWard
from demo.history import seed_history
from inventory.load import load_inventory
from inventory.model import Thresholds, Ward
from tests.test_casework import push
from tests.test_collector_security import settings_for, two_ward_inventory

ZONE = zoneinfo.ZoneInfo("Asia/Ho_Chi_Minh")
WARD, OTHER = "10001", "10002"
# 08:00 on 10 March 2026 in Ho Chi Minh City, 01:00 UTC.
NOW = dt.datetime(2026, 3, 10, 8, 0, tzinfo=ZONE).timestamp()


def local(day: int, hour: int, minute: int = 0) -> float:
    return dt.datetime(2026, 3, day, hour, minute, tzinfo=ZONE).timestamp()


def icmp(n: int, ward: str, at: float, rng: random.Random, received: int = 10) -> StoredReport:
    average = rng.uniform(0.005, 0.050)
    result = {"up": received > 0, "host": "core", "sent": 10, "received": received,
              "loss_ratio": (10 - received) / 10,
              "rtt_min_seconds": average / 2 if received else None,
              "rtt_avg_seconds": average if received else None,
              "rtt_max_seconds": average * 3 if received else None}
    return StoredReport(f"r{n}", ward, "icmp", "core", at, json.dumps(result))


def bandwidth(n: int, ward: str, at: float, rate: float) -> StoredReport:
    result = {"up": True, "url": "http://c/", "streams": 2, "download_bytes_per_second": rate,
              "upload_bytes_per_second": rate / 2}
    return StoredReport(f"b{n}", ward, "bandwidth", "main", at, json.dumps(result))


def store_reports(path: Path, reports: list[StoredReport]) -> None:
    async def run() -> None:
        store = ReportStore(path)
        await store.start()
        try:
            for start in range(0, len(reports), 5000):
                await store.add(reports[start:start + 5000])
        finally:
            await store.close()

    asyncio.run(run())


def record(path: Path, changes: list[tuple[str, float, str, str | None, str]]) -> None:
    store = ReportStore(path)
    store.record_changes(changes)
    asyncio.run(store.close())


def inventory_ward(tmp_path: Path) -> tuple[Ward, Thresholds]:
    inventory = load_inventory(two_ward_inventory(tmp_path))
    return inventory.wards[WARD], inventory.thresholds_for(WARD)


# --- the graphs: exactly what the store holds, and bounded


def test_the_days_graph_holds_exactly_the_stored_reports_of_its_window(tmp_path: Path) -> None:
    rng = random.Random(14)
    path = tmp_path / "db.sqlite3"
    # Two days of a round every 7 minutes, some rounds losing pings, and another ward's.
    reports = [icmp(n, WARD, NOW - 2 * 86400 + n * 420, rng, received=rng.choice([10, 10, 7, 0]))
               for n in range(2 * 86400 // 420)]
    reports += [icmp(100_000 + n, OTHER, NOW - n * 60, rng) for n in range(500)]
    store_reports(path, reports)

    history = read_ward_history(path, WARD, NOW, ZONE)

    start, width, series = history.latency["day"]
    assert (start, width) == (NOW - 86400, bucket_width(86400))
    inside = [r for r in reports if r.ward == WARD and start <= r.measured_at < NOW]
    points = series["core"]
    assert sum(p.reports for p in points) == len(inside)
    by_bucket: dict[int, list[dict[str, float]]] = {}
    for report in inside:
        by_bucket.setdefault(int((report.measured_at - start) // width), []).append(
            json.loads(report.result_json))
    assert [round((p.start - start) / width) for p in points] == sorted(by_bucket)
    for point in points:
        rounds = by_bucket[round((point.start - start) / width)]
        measured = [r["rtt_avg_seconds"] for r in rounds if r["rtt_avg_seconds"] is not None]
        assert point.reports == len(rounds)
        assert point.median == (statistics.median(measured) if measured else None)
        assert point.low == min((r["rtt_min_seconds"] for r in rounds
                                 if r["rtt_min_seconds"] is not None), default=None)
        assert point.high == max((r["rtt_max_seconds"] for r in rounds
                                  if r["rtt_max_seconds"] is not None), default=None)
        sent, received = (sum(r["sent"] for r in rounds), sum(r["received"] for r in rounds))
        assert point.loss == 1 - received / sent


def test_a_week_of_a_round_a_minute_is_drawn_in_at_most_the_points_limit(
        tmp_path: Path) -> None:
    rng = random.Random(7)
    path = tmp_path / "db.sqlite3"
    reports = [icmp(n, WARD, NOW - 7 * 86400 + n * 60 + 1, rng) for n in range(7 * 1440)]
    store_reports(path, reports)
    ward, thresholds = inventory_ward(tmp_path)

    history = read_ward_history(path, WARD, NOW, ZONE)
    view = history_view(history, ward, thresholds, ZONE, "vi")

    for window in LATENCY_WINDOWS:
        _, _, series = history.latency[window]
        assert len(series["core"]) <= MAX_POINTS
    assert sum(p.reports for p in history.latency["week"][2]["core"]) == len(reports)
    week = next(w for w in view["latency"] if w["window"] == "week")["charts"][0]
    assert len(week["lines"]) <= MAX_POINTS and len(week["strip"]) <= MAX_POINTS
    assert week["reports"] == len(reports)


def test_the_history_reads_one_wards_rows_through_an_index_not_the_whole_city(
        tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite3"
    store_reports(path, [])
    from collector.history import _BANDWIDTH, _LATENCY

    with connect_read_only(path) as db:
        for query, index in ((_LATENCY, "icmp_history"), (_BANDWIDTH, "bandwidth_history")):
            plan = " ".join(row[3] for row in db.execute(
                "EXPLAIN QUERY PLAN " + query, {"ward": WARD, "start": 0, "end": 1, "width": 1}))
            assert f"USING INDEX {index} (ward=? AND measured_at>? AND measured_at<?)" in plan


def test_the_bandwidth_graph_has_the_stored_tests_and_the_links_contract(
        tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite3"
    rates = [9e6, 11e6, 12e6]
    store_reports(path, [bandwidth(n, WARD, NOW - 3600 * (n + 1) * 5, rate)
                         for n, rate in enumerate(rates)])
    ward, thresholds = inventory_ward(tmp_path)

    view = history_view(read_ward_history(path, WARD, NOW, ZONE), ward, thresholds, ZONE, "vi")

    (chart,) = view["bandwidth"]
    assert chart["link"] == "main" and chart["reports"] == 3
    assert len(chart["series"]["download"]["dots"]) == 3
    # The contract (100/50 Mbit/s in the fixture inventory) drawn as lines, named in words.
    assert [c["label"] for c in chart["contracts"]] == [
        "Hợp đồng tải xuống 100 Mbit/s", "Hợp đồng tải lên 50 Mbit/s"]
    assert chart["summary"] == "Tải xuống trung bình 85,33 Mbit/s, 3 lần đo"


# --- changes, ready since, availability


def test_availability_counts_whole_days_of_the_city_time_zone(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite3"
    # Not ready from 23:00 on 3 March (local), before the 7-day window opens at midnight
    # of 4 March local (17:00 UTC on 3 March); ready at 06:00 on 4 March; not ready for the
    # last two hours.
    record(path, [(WARD, local(3, 23), VERDICT, "ready", "not_ready"),
                  (WARD, local(4, 6), VERDICT, "not_ready", "ready"),
                  (WARD, local(10, 6), VERDICT, "ready", "not_ready")])

    history = read_ward_history(path, WARD, NOW, ZONE)

    week, month = history.availability
    assert week.start == local(4, 0) == dt.datetime(2026, 3, 3, 17, tzinfo=dt.UTC).timestamp()
    window = NOW - local(4, 0)
    assert week.known_seconds == window
    assert week.ready_seconds == window - 6 * 3600 - 2 * 3600
    # Thirty days back, the verdict is known only from the first change on.
    assert month.start == local(10, 0) - 29 * 86400
    assert month.known_seconds == NOW - local(3, 23)
    assert month.ready_seconds == week.ready_seconds


def test_ready_since_and_the_changes_are_told_in_the_city_time_zone(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite3"
    # 00:30 on 10 March in Ho Chi Minh City is still 9 March in UTC.
    record(path, [(WARD, local(9, 20), VERDICT, None, "not_ready"),
                  (WARD, local(9, 20), "loss", None, "fail"),
                  (WARD, local(10, 0, 30), "loss", "fail", "pass"),
                  (WARD, local(10, 0, 30), VERDICT, "not_ready", "ready"),
                  (OTHER, local(10, 1), VERDICT, "ready", "not_ready")])
    ward, thresholds = inventory_ward(tmp_path)

    view = history_view(read_ward_history(path, WARD, NOW, ZONE), ward, thresholds, ZONE, "vi")

    assert view["ready_since"]["text"] == "Sẵn sàng từ 00:30 10/03/2026 (đã 7 giờ)"
    assert [(c["when"], c["what"], c["before"], c["after"]) for c in view["changes"]] == [
        ("00:30 10/03/2026", "Đánh giá chung", "Chưa sẵn sàng", "Sẵn sàng"),
        ("00:30 10/03/2026", "Tỷ lệ mất gói tin", "Chưa đạt", "Đạt"),
        ("20:00 09/03/2026", "Tỷ lệ mất gói tin", "—", "Chưa đạt"),
        ("20:00 09/03/2026", "Đánh giá chung", "—", "Chưa sẵn sàng"),
    ]
    english = history_view(read_ward_history(path, WARD, NOW, ZONE), ward, thresholds, ZONE,
                           "en")
    assert english["ready_since"]["text"] == "Ready since 00:30 10/03/2026 (7 hours)"


def test_changes_not_yet_written_are_shown_as_if_they_were(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite3"
    record(path, [(WARD, local(9, 20), VERDICT, None, "ready")])
    pending = [(WARD, local(10, 7), VERDICT, "ready", "not_ready"),
               (OTHER, local(10, 7), VERDICT, "ready", "not_ready")]

    history = read_ward_history(path, WARD, NOW, ZONE, pending)

    assert history.verdict is not None and history.verdict.after == "not_ready"
    assert [c.at for c in history.changes] == [local(10, 7), local(9, 20)]
    assert history.availability[0].ready_seconds == local(10, 7) - local(9, 20)


def test_pruning_keeps_the_newest_change_of_each_check(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite3"
    record(path, [(WARD, 100.0, "loss", None, "fail"), (WARD, 200.0, "loss", "fail", "pass"),
                  (WARD, 150.0, VERDICT, None, "ready"), (WARD, 900.0, "dns", None, "pass")])
    store = ReportStore(path)
    store.prune(older_than=500.0)
    left = store.last_states()
    asyncio.run(store.close())
    with sqlite3.connect(path) as db:
        rows = sorted(db.execute("SELECT at, subject FROM changes"))
    assert rows == [(150.0, VERDICT), (200.0, "loss"), (900.0, "dns")]
    assert left == {(WARD, "loss"): "pass", (WARD, VERDICT): "ready", (WARD, "dns"): "pass"}


async def test_the_collector_records_each_change_once_even_across_a_restart(
        tmp_path: Path) -> None:
    settings, tokens = settings_for(tmp_path)
    async with TestClient(TestServer(create_app(settings))) as client:
        app = client.server.app
        await push(client, tokens, WARD, healthy=False)
        app[STORE].record_changes(app[STATE].take_pending_changes())
        first = app[STORE].last_states()
    assert first[(WARD, "devices")] == "fail" and first[(WARD, VERDICT)] == "not_ready"
    assert (OTHER, VERDICT) not in first  # a ward that never reported has no history

    async with TestClient(TestServer(create_app(settings))) as client:
        app = client.server.app
        await push(client, tokens, WARD, healthy=False)
        assert app[STATE].take_pending_changes() == []  # nothing changed across the restart
        await push(client, tokens, WARD, healthy=True)
        changed = {(s, b, a) for _, _, s, b, a in app[STATE].pending_changes}
        assert {("devices", "fail", "pass"), (VERDICT, "not_ready", "ready")} <= changed
        page = await (await client.get(f"/ward/{WARD}?lang=vi")).text()
    assert 'id="ready-since"' in page and "Sẵn sàng từ" in page
    assert page.count('<tr data-subject="') >= 2
    assert 'id="latency-day-1"' in page and 'id="bandwidth-main"' in page


async def test_a_ward_without_history_says_so_in_words(tmp_path: Path) -> None:
    settings, _ = settings_for(tmp_path)
    async with TestClient(TestServer(create_app(settings))) as client:
        vietnamese = await (await client.get(f"/ward/{OTHER}?lang=vi")).text()
        english = await (await client.get(f"/ward/{OTHER}?lang=en")).text()
    assert "Chưa có lịch sử cho đơn vị này: chưa có số liệu đo nào được lưu." in vietnamese
    assert "No history for this ward yet: no measurement has been stored." in english
    assert "<svg" not in vietnamese.split('id="history"')[1]


def test_numbers_have_a_decimal_comma_in_vietnamese_and_a_point_in_english() -> None:
    assert milliseconds(0.0125, "vi") == "12,5 ms" and milliseconds(0.0125, "en") == "12.5 ms"
    assert megabits(5_765_000, "vi") == "46,12 Mbit/s"
    assert percent(0.005, "vi") == "0,5%" and percent(0.3, "en") == "30%"


# --- the demo's seeded week


def test_the_demo_seeds_a_week_every_graph_and_list_can_show(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite3"
    inventory = load_inventory(two_ward_inventory(tmp_path))
    wards = [SimulatedWard(WARD, "", "healthy", 12.5e6), SimulatedWard(OTHER, "", "lossy", 5e6)]

    written = asyncio.run(seed_history(path, inventory, wards, NOW))

    with sqlite3.connect(path) as db:
        assert db.execute("SELECT count(*) FROM reports").fetchone()[0] == written
        assert db.execute("SELECT count(*) FROM reports WHERE id NOT LIKE 'simulated-%'"
                          ).fetchone()[0] == 0
    for code, ready in ((WARD, "ready"), (OTHER, "not_ready")):
        history = read_ward_history(path, code, NOW, ZONE)
        assert all(series for _, _, series in history.latency.values())
        assert history.bandwidth[2]
        assert history.verdict is not None and history.verdict.after == ready
        assert history.changes and all(a.known_seconds > 0 for a in history.availability)
    lossy = read_ward_history(path, OTHER, NOW, ZONE).latency["day"][2]["core.city"]
    assert {round(p.loss or 0, 9) for p in lossy} == {0.3}


def test_an_absurd_figure_from_an_agent_still_draws_a_finite_chart(tmp_path: Path) -> None:
    # Found by the API fuzz test: an RTT of 1e308 s overflowed the axis to infinity.
    from collector.history_page import HIGHEST_AXIS, nice_ceiling

    assert [nice_ceiling(v) for v in (0.0, -1.0, float("nan"), 0.0123, 3e-7)] == [
        1.0, 1.0, 1.0, 0.02, 5e-7]
    assert nice_ceiling(float("inf")) == nice_ceiling(1.7e308 * 1.25) == HIGHEST_AXIS
    path = tmp_path / "db.sqlite3"
    huge = {"up": True, "host": "core", "sent": 10, "received": 10, "loss_ratio": 0.0,
            "rtt_min_seconds": 1.7e308, "rtt_avg_seconds": 1.7e308, "rtt_max_seconds": 1.7e308}
    store_reports(path, [
        StoredReport("h1", WARD, "icmp", "core", NOW - 600, json.dumps(huge)),
        bandwidth(1, WARD, NOW - 900, 1.7e308)])
    ward, thresholds = inventory_ward(tmp_path)
    view = history_view(read_ward_history(path, WARD, NOW, ZONE), ward, thresholds, ZONE, "vi")
    drawn = json.dumps(view)
    assert "Infinity" not in drawn and "NaN" not in drawn
