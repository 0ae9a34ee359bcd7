"""Nothing lost: collector outages, crashes of either side and a full spool, with real processes.

The collector and the agent run as subprocesses (tests/lab/servers.py) and are
stopped or killed for real. What each side holds is read from its own SQLite
file: the collector's ``reports`` table (``id`` is its primary key) and the
agent's spool, whose AUTOINCREMENT ``seq`` counts every report ever spooled.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import re
import sqlite3
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from collector.app import VERDICT_REFRESH_SECONDS, VERDICT_SPACING_SECONDS
from inventory import DEFAULT_INVENTORY, load_inventory
from probes.secret import Secret
from tests.lab.servers import (
    free_port,
    http_post_json,
    issue_tokens,
    running_agent,
    running_collector,
    running_prometheus,
    stop_process,
    wait_until,
)
from ward_agent.pusher import Pusher
from ward_agent.spool import Spool

WARD = "26968"


# --- reading what each side holds


def stored_ids(database: Path, ward: str = WARD) -> list[str]:
    """Every report id the collector's store holds for ``ward`` (one row per stored report)."""
    with contextlib.closing(sqlite3.connect(database, timeout=10)) as db:
        return [row[0] for row in db.execute("SELECT id FROM reports WHERE ward = ?", (ward,))]


def stored_ids_measured_between(database: Path, start: float, end: float) -> list[str]:
    with contextlib.closing(sqlite3.connect(database, timeout=10)) as db:
        rows = db.execute("SELECT id FROM reports WHERE ward = ? AND measured_at BETWEEN ? AND ?",
                          (WARD, start, end))
        return [row[0] for row in rows]


@dataclass(frozen=True)
class SpooledRow:
    seq: int
    id: str
    measured_at: float
    size: int


def spool_rows(path: Path) -> list[SpooledRow]:
    """The agent's spool as it is on disk now (empty before the agent created it)."""
    if not path.exists():
        return []
    with contextlib.closing(sqlite3.connect(path, timeout=10)) as db:
        try:
            rows = db.execute("SELECT seq, id, measured_at, size FROM spool ORDER BY seq")
            return [SpooledRow(*row) for row in rows]
        except sqlite3.OperationalError:  # the agent has not created its tables yet
            return []


def spool_totals(path: Path) -> tuple[int, int]:
    """(reports ever spooled, the spool's own dropped counter)."""
    with contextlib.closing(sqlite3.connect(path, timeout=10)) as db:
        ever = db.execute("SELECT seq FROM sqlite_sequence WHERE name = 'spool'").fetchone()
        dropped = db.execute("SELECT value FROM counters WHERE name = 'dropped'").fetchone()
    return (int(ever[0]) if ever else 0), (int(dropped[0]) if dropped else 0)


def icmp_report(measured_at: float, ward: str = WARD) -> dict[str, Any]:
    return {
        "id": uuid.uuid4().hex, "ward": ward, "measured_at": measured_at, "kind": "icmp",
        "target": "127.0.0.1",
        "result": {"up": True, "host": "127.0.0.1", "sent": 3, "received": 3,
                   "loss_ratio": 0.0, "rtt_avg_seconds": 0.0004},
    }


# --- a recording proxy between the agent and the collector


@dataclass
class Exchange:
    """One push as it passed the proxy: the ids sent, and the collector's answer."""

    sent_ids: list[str]
    status: int
    body: Any


# Called in the proxy's handler thread with (index of the exchange, the exchange)
# after the collector answered and before the agent hears the answer.
AnswerHook = Callable[[int, Exchange], None]


@dataclass
class RecordingProxy:
    url: str
    exchanges: list[Exchange] = field(default_factory=list)


