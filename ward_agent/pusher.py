"""Pushes spooled reports to the collector, oldest first, deleting only what it acknowledged.

Failures back off exponentially with jitter; 429 and 503 honour ``Retry-After``.
401 and 403 mean this agent is not let in (a token rotated on one side only, a
ward code mistyped): its reports stay until it is. 413 halves the batch. Any
other 4xx means the batch itself is wrong, so it is set aside (logged and
removed) rather than retried for ever.
"""

from __future__ import annotations

import asyncio
import logging
import random
import ssl
from dataclasses import dataclass

import aiohttp

from probes.secret import Secret
from ward_agent.spool import Spool

log = logging.getLogger("sansang.agent.push")


@dataclass
class PushOutcome:
    acknowledged: int = 0
    retry_after: float | None = None
    error: str | None = None


class Pusher:
    def __init__(self, spool: Spool, collector_url: str, token: Secret, *,
                 batch_size: int = 200, timeout_seconds: float = 10,
                 max_backoff_seconds: float = 300, ca_file: str | None = None,
                 max_batches_per_second: float = 2.0):
        self.spool = spool
        self.url = collector_url.rstrip("/") + "/api/v1/reports"
        self.token = token
        self.batch_size = batch_size
        self.timeout = aiohttp.ClientTimeout(total=timeout_seconds)
        self.max_backoff_seconds = max_backoff_seconds
        # After an outage the backlog drains at this pace, so many agents coming back
        # at once do not flatten the collector.
        self.min_seconds_between_batches = 1.0 / max_batches_per_second
        self.ssl: ssl.SSLContext | bool = True
        if ca_file:
            self.ssl = ssl.create_default_context(cafile=ca_file)
        self._failures = 0
        self._wake = asyncio.Event()

    def wake(self) -> None:
        self._wake.set()

    async def push_once(self, session: aiohttp.ClientSession) -> PushOutcome:
        """Send one batch of the oldest reports; delete those the collector acknowledged."""
        batch = self.spool.oldest(self.batch_size)
        if not batch:
            return PushOutcome()
        headers = {"Authorization": f"Bearer {self.token.reveal()}"}
        try:
            payload = {
                "reports": [r.body for r in batch],
                "agent": {"dropped_reports_total": self.spool.dropped,
                          "spooled_reports": len(self.spool)},
            }
            async with session.post(self.url, json=payload, headers=headers,
                                    ssl=self.ssl) as response:
                body = await response.json(content_type=None)
                status = response.status
                retry_after = _retry_after(response.headers.get("Retry-After"))
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            return PushOutcome(error=f"cannot reach the collector: {type(exc).__name__}: {exc}")
        if status == 200:
            # Only ids of this batch: an id the spool no longer holds was dropped in flight.
            sent = {r.id for r in batch}
            acked = [i for i in body.get("acknowledged", []) if isinstance(i, str) and i in sent]
            self.spool.acknowledge(acked)
            return PushOutcome(acknowledged=len(acked))
        reason = body.get("error") if isinstance(body, dict) else None
        if status in (401, 403, 429, 503) or status >= 500:
            return PushOutcome(retry_after=retry_after, error=f"collector said {status}: {reason}")
        if status == 413 and len(batch) > 1:
            self.batch_size = max(1, len(batch) // 2)
            return PushOutcome(error=f"collector said 413: {reason}; "
                                     f"now sending {self.batch_size} at a time")
        # The collector refused the batch itself; retrying the same bytes cannot succeed.
        log.error("collector refused %d report(s) with %d: %s %s; setting them aside",
                  len(batch), status, reason, body.get("details") if isinstance(body, dict) else "")
        self.spool.acknowledge([r.id for r in batch], delivered=False)
        return PushOutcome(error=f"refused with {status}: {reason}")

    async def run(self, interval_seconds: float) -> None:
        async with aiohttp.ClientSession(timeout=self.timeout) as session:
            while True:
                outcome = await self.push_once(session)
                if outcome.error and not outcome.acknowledged:
                    self._failures += 1
                    delay = self._backoff(outcome.retry_after)
                    log.warning("%s; next try in %.1f s", outcome.error, delay)
                    await asyncio.sleep(delay)
                    continue
                self._failures = 0
                if outcome.acknowledged and len(self.spool) > 0:
                    # More backlog: keep draining, at a bounded pace.
                    await asyncio.sleep(self.min_seconds_between_batches)
                    continue
                self._wake.clear()
                try:
                    await asyncio.wait_for(self._wake.wait(), interval_seconds)
                except TimeoutError:
                    pass

    def _backoff(self, retry_after: float | None) -> float:
        if retry_after is not None:
            return min(retry_after, self.max_backoff_seconds)
        base = min(self.max_backoff_seconds, 1.0 * 2 ** min(self._failures, 16))
        return random.uniform(base / 2, base)


def _retry_after(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None
