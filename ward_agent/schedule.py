"""The agent's schedule on APScheduler: each job's rounds on an interval or in a time window.

One running round per job, overruns coalesced (a round still running at its next
time skips that time), failures logged and the next round on time. Windows are
cron expressions read in the ward's time zone, checked when the config loads.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import re
from collections.abc import Awaitable, Callable
from zoneinfo import ZoneInfo

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

log = logging.getLogger("sansang.agent")

CRON_FIELDS = ("minute", "hour", "day", "month", "day_of_week")
# A windowed round that cannot start within this long of its time (the machine was
# asleep, the loop stalled) is dropped: run later, it could land outside its window.
WINDOW_GRACE_SECONDS = 60


def window_trigger(expression: str, zone: ZoneInfo, jitter_seconds: float = 0.0) -> CronTrigger:
    """The trigger of a window written as a five-field crontab expression, in ``zone``.

    The window is a CronTrigger, not an interval restricted to the window: the
    expression says both when and how often (``*/30 19-23 * * *``), the same every
    day whenever the agent started, and APScheduler 3's AndTrigger, which would
    combine an interval with a window, searches without end when the two never meet.
    Raises ValueError with what was expected, one line.
    """
    fields = expression.split()
    if len(fields) != len(CRON_FIELDS):
        raise ValueError(
            f"a cron expression of five fields (minute hour day month day-of-week) such as "
            f"'0 20-23 * * *', got {expression!r} ({len(fields)} field(s))")
    if re.search(r"\d", fields[4]):
        # APScheduler 3 numbers weekdays from Monday=0 where cron has Sunday=0, so a
        # number would silently shift the window by a day; names mean the same in both.
        raise ValueError(
            f"the day of week by name (mon-fri, sat,sun) in {expression!r}, not by number "
            f"({fields[4]!r})")
    try:
        trigger = CronTrigger(**dict(zip(CRON_FIELDS, fields, strict=True)), timezone=zone,
                              jitter=jitter_seconds or None)
    except ValueError as exc:
        raise ValueError(f"a valid cron expression, got {expression!r}: {exc}") from None
    if trigger.get_next_fire_time(None, dt.datetime.now(zone)) is None:
        raise ValueError(f"a cron expression that matches some time; {expression!r} never does")
    return trigger


class IntervalTicks(IntervalTrigger):
    """An IntervalTrigger whose jitter delays one round without moving the rounds after it.

    APScheduler 3's IntervalTrigger adds the interval to the previous fire time with
    its jitter in it, so the delays add up: rounds come ``interval + U(0, jitter)``
    apart and drift off their ticks (2 s of jitter on 60 s adds about 24 minutes a day).
    """

    def get_next_fire_time(self, previous_fire_time: dt.datetime | None,
                           now: dt.datetime) -> dt.datetime | None:
        if previous_fire_time is None:
            return super().get_next_fire_time(None, now)
        # Without a previous fire time the trigger counts ticks from its start date: the
        # first tick after the previous round's is the one the next round belongs to.
        return super().get_next_fire_time(None, previous_fire_time + TICK_TOLERANCE)


# Past a tick by this much, a round is on that tick (fire times are rounded to microseconds).
TICK_TOLERANCE = dt.timedelta(milliseconds=1)


def interval_trigger(interval_seconds: float, zone: ZoneInfo,
                     jitter_seconds: float = 0.0) -> IntervalTicks:
    """Ticks every ``interval_seconds`` from now, each round up to ``jitter_seconds`` late."""
    return IntervalTicks(seconds=interval_seconds, timezone=zone, jitter=jitter_seconds or None)


class Schedule:
    """The agent's jobs on one AsyncIOScheduler, started inside the running loop."""

    def __init__(self, zone: ZoneInfo) -> None:
        self.zone = zone
        self._scheduler = AsyncIOScheduler(timezone=zone)
        self._running: set[asyncio.Task[object]] = set()

    def add(self, name: str, round_: Callable[[], Awaitable[None]], trigger: BaseTrigger,
            *, at_once: bool) -> None:
        """Run ``round_`` on ``trigger``; with ``at_once`` the first round runs now,
        so a fresh agent shows up at once instead of an interval later."""

        async def logged() -> None:
            task = asyncio.current_task()
            assert task is not None  # APScheduler runs a coroutine job in a task of its own
            self._running.add(task)
            try:
                await round_()
            except asyncio.CancelledError:
                # Only a stopping agent cancels a round: no failure, though APScheduler
                # would log it as one.
                pass
            except Exception:
                log.exception("%s round failed", name)
            finally:
                self._running.discard(task)

        self._scheduler.add_job(
            logged, trigger, id=name, name=name, max_instances=1, coalesce=True,
            # However late an interval round starts (a slept machine, a stalled loop), it
            # runs, once; a windowed one only while it is still inside its window.
            misfire_grace_time=None if isinstance(trigger, IntervalTrigger)
            else WINDOW_GRACE_SECONDS,
            **({"next_run_time": dt.datetime.now(self.zone)} if at_once else {}),
        )

    def start(self) -> None:
        self._scheduler.start()

    async def stop(self) -> None:
        """No more rounds; the ones running are cancelled and waited for, so nothing
        they hold (the spool) is used after this returns."""
        self._scheduler.pause()
        # A round APScheduler has just submitted joins ``_running`` on its first step.
        await asyncio.sleep(0)
        running = list(self._running)
        for task in running:
            task.cancel()
        await asyncio.gather(*running, return_exceptions=True)
        self._scheduler.shutdown(wait=False)