@contextlib.contextmanager
def recording_proxy(upstream: str, port: int | None = None,
                    before_answer: AnswerHook | None = None) -> Iterator[RecordingProxy]:
    """Forward pushes to ``upstream`` and record every answer; ``before_answer`` may hold one."""
    lock = threading.Lock()
    port = port or free_port()
    proxy = RecordingProxy(f"http://127.0.0.1:{port}")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            try:
                sent = [str(r.get("id")) for r in json.loads(raw)["reports"]]
            except (ValueError, KeyError, TypeError, AttributeError):
                sent = []
            request = urllib.request.Request(
                upstream + self.path, data=raw, method="POST",
                headers={"Content-Type": "application/json",
                         "Authorization": self.headers.get("Authorization", "")})
            try:
                with urllib.request.urlopen(request, timeout=30) as response:
                    status, payload, headers = response.status, response.read(), response.headers
            except urllib.error.HTTPError as exc:
                status, payload, headers = exc.code, exc.read(), exc.headers
            except (OSError, http.client.HTTPException):
                # The collector is unreachable: so is the proxy, as far as the agent knows.
                self.close_connection = True
                return
            exchange = Exchange(sent, status, json.loads(payload or b"null"))
            with lock:
                proxy.exchanges.append(exchange)
                index = len(proxy.exchanges) - 1
            if before_answer is not None:
                before_answer(index, exchange)
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                if headers.get("Retry-After"):
                    self.send_header("Retry-After", headers["Retry-After"])
                self.end_headers()
                self.wfile.write(payload)
            except OSError:
                pass  # the agent is gone (killed while waiting for this answer)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, name="recording-proxy", daemon=True)
    thread.start()
    try:
        yield proxy
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)


# --- the outage


OUTAGE_SECONDS = 60.0
PROBE_INTERVAL = 2.0
SCRAPE_INTERVAL = 1.0
ICMP_BUDGET = 3 * (0.05 + 0.5) + 1  # the agent's deadline for one icmp round (jobs.py)


def test_a_60_second_collector_outage_loses_nothing_and_prometheus_sees_the_ward_current_again(
    tmp_path: Path,
) -> None:
    collector_dir, agent_dir = tmp_path / "collector", tmp_path / "agent"
    database, spool_path = collector_dir / "collector.sqlite3", agent_dir / "spool.sqlite3"
    collector_args = ["--report-interval", str(PROBE_INTERVAL)]
    with contextlib.ExitStack() as stack:
        first = stack.enter_context(running_collector(collector_dir, [WARD],
                                                      extra_args=collector_args))
        port = int(first.url.rsplit(":", 1)[1])
        stack.enter_context(running_agent(agent_dir, {
            "ward": WARD, "collector_url": first.url,
            "token_file": str(first.token_file(WARD)),
            "icmp": {"targets": ["127.0.0.1"], "interval_seconds": PROBE_INTERVAL, "count": 3,
                     "packet_interval_seconds": 0.05, "timeout_seconds": 0.5},
            "spool": {"path": str(spool_path)},
            # A short backoff ceiling so the agent notices the collector's return quickly.
            "push": {"interval_seconds": 1, "max_backoff_seconds": 4},
            "jitter_seconds": 0.2,
        }))
        prometheus = stack.enter_context(running_prometheus(
            tmp_path / "prometheus", [f"127.0.0.1:{port}"], scrape_interval="1s"))
        last_report = f'sansang_agent_last_report_timestamp_seconds{{ward="{WARD}"}}'
        prometheus.wait_for(last_report, 60)

        stop_process(first.process)
        outage_started = time.time()
        time.sleep(OUTAGE_SECONDS)
        backlog = spool_rows(spool_path)
        snapshot_at = time.time()

        assert backlog, "the agent spooled nothing during the outage"
        with running_collector(collector_dir, [WARD], port=port, tokens=first.tokens,
                               extra_args=collector_args):
            restarted_at = time.time()
            backlog_ids = {r.id for r in backlog}
            newest = max(r.measured_at for r in backlog)
            # Measured: drained is the first moment the store holds the whole backlog;
            # current is the first moment Prometheus's own instant query returns a last
            # report time at least as new as the newest backlog report.
            drained_at = current_at = None
            deadline = time.monotonic() + 60
            while current_at is None and time.monotonic() < deadline:
                now = time.time()
                if drained_at is None and backlog_ids <= set(stored_ids(database)):
                    drained_at = now
                if drained_at is not None and prometheus.query(f"{last_report} >= {newest!r}"):
                    current_at = now
                time.sleep(0.05)
            assert drained_at is not None, "the backlog never reached the collector's store"
            assert current_at is not None, "Prometheus never saw the newest backlog report"
            age = prometheus.query(f"time() - {last_report}")
            # The verdict follows the data: the collector re-judges changed wards every
            # second (VERDICT_REFRESH_SECONDS), a ward judged just before at most every
            # VERDICT_SPACING_SECONDS, then the next scrape carries it.
            agent_check = prometheus.wait_for(
                f'sansang_ward_check_ok{{ward="{WARD}",check="agent"}} == 1',
                VERDICT_REFRESH_SECONDS + VERDICT_SPACING_SECONDS + 2 * SCRAPE_INTERVAL + 1)
            # Exactly once: the outage window's reports in the store are the spool's, one each.
            window_end = snapshot_at - ICMP_BUDGET
            in_spool = sorted(r.id for r in backlog if outage_started <= r.measured_at
                              <= window_end)
            in_store = sorted(stored_ids_measured_between(database, outage_started, window_end))

    print(f"outage {OUTAGE_SECONDS:.0f} s: backlog {len(backlog)} reports "
          f"({len(in_spool)} measured in the window), stored {len(in_store)}; "
          f"drained {drained_at - restarted_at:.2f} s after the restart; Prometheus current "
          f"{current_at - drained_at:.2f} s after the drain; age then {age[0]['value'][1]} s")
    assert len(in_spool) >= 0.8 * (window_end - outage_started) / PROBE_INTERVAL, len(in_spool)
    assert in_store == in_spool
    assert len(set(stored_ids(database))) == len(stored_ids(database))
    assert current_at - drained_at <= 2 * SCRAPE_INTERVAL
    # Current means what the agent check means: a report within its last 3 probe intervals.
    assert float(age[0]["value"][1]) < 3 * PROBE_INTERVAL
    assert agent_check[0]["value"][1] == "1"  # within a refresh and two scrapes


