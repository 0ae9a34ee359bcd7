"""Runs the ward's probes on their intervals and spools every result as a report.

APScheduler's AsyncIOScheduler with jitter, ``max_instances=1`` and
``coalesce=True``: an overrunning probe round is skipped, never stacked, and
agents started together do not probe in lockstep.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
import uuid
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from probes import http, icmp
from probes.base import ProbeResult
from ward_agent.config import AgentConfig
from ward_agent.pusher import Pusher
from ward_agent.spool import Spool

log = logging.getLogger("sansang.agent")


def make_report(ward: str, kind: str, target: str, measured_at: float,
                result: ProbeResult) -> dict[str, Any]:
    return {
        "id": uuid.uuid4().hex,
        "ward": ward,
        "measured_at": measured_at,
        "kind": kind,
        "target": target,
        "result": result.to_json(),
    }


class AgentRunner:
    def __init__(self, config: AgentConfig):
        self.config = config
        self.spool = Spool(config.spool.path, config.spool.max_bytes,
                           config.spool.max_age_seconds)
        self.pusher = Pusher(
            self.spool, str(config.collector_url), config.token(),
            batch_size=config.push.batch_size, timeout_seconds=config.push.timeout_seconds,
            max_backoff_seconds=config.push.max_backoff_seconds, ca_file=config.ca_file,
        )

    def _spool(self, kind: str, target: str, measured_at: float, result: ProbeResult) -> None:
        self.spool.put(make_report(self.config.ward, kind, target, measured_at, result))

    async def icmp_round(self) -> None:
        job = self.config.icmp
        assert job is not None
        settings = icmp.IcmpConfig(count=job.count, interval_seconds=job.packet_interval_seconds,
                                   timeout_seconds=job.timeout_seconds)
        budget = job.count * (job.packet_interval_seconds + job.timeout_seconds) + 1
        measured_at = time.time()
        results = await icmp.probe_many(job.targets, settings, time.monotonic() + budget)
        for result in results:
            self._spool("icmp", result.host, measured_at, result)
        self.pusher.wake()

    async def http_round(self) -> None:
        job = self.config.http
        assert job is not None
        settings = http.HttpConfig(timeout_seconds=job.timeout_seconds, ca_file=job.ca_file)
        measured_at = time.time()
        deadline = time.monotonic() + job.timeout_seconds + 1
        platforms = list(job.platforms.items())
        results = await asyncio.gather(
            *(http.probe(str(url), settings, deadline) for _, url in platforms)
        )
        for (platform, _), result in zip(platforms, results, strict=True):
            self._spool("http", platform, measured_at, result)
        self.pusher.wake()

    def schedule(self, scheduler: AsyncIOScheduler) -> None:
        jobs = [(self.config.icmp, self.icmp_round), (self.config.http, self.http_round)]
        for job, round_ in jobs:
            if job is None:
                continue
            scheduler.add_job(
                round_, "interval", seconds=job.interval_seconds,
                jitter=self.config.jitter_seconds, max_instances=1, coalesce=True,
                # The first round runs at once, so a fresh agent shows up immediately.
                next_run_time=dt.datetime.now(dt.UTC), id=round_.__name__,
            )

    async def run(self) -> None:
        scheduler = AsyncIOScheduler()
        self.schedule(scheduler)
        scheduler.start()
        log.info("agent for ward %s pushing to %s", self.config.ward, self.config.collector_url)
        pusher = asyncio.create_task(self.pusher.run(self.config.push.interval_seconds))
        try:
            await pusher
        finally:
            scheduler.shutdown(wait=False)
            pusher.cancel()
            self.spool.close()
