"""The bandwidth probe and the collector's speed-test endpoints, on loopback.

Fast checks of behaviour: slots are granted in turn and never overlap, leases
lapse, failures are results, the token travels as a bearer and never prints.
Accuracy against iperf3 on shaped links is proved in test_lab_bandwidth.py.
"""

from __future__ import annotations

import asyncio
import json
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

import aiohttp
import pytest
from aiohttp import web
from pydantic import ValidationError

from collector.speedtest import SPEEDTEST, SpeedTestSlots, add_speedtest_routes
from probes import PROBES
from probes.bandwidth import BandwidthConfig, BandwidthResult, probe
from probes.base import deadline_in
from probes.secret import Secret

QUICK = BandwidthConfig(duration_seconds=0.3, warmup_seconds=0.1, streams=2, timeout_seconds=2)
TOKEN = "ward-79-token-0123456789"


@dataclass
class Server:
    url: str
    app: web.Application

    @property
    def slots(self) -> SpeedTestSlots:
        return self.app[SPEEDTEST]


ServerFactory = Callable[..., Awaitable[Server]]


@pytest.fixture
async def start_server() -> AsyncIterator[ServerFactory]:
    runners: list[web.AppRunner] = []

    async def start(**options: object) -> Server:
        app = web.Application()
        add_speedtest_routes(app, **options)  # type: ignore[arg-type]
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        runners.append(runner)
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = runner.addresses[0][1]
        return Server(f"http://127.0.0.1:{port}", app)

    yield start
    for runner in runners:
        await runner.cleanup()


async def test_probe_measures_download_and_upload_and_releases_its_slot(
    start_server: ServerFactory,
) -> None:
    server = await start_server()
    seen: list[tuple[str, float, float]] = []

    result = await probe(server.url, QUICK, deadline_in(20),
                         progress=lambda *update: seen.append(update))

    assert result.up, result.error
    assert result.download_bytes_per_second and result.download_bytes_per_second > 0
    assert result.upload_bytes_per_second and result.upload_bytes_per_second > 0
    assert result.download_bytes > 0 and result.upload_bytes > 0
    assert result.rtt_seconds is not None and result.rtt_seconds > 0
    assert result.streams == 2
    assert result.slot_wait_seconds is not None
    (record,) = server.slots.history
    assert record.end == "released"
    assert server.slots.busy == 0
    assert {phase for phase, _, _ in seen} <= {"download", "upload"}


async def test_two_probes_with_one_slot_take_turns_without_overlap(
    start_server: ServerFactory,
) -> None:
    server = await start_server(slots=1)

    first, second = await asyncio.gather(
        probe(server.url, QUICK, deadline_in(30)), probe(server.url, QUICK, deadline_in(30))
    )

    assert first.up and second.up, (first.error, second.error)
    a, b = sorted(server.slots.history, key=lambda r: r.granted_at)
    assert a.ended_at is not None and a.ended_at <= b.granted_at
    # The one that waited, waited for (at least) the other's two measured windows.
    assert max(first.slot_wait_seconds or 0, second.slot_wait_seconds or 0) >= 0.8


async def test_slots_are_granted_in_arrival_order() -> None:
    slots = SpeedTestSlots(1, max_seconds=5, lease_seconds=5)
    holder = await slots.acquire("first", 0)
    assert holder is not None
    order: list[str] = []

    async def wait_for_turn(agent: str) -> None:
        record = await slots.acquire(agent, 5)
        assert record is not None
        order.append(agent)
        slots.release(record.slot)

    waiters = [asyncio.create_task(wait_for_turn(f"agent{n}")) for n in range(4)]
    await asyncio.sleep(0.05)
    assert slots.waiting == 4
    slots.release(holder.slot)
    await asyncio.wait_for(asyncio.gather(*waiters), 5)

    assert order == ["agent0", "agent1", "agent2", "agent3"]


async def test_several_slots_run_side_by_side() -> None:
    slots = SpeedTestSlots(2, max_seconds=5)

    first = await slots.acquire("a", 0)
    second = await slots.acquire("b", 0)
    third = await slots.acquire("c", 0)

    assert first is not None and second is not None
    assert third is None


async def test_a_silent_agents_lease_lapses_and_the_next_agent_gets_the_slot() -> None:
    slots = SpeedTestSlots(1, max_seconds=5, lease_seconds=0.2)
    dead = await slots.acquire("dead agent", 0)
    assert dead is not None

    nxt = await slots.acquire("next agent", 3)

    assert nxt is not None
    assert dead.end == "lapsed"
    assert 0.1 <= nxt.waited_seconds < 3


async def test_a_busy_collector_is_a_failed_result_not_an_exception(
    start_server: ServerFactory,
) -> None:
    server = await start_server(slots=1)
    holder = await server.slots.acquire("someone else", 0)
    assert holder is not None
    # Enough deadline for the test itself, too little to wait for the slot.
    config = BandwidthConfig(duration_seconds=0.5, warmup_seconds=0.1, timeout_seconds=0.5)

    result = await probe(server.url, config, deadline_in(3.0))

    assert not result.up
    assert result.error and "slot" in result.error
    assert result.download_bytes_per_second is None