# --- kill -9 of the agent while it flushes its backlog


BACKLOG = 1000
BATCH = 100


def test_an_agent_killed_mid_flush_loses_nothing_and_its_resent_batch_is_not_stored_twice(
    tmp_path: Path,
) -> None:
    agent_dir = tmp_path / "agent"
    spool_path, database = agent_dir / "spool.sqlite3", tmp_path / "collector" / "collector.sqlite3"
    # The backlog an outage leaves, written through the agent's own spool.
    spool = Spool(spool_path, 64 << 20, 7 * 86400)
    start = time.time() - BACKLOG
    backlog = [icmp_report(start + i) for i in range(BACKLOG)]
    for report in backlog:
        spool.put(report)
    spool.close()
    backlog_ids = {r["id"] for r in backlog}

    held, release = threading.Event(), threading.Event()
    full_batches_answered = 0
    held_index: int | None = None

    def hold_the_third_full_batch(index: int, exchange: Exchange) -> None:
        # The collector has committed this batch; the agent dies before it hears so.
        nonlocal full_batches_answered, held_index
        if exchange.status == 200 and len(exchange.sent_ids) == BATCH and held_index is None:
            full_batches_answered += 1
            if full_batches_answered == 3:
                held_index = index
                held.set()
                release.wait(30)

    with (
        running_collector(tmp_path / "collector", [WARD]) as collector,
        recording_proxy(collector.url, before_answer=hold_the_third_full_batch) as proxy,
    ):
        config = {
            "ward": WARD, "collector_url": proxy.url,
            "token_file": str(collector.token_file(WARD)),
            "icmp": {"targets": ["127.0.0.1"], "interval_seconds": 1, "count": 1,
                     "timeout_seconds": 0.5},
            "spool": {"path": str(spool_path)},
            "push": {"interval_seconds": 1, "batch_size": BATCH, "max_batches_per_second": 5,
                     "max_backoff_seconds": 2},
            "jitter_seconds": 0.1,
        }
        try:
            with running_agent(agent_dir, config) as agent:
                assert held.wait(60), "the agent never flushed three full batches"
                agent.kill()
                agent.wait(10)
        finally:
            release.set()
        assert held_index is not None
        in_flight = set(proxy.exchanges[held_index].sent_ids)
        spooled_after_kill = {r.id for r in spool_rows(spool_path)}
        stored_after_kill = set(stored_ids(database))
        exchanges_before_restart = len(proxy.exchanges)

        with running_agent(agent_dir, config):
            wait_until(lambda: backlog_ids <= set(stored_ids(database))
                       and not backlog_ids & {r.id for r in spool_rows(spool_path)},
                       60, what="the backlog drained after the restart")
        # The agent is stopped: nothing moves any more.
        stored = stored_ids(database)
        left = {r.id for r in spool_rows(spool_path)}
        ever_spooled, dropped = spool_totals(spool_path)
        exchanges = list(proxy.exchanges)

    resent = [e for e in exchanges[exchanges_before_restart:] if e.status == 200
              and e.body["duplicates"]]
    print(f"agent kill -9 mid-flush: backlog {BACKLOG}, {len(backlog_ids & stored_after_kill)} "
          f"stored before the kill ({len(in_flight)} committed but unheard), "
          f"{len(set(stored))} stored in the end, {len(left)} left in the spool, "
          f"duplicates acknowledged {sum(e.body['duplicates'] for e in resent)}")
    # The kill hit the window that matters: committed at the collector, still in the spool.
    assert in_flight <= stored_after_kill
    assert in_flight <= spooled_after_kill
    assert not backlog_ids <= stored_after_kill
    # Nothing lost: the whole backlog is stored, and every report ever spooled (the
    # backlog and what the agent measured meanwhile) is stored or still spooled.
    assert backlog_ids <= set(stored)
    assert (dropped, len(set(stored) | left)) == (0, ever_spooled)
    # None stored twice: one row per id, and the resent batch acknowledged as duplicates.
    assert len(stored) == len(set(stored))
    assert sum(e.body["stored"] for e in exchanges if e.status == 200) == len(stored)
    assert [(set(e.sent_ids), set(e.body["acknowledged"]), e.body["stored"],
             e.body["duplicates"]) for e in resent] == [(in_flight, in_flight, 0, len(in_flight))]


