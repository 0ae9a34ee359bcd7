"""Runs the ward's probe jobs on their schedule and spools every result as a report.

A job on an interval runs its first round at once, a job kept to a window when the
window opens (``ward_agent.schedule``); rounds start up to ``jitter_seconds`` late so
agents started together do not probe in lockstep. Each round has a deadline, so a
dead device or a hung server costs at most its timeout.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
import time
import uuid
from typing import Any

from probes import PROBES, report_bounds
from probes.base import ProbeResult
from ward_agent.config import AgentConfig
from ward_agent.jobs import Job, ProbeTarget, jobs_for
from ward_agent.pusher import Pusher
from ward_agent.schedule import Schedule, interval_trigger, window_trigger
from ward_agent.spool import Spool

log = logging.getLogger("sansang.agent")


def make_report(ward: str, kind: str, target: str, measured_at: float,
                result: ProbeResult) -> dict[str, Any]:
    """One result as the collector takes it. Texts a device or a server wrote (a
    description, an error) are fitted to the bounds every report keeps, so the
    collector never refuses a report for what a device said."""
    return {
        "id": uuid.uuid4().hex,
        "ward": ward,
        "measured_at": measured_at,
        "kind": kind,
        "target": target,
        "result": report_bounds.fitted(result.to_json()),
    }


async def run_target(kind: str, target: ProbeTarget, deadline: float) -> ProbeResult:
    """One probe of one target; a config that cannot be built is a failed result."""
    probe = PROBES[kind]
    try:
        config = target.config()
    except (OSError, KeyError, ValueError) as exc:
        return probe.failed(target.probe_target, f"cannot prepare the probe: {exc}")
    try:
        return await probe.run(target.probe_target, config, deadline)
    except Exception as exc:
        # A probe's own failures are results; anything else is a bug (or a peer that
        # found one), and must not cost the round the other targets' reports.
        log.exception("%s probe of %s failed unexpectedly", kind, target.probe_target)
        return probe.failed(target.probe_target,
                            f"probe failed unexpectedly: {type(exc).__name__}")


async def run_job_once(job: Job, ward: str) -> list[dict[str, Any]]:
    """Probe every target of ``job`` at once and return the reports."""
    measured_at = time.time()
    deadline = time.monotonic() + job.budget_seconds
    results = await asyncio.gather(*(run_target(job.kind, t, deadline) for t in job.targets))
    return [make_report(ward, job.kind, t.report_target, measured_at, r)
            for t, r in zip(job.targets, results, strict=True)]


class AgentRunner:
    def __init__(self, config: AgentConfig):
        self.config = config
        self.jobs = jobs_for(config)
        self.spool = Spool(config.spool.path, config.spool.max_bytes,
                           config.spool.max_age_seconds)
        self.pusher = Pusher(
            self.spool, str(config.collector_url), config.token(),
            batch_size=config.push.batch_size, timeout_seconds=config.push.timeout_seconds,
            max_backoff_seconds=config.push.max_backoff_seconds, ca_file=config.ca_file,
            max_batches_per_second=config.push.max_batches_per_second,
        )

    async def round(self, job: Job) -> None:
        for report in await run_job_once(job, self.config.ward):
            self.spool.put(report)
        self.pusher.wake()
        if job.kind == "bandwidth":
            release_free_heap()

    def build_schedule(self) -> Schedule:
        """Every job on its trigger, in the ward's time zone; not started yet."""
        zone, jitter = self.config.zone, self.config.jitter_seconds
        schedule = Schedule(zone)
        for job in self.jobs:
            trigger = (interval_trigger(job.interval_seconds, zone, jitter) if job.window is None
                       else window_trigger(job.window, zone, jitter))
            # A job kept to a window never starts at once: a fresh agent must not load
            # the link outside the window.
            schedule.add(job.kind, functools.partial(self.round, job), trigger,
                         at_once=job.window is None)
        return schedule

    async def run(self) -> None:
        schedule = self.build_schedule()
        schedule.start()
        log.info("agent for ward %s pushing to %s: %s", self.config.ward,
                 self.config.collector_url, ", ".join(j.kind for j in self.jobs) or "no probes")
        pusher = asyncio.create_task(self.pusher.run(self.config.push.interval_seconds))
        try:
            await pusher
        finally:
            pusher.cancel()
            await schedule.stop()
            await asyncio.gather(pusher, return_exceptions=True)
            self.spool.close()


def release_free_heap() -> None:
    """Hand the C heap's free pages back to the OS (with glibc; elsewhere nothing).

    A bandwidth test moves its megabytes through buffers of 256 KiB and more. glibc
    maps the first such buffer and unmaps it when freed, but then raises its threshold
    and serves the rest from the heap, which they leave fragmented: about 3 MB kept
    resident after every test, in an agent whose budget is 64 MB.
    """
    try:
        if not os.confstr("CS_GNU_LIBC_VERSION"):
            return
    except (ValueError, OSError):
        return
    import ctypes

    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None).malloc_trim(0)
