"""Raw-socket probes share one socket per address family and event loop, on loopback only.

These need CAP_NET_RAW (root here); they ping 127.0.0.0/8 and ::1 and nothing else.
The lab tests (test_lab_icmp.py) check the same sharing against real delays.
"""

from __future__ import annotations

import asyncio
import os
import socket
import time
from collections.abc import Iterator

import pytest

from probes import icmp, icmp_socket
from tests.lab.require import unavailable

LOOPBACK_HOSTS = [f"127.0.0.{n}" for n in range(1, 61)]
CONFIG = icmp.IcmpConfig(count=4, interval_seconds=0.02, timeout_seconds=0.5)


@pytest.fixture(autouse=True)
def raw_sockets(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    if not icmp._has_cap_net_raw():
        unavailable("needs CAP_NET_RAW for raw ICMP sockets")
    monkeypatch.setattr(icmp, "socket_mode", lambda: "raw")
    yield
    assert icmp_socket.open_shared_sockets() == 0
    assert icmp_socket.identifiers.held() == 0


def open_files() -> int:
    return len(os.listdir("/proc/self/fd"))


def test_sixty_concurrent_probes_share_one_socket_and_lose_nothing() -> None:
    async def scenario() -> tuple[list[icmp.IcmpResult], set[int]]:
        seen: set[int] = set()

        async def watch() -> None:
            while True:
                seen.add(icmp_socket.open_shared_sockets())
                await asyncio.sleep(0.005)

        watcher = asyncio.create_task(watch())
        results = await icmp.probe_many(LOOPBACK_HOSTS, CONFIG, time.monotonic() + 10)
        watcher.cancel()
        return results, seen

    results, seen = asyncio.run(scenario())

    assert seen <= {0, 1} and 1 in seen
    assert [r.host for r in results] == LOOPBACK_HOSTS
    for result in results:
        assert (result.sent, result.received, result.loss_ratio) == (4, 4, 0.0), result
        assert result.socket == "raw" and result.error is None


def test_ipv4_and_ipv6_probes_each_have_their_family_s_socket() -> None:
    async def scenario() -> list[icmp.IcmpResult]:
        return await icmp.probe_many(["127.0.0.1", "::1", "127.0.0.2"], CONFIG,
                                     time.monotonic() + 10)

    results = asyncio.run(scenario())

    assert [(r.host, r.received) for r in results] == [("127.0.0.1", 4), ("::1", 4),
                                                       ("127.0.0.2", 4)]


def test_the_socket_is_closed_after_the_last_probe_and_a_new_loop_opens_its_own() -> None:
    before = open_files()
    for _ in range(3):
        # asyncio.run: a new event loop each time, as the tests and the bench do.
        (result,) = asyncio.run(icmp.probe_many(["127.0.0.1"], CONFIG, time.monotonic() + 10))
        assert result.received == 4
        assert icmp_socket.open_shared_sockets() == 0
    assert open_files() == before


def test_probes_one_after_another_on_one_loop_each_find_a_working_socket() -> None:
    async def scenario() -> list[icmp.IcmpResult]:
        return [await icmp.probe(host, CONFIG, time.monotonic() + 10)
                for host in LOOPBACK_HOSTS[:5]]

    assert [r.received for r in asyncio.run(scenario())] == [4] * 5


def test_a_reply_to_a_probe_that_has_finished_is_dropped_without_disturbing_the_others() -> None:
    async def scenario() -> tuple[icmp.IcmpResult, int, list[object]]:
        problems: list[object] = []
        asyncio.get_running_loop().set_exception_handler(lambda _loop, c: problems.append(c))
        running = asyncio.create_task(icmp.probe("127.0.0.1", CONFIG, time.monotonic() + 10))
        await asyncio.sleep(0.005)
        # Leaves before its reply can be read; the running probe keeps the socket open.
        finished = icmp_socket.join(socket.AF_INET, ("127.0.0.1", 0))
        assert finished.send(0, bytes(56)) is not None
        finished.close()
        result = await running
        return result, finished.arrivals.qsize(), problems

    result, delivered, problems = asyncio.run(scenario())

    assert (result.sent, result.received) == (4, 4)
    assert delivered == 0
    assert problems == []


def test_a_reply_from_another_address_than_the_one_pinged_is_not_counted() -> None:
    async def scenario() -> int:
        echo = icmp_socket.join(socket.AF_INET, ("127.0.0.3", 0))
        try:
            # Sent to 127.0.0.2, so the reply carries this probe's identifier and
            # sequence but comes from an address it did not ping.
            echo.address = ("127.0.0.2", 0)
            assert echo.send(0, bytes(56)) is not None
            await asyncio.sleep(0.1)
            return echo.arrivals.qsize()
        finally:
            echo.close()

    assert asyncio.run(scenario()) == 0


def test_identifiers_are_unique_while_held_and_not_reused_at_once() -> None:
    pool = icmp_socket._Identifiers()
    held = [pool.take() for _ in range(1000)]
    assert len(set(held)) == 1000
    pool.give_back(held[0])
    assert pool.take() not in held
    while pool.held() < icmp_socket.IDENTIFIERS:
        pool.take()
    with pytest.raises(icmp_socket.NoFreeIdentifier):
        pool.take()
    pool.give_back(held[500])
    assert pool.take() == held[500]