# --- kill -9 of the collector during a burst of pushes


def test_every_report_the_collector_acknowledged_survives_its_kill_9(tmp_path: Path) -> None:
    wards = list(load_inventory(DEFAULT_INVENTORY).wards)[:4]
    directory = tmp_path / "collector"
    acknowledged: set[str] = set()
    sent: set[str] = set()
    failed_in_flight = 0
    killed_at: float | None = None
    stop = threading.Event()
    lock = threading.Lock()

    def post_batches(url: str, ward: str, token: str) -> None:
        nonlocal failed_in_flight
        while not stop.is_set():
            reports = [icmp_report(time.time(), ward) for _ in range(25)]
            ids = [r["id"] for r in reports]
            with lock:
                sent.update(ids)
            started = time.time()
            try:
                status, body = http_post_json(url + "/api/v1/reports", {"reports": reports},
                                              headers={"Authorization": f"Bearer {token}"})
            except (OSError, http.client.HTTPException):
                with lock:
                    if killed_at is not None and started <= killed_at:
                        failed_in_flight += 1
                time.sleep(0.05)
                continue
            if status == 200:
                with lock:
                    acknowledged.update(body["acknowledged"])

    with running_collector(directory, wards,
                           extra_args=["--rate", "10000", "--rate-burst", "10000"]) as collector:
        port = int(collector.url.rsplit(":", 1)[1])
        threads = [threading.Thread(target=post_batches, daemon=True,
                                    args=(collector.url, wards[i % len(wards)],
                                          collector.tokens[wards[i % len(wards)]]))
                   for i in range(8)]
        for thread in threads:
            thread.start()
        try:
            wait_until(lambda: len(acknowledged) >= 40 * 25, 30, interval=0.01,
                       what="a burst of acknowledged pushes")
            killed_at = time.time()
            collector.process.kill()
            collector.process.wait(10)
            time.sleep(0.5)
        finally:
            stop.set()
            for thread in threads:
                thread.join(15)
        with lock:
            acked_before_kill = set(acknowledged)

    with running_collector(directory, wards, port=port, tokens=collector.tokens):
        stored: set[str] = set()
        for ward in wards:
            stored.update(stored_ids(directory / "collector.sqlite3", ward))

    print(f"collector kill -9 mid-burst: {len(sent)} sent, {len(acked_before_kill)} acknowledged, "
          f"{len(stored)} stored after the restart ({len(stored - acked_before_kill)} committed "
          f"but unacknowledged), {failed_in_flight} requests cut off in flight")
    assert failed_in_flight > 0, "the kill did not hit the burst"
    assert acked_before_kill <= stored
    assert stored <= sent


