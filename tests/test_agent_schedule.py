"""The agent's rounds: the first at once, then one per interval tick, never stacked or stopped."""

from __future__ import annotations

import asyncio
import contextlib
import logging

import pytest

from ward_agent.runner import repeat

INTERVAL = 0.2
# Scheduling on a busy two-core machine.
SLACK = 0.08


class Rounds:
    """A round that notes when it started and how many ran at once."""

    def __init__(self, seconds: float = 0.0, fail: bool = False) -> None:
        self.seconds = seconds
        self.fail = fail
        self.starts: list[float] = []
        self.running = 0
        self.most_at_once = 0

    async def __call__(self) -> None:
        self.starts.append(asyncio.get_running_loop().time())
        self.running += 1
        self.most_at_once = max(self.most_at_once, self.running)
        try:
            await asyncio.sleep(self.seconds)
            if self.fail:
                raise RuntimeError("round broke")
        finally:
            self.running -= 1


async def run_for(seconds: float, rounds: Rounds, jitter: float = 0.0) -> float:
    """Run ``repeat`` for ``seconds``; the loop time it started at."""
    started = asyncio.get_running_loop().time()
    task = asyncio.create_task(repeat(INTERVAL, jitter, rounds, "test"))
    await asyncio.sleep(seconds)
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    return started


async def test_the_first_round_runs_at_once_then_one_per_interval() -> None:
    rounds = Rounds()
    started = await run_for(3.5 * INTERVAL, rounds)

    assert len(rounds.starts) == 4
    for tick, start in enumerate(rounds.starts):
        assert tick * INTERVAL <= start - started <= tick * INTERVAL + SLACK


async def test_jitter_starts_a_round_late_by_at_most_the_jitter() -> None:
    rounds = Rounds()
    jitter = INTERVAL / 4
    started = await run_for(4.5 * INTERVAL, rounds, jitter=jitter)

    assert len(rounds.starts) >= 4
    offsets = [start - started - tick * INTERVAL for tick, start in enumerate(rounds.starts)]
    assert all(0 <= offset <= jitter + SLACK for offset in offsets), offsets


async def test_an_overrunning_round_skips_the_ticks_it_covered() -> None:
    rounds = Rounds(seconds=2.5 * INTERVAL)
    started = await run_for(5.5 * INTERVAL, rounds)

    assert rounds.most_at_once == 1
    # Ticks 1 and 2 fall inside the first round, 4 and 5 inside the second.
    assert [round((s - started) / INTERVAL) for s in rounds.starts] == [0, 3]


async def test_a_failing_round_is_logged_and_the_next_runs_on_time(
    caplog: pytest.LogCaptureFixture,
) -> None:
    rounds = Rounds(fail=True)
    with caplog.at_level(logging.ERROR, logger="sansang.agent"):
        started = await run_for(1.5 * INTERVAL, rounds)

    assert len(rounds.starts) == 2
    assert INTERVAL <= rounds.starts[1] - started <= INTERVAL + SLACK
    assert "test round failed" in caplog.text
    assert "round broke" in caplog.text


async def test_a_probe_that_raises_is_a_failed_result_not_a_lost_round(
        monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    from probes import PROBES, ProbeKind
    from probes.dns import DnsConfig
    from ward_agent import runner
    from ward_agent.jobs import ProbeTarget

    async def broken(target: str, config: object, deadline: float) -> object:
        raise OverflowError("int too large to convert to float")

    monkeypatch.setitem(PROBES, "dns", ProbeKind("dns", PROBES["dns"].config_type,
                                                 PROBES["dns"].result_type, broken))
    target = ProbeTarget("platform.lab", "platform.lab", DnsConfig)
    with caplog.at_level(logging.ERROR, logger="sansang.agent"):
        result = await runner.run_target("dns", target, asyncio.get_running_loop().time() + 5)
    assert result.up is False and "OverflowError" in (result.error or "")
    assert "failed unexpectedly" in caplog.text