async def test_nothing_listening_is_a_failed_result(unused_tcp_port: int) -> None:
    result = await probe(f"http://127.0.0.1:{unused_tcp_port}", QUICK, deadline_in(10))

    assert not result.up
    assert result.error


async def test_a_deadline_too_short_for_the_test_fails_at_once(
    start_server: ServerFactory,
) -> None:
    server = await start_server()

    result = await probe(server.url, BandwidthConfig(duration_seconds=10), deadline_in(5))

    assert not result.up
    assert result.error and "deadline" in result.error
    assert server.slots.history == type(server.slots.history)()


async def test_a_target_that_is_not_a_url_fails_as_a_result() -> None:
    result = await probe("collector.example", QUICK, deadline_in(5))

    assert not result.up
    assert result.error and "URL" in result.error


async def test_the_token_travels_as_a_bearer_and_never_prints(
    start_server: ServerFactory,
) -> None:
    async def authorize(request: web.Request) -> str | None:
        return "26968" if request.headers.get("Authorization") == f"Bearer {TOKEN}" else None

    server = await start_server(authorize=authorize)
    good = QUICK.model_copy(update={"token": Secret(TOKEN)})
    bad = QUICK.model_copy(update={"token": Secret("wrong")})

    accepted = await probe(server.url, good, deadline_in(20))
    refused = await probe(server.url, bad, deadline_in(20))
    anonymous = await probe(server.url, QUICK, deadline_in(20))

    assert accepted.up, accepted.error
    assert not refused.up and "401" in (refused.error or "")
    assert not anonymous.up
    for text in (json.dumps(accepted.to_json()), json.dumps(refused.to_json()),
                 repr(good), good.model_dump_json()):
        assert TOKEN not in text


async def test_a_refused_upload_keeps_the_download_figure_and_says_why(
    start_server: ServerFactory,
) -> None:
    async def no_uploads(request: web.Request) -> str | None:
        return None if request.path == "/speedtest/upload" else "26968"

    server = await start_server(authorize=no_uploads)

    result = await probe(server.url, QUICK, deadline_in(20))

    assert not result.up
    assert result.error and "401" in result.error and "upload" in result.error
    assert result.download_bytes_per_second and result.download_bytes_per_second > 0
    assert result.upload_bytes_per_second is None
    assert server.slots.busy == 0


async def test_downloads_need_a_held_slot(start_server: ServerFactory) -> None:
    server = await start_server()

    async with aiohttp.ClientSession() as session:
        async with session.get(f"{server.url}/speedtest/download?slot=nope&seconds=1") as r:
            assert r.status == 409
        async with session.post(f"{server.url}/speedtest/upload?slot=nope", data=b"x") as r:
            assert r.status == 409


async def test_the_download_is_incompressible_and_the_upload_is_counted(
    start_server: ServerFactory,
) -> None:
    server = await start_server(max_seconds=1)

    async with aiohttp.ClientSession() as session:
        async with session.post(f"{server.url}/speedtest/slot", json={"wait_seconds": 1}) as r:
            slot = (await r.json())["slot"]
        url = f"{server.url}/speedtest/download?slot={slot}&seconds=0.2"
        async with session.get(url) as r:
            sample = await r.content.read(1 << 20)
        async with session.post(f"{server.url}/speedtest/upload?slot={slot}",
                                data=b"\0" * 300_000) as r:
            upload = await r.json()
        async with session.delete(f"{server.url}/speedtest/slot/{slot}") as r:
            assert r.status == 200
        async with session.get(f"{server.url}/speedtest/status") as r:
            status = await r.json()

    assert len(zlib.compress(sample)) > 0.99 * len(sample)
    assert upload["bytes"] == 300_000
    assert status["busy"] == 0 and status["history"][0]["end"] == "released"
    assert status["history"][0]["upload_bytes"] == 300_000


async def test_a_lapsed_slot_cannot_be_released_twice(start_server: ServerFactory) -> None:
    server = await start_server()

    async with aiohttp.ClientSession() as session:
        async with session.post(f"{server.url}/speedtest/slot", json={}) as r:
            slot = (await r.json())["slot"]
        async with session.delete(f"{server.url}/speedtest/slot/{slot}") as r:
            assert r.status == 200
        async with session.delete(f"{server.url}/speedtest/slot/{slot}") as r:
            assert r.status == 404
        async with session.post(f"{server.url}/speedtest/slot/{slot}/renew") as r:
            assert r.status == 404


@pytest.mark.parametrize("bad", [{"streams": 0}, {"streams": 17}, {"duration_seconds": 0},
                                 {"warmup_seconds": -1}, {"colour": "blue"}])
def test_config_rejects_nonsense(bad: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        BandwidthConfig(**bad)  # type: ignore[arg-type]


def test_bandwidth_is_a_registered_probe_kind() -> None:
    kind = PROBES["bandwidth"]
    assert kind.config_type is BandwidthConfig
    assert kind.result_type is BandwidthResult
    assert kind.run is probe