# --- the spool's limit during an outage


SPOOL_BYTES = 64 * 1024
TARGETS = [f"127.0.0.{i}" for i in range(1, 41)]


@contextlib.contextmanager
def sampling(spool_path: Path) -> Iterator[list[list[SpooledRow]]]:
    """The spool's rows every 0.1 s, from a thread, while the block runs."""
    samples: list[list[SpooledRow]] = []
    stop = threading.Event()

    def sample() -> None:
        while not stop.wait(0.1):
            samples.append(spool_rows(spool_path))

    thread = threading.Thread(target=sample, name="spool-sampler", daemon=True)
    thread.start()
    try:
        yield samples
    finally:
        stop.set()
        thread.join(10)


def dropped_metric(metrics: str) -> int | None:
    match = re.search(rf'^sansang_agent_dropped_reports_total{{ward="{WARD}"}} (\S+)$', metrics,
                      re.MULTILINE)
    return int(float(match.group(1))) if match else None


def test_a_full_spool_keeps_the_newest_and_the_collector_shows_the_exact_dropped_count(
    tmp_path: Path,
) -> None:
    agent_dir = tmp_path / "agent"
    spool_path, database = agent_dir / "spool.sqlite3", tmp_path / "collector" / "collector.sqlite3"
    collector_port, proxy_port = free_port(), free_port()
    token_dir = tmp_path / "collector"
    token_dir.mkdir()
    tokens = issue_tokens(token_dir / "tokens.yaml", [WARD])
    token_file = token_dir / f"token-{WARD}"
    token_file.write_text(tokens[WARD] + "\n")

    def slow_first_answer(index: int, exchange: Exchange) -> None:
        # A slow line: new rounds arrive while the first batch from the full spool is on its way.
        if index == 0:
            time.sleep(1.5)

    config = {
        "ward": WARD, "collector_url": f"http://127.0.0.1:{proxy_port}",
        "token_file": str(token_file),
        "icmp": {"targets": TARGETS, "interval_seconds": 1, "count": 1, "timeout_seconds": 0.5},
        "spool": {"path": str(spool_path), "max_bytes": SPOOL_BYTES},
        "push": {"interval_seconds": 1, "max_backoff_seconds": 2},
        "jitter_seconds": 0,
    }
    with running_agent(agent_dir, config) as agent, sampling(spool_path) as samples:
        # The collector is not there: the spool fills, then drops its oldest.
        wait_until(lambda: spool_path.exists() and spool_totals(spool_path)[1] >= 3 * len(TARGETS),
                   60, what="the spool dropping reports")
        with (
            running_collector(token_dir, [WARD], port=collector_port, tokens=tokens) as collector,
            recording_proxy(collector.url, port=proxy_port, before_answer=slow_first_answer),
        ):
            wait_until(lambda: stored_ids(database)
                       and sum(r.size for r in spool_rows(spool_path)) < SPOOL_BYTES // 2,
                       30, what="the kept reports delivered")
            shown: list[int | None] = []

            def metric_caught_up() -> bool:
                shown.append(dropped_metric(collector.metrics()))
                return shown[-1] == spool_totals(spool_path)[1]

            wait_until(metric_caught_up, 15, what="the dropped count in /metrics")
            # The final figures are read with the agent stopped, so nothing moves meanwhile.
            stop_process(agent)
            ever, dropped = spool_totals(spool_path)
            stored = set(stored_ids(database))
            left = {r.id for r in spool_rows(spool_path)}
    kept = stored | left
    seen = {r.id: r.seq for rows in samples for r in rows}
    seen_dropped = [seq for rid, seq in seen.items() if rid not in kept]
    seen_kept = [seq for rid, seq in seen.items() if rid in kept]
    print(f"spool limit {SPOOL_BYTES} B: {ever} spooled, {len(kept)} kept "
          f"({len(stored)} stored, {len(left)} still spooled), {dropped} dropped; "
          f"/metrics shows {shown[-1]}")
    assert dropped > 0
    assert max(sum(r.size for r in rows) for rows in samples) <= SPOOL_BYTES
    assert dropped == ever - len(kept)
    assert shown[-1] == dropped
    # The newest were kept: every report seen and dropped is older than every one seen and kept.
    assert seen_dropped and max(seen_dropped) < min(seen_kept)


def padded_report() -> dict[str, Any]:
    return {**icmp_report(time.time()), "padding": "x" * 1000}


@pytest.mark.parametrize(("answer", "counted_in_flight"), [(200, 0), (503, 10)])
async def test_reports_dropped_while_their_batch_is_on_its_way_count_only_when_not_delivered(
    tmp_path: Path, answer: int, counted_in_flight: int
) -> None:
    spool = Spool(tmp_path / "spool.sqlite3", SPOOL_BYTES, 3600)
    while spool.dropped == 0:
        spool.put(padded_report())
    full_dropped = spool.dropped

    async def ingest(request: web.Request) -> web.Response:
        sent = [r["id"] for r in (await request.json())["reports"]]
        # Ten rounds arrive while the batch is on its way: the full spool drops its oldest,
        # which are the very reports of this batch.
        for _ in range(10):
            spool.put(padded_report())
        if answer != 200:
            return web.json_response({"error": "busy"}, status=answer)
        return web.json_response({"acknowledged": sent, "stored": len(sent), "duplicates": 0})

    app = web.Application()
    app.router.add_post("/api/v1/reports", ingest)
    try:
        async with TestServer(app) as server, aiohttp.ClientSession() as session:
            pusher = Pusher(spool, str(server.make_url("/")), Secret("token"))
            await pusher.push_once(session)
        assert spool.dropped == full_dropped + counted_in_flight
    finally:
        spool.close()


# --- an agent the collector does not (yet) let in


def test_an_agent_refused_for_its_token_keeps_its_reports_until_it_is_let_in(
    tmp_path: Path,
) -> None:
    agent_dir = tmp_path / "agent"
    spool_path, database = agent_dir / "spool.sqlite3", tmp_path / "collector" / "collector.sqlite3"
    with running_collector(tmp_path / "collector", [WARD]) as collector:
        # A token the collector does not know: rotated on one side only, or mistyped.
        token_file = agent_dir / "token"
        agent_dir.mkdir()
        token_file.write_text(uuid.uuid4().hex + "\n")
        config = {
            "ward": WARD, "collector_url": collector.url, "token_file": str(token_file),
            "icmp": {"targets": ["127.0.0.1"], "interval_seconds": 1, "count": 1,
                     "timeout_seconds": 0.5},
            "spool": {"path": str(spool_path)},
            "push": {"interval_seconds": 1, "max_backoff_seconds": 2},
            "jitter_seconds": 0,
        }
        assert collector.log_path is not None
        with running_agent(agent_dir, config):
            wait_until(lambda: collector.log_path is not None
                       and collector.log_path.read_text().count('"POST /api/v1/reports') >= 3,
                       30, what="three refused pushes")
        refused = {r.id for r in spool_rows(spool_path)}
        ever_refused, _ = spool_totals(spool_path)
        assert stored_ids(database) == []
        token_file.write_text(collector.tokens[WARD] + "\n")
        with running_agent(agent_dir, config):
            wait_until(lambda: refused <= set(stored_ids(database)), 30,
                       what="the refused reports stored once the token is right")
        stored = set(stored_ids(database))
        left = {r.id for r in spool_rows(spool_path)}
        ever, dropped = spool_totals(spool_path)
    print(f"refused token: {ever_refused} spooled while refused, {len(refused)} still spooled "
          f"when the token was fixed, {len(stored)} stored in the end")
    assert len(refused) == ever_refused
    assert (dropped, len(stored | left)) == (0, ever)


def test_a_batch_too_large_for_the_collector_is_split_never_thrown_away(tmp_path: Path) -> None:
    agent_dir = tmp_path / "agent"
    spool_path, database = agent_dir / "spool.sqlite3", tmp_path / "collector" / "collector.sqlite3"
    spool = Spool(spool_path, 64 << 20, 7 * 86400)
    start = time.time() - 600
    backlog = []
    for i in range(300):
        report = icmp_report(start + i)
        report["result"]["rtts_seconds"] = [0.0004] * 100  # about 2 KB a report
        backlog.append(report)
        spool.put(report)
    spool.close()
    with running_collector(tmp_path / "collector", [WARD],
                           extra_args=["--max-body-bytes", str(64 * 1024)]) as collector:
        config = {
            "ward": WARD, "collector_url": collector.url,
            "token_file": str(collector.token_file(WARD)),
            "spool": {"path": str(spool_path)},
            "push": {"interval_seconds": 1, "batch_size": 200, "max_batches_per_second": 10,
                     "max_backoff_seconds": 1},
        }
        with running_agent(agent_dir, config):
            wait_until(lambda: not spool_rows(spool_path), 60, what="the backlog delivered")
        assert collector.log_path is not None
        too_large = collector.log_path.read_text().count('"POST /api/v1/reports" 413')
        stored = stored_ids(database)
    print(f"413 split: {too_large} pushes refused as too large, {len(stored)} of "
          f"{len(backlog)} stored")
    assert too_large > 0
    assert sorted(stored) == sorted(r["id"] for r in backlog)


def test_a_rate_limited_agent_waits_as_told_and_loses_nothing(tmp_path: Path) -> None:
    agent_dir = tmp_path / "agent"
    spool_path, database = agent_dir / "spool.sqlite3", tmp_path / "collector" / "collector.sqlite3"
    spool = Spool(spool_path, 64 << 20, 7 * 86400)
    backlog = [icmp_report(time.time() - 600 + i) for i in range(400)]
    for report in backlog:
        spool.put(report)
    spool.close()
    with running_collector(tmp_path / "collector", [WARD],
                           extra_args=["--rate", "1", "--rate-burst", "1"]) as collector:
        config = {
            "ward": WARD, "collector_url": collector.url,
            "token_file": str(collector.token_file(WARD)),
            "spool": {"path": str(spool_path)},
            "push": {"interval_seconds": 1, "batch_size": 100, "max_batches_per_second": 10},
        }
        with running_agent(agent_dir, config):
            wait_until(lambda: not spool_rows(spool_path), 60, what="the backlog delivered")
        assert collector.log_path is not None
        limited = collector.log_path.read_text().count('"POST /api/v1/reports" 429')
        stored = stored_ids(database)
    print(f"rate limit: {limited} pushes answered 429, {len(stored)} of {len(backlog)} stored")
    assert limited > 0
    assert sorted(stored) == sorted(r["id"] for r in backlog)
