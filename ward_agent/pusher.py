"""Pushes spooled reports to the collector, oldest first, deleting only what it acknowledged.

Failures back off exponentially with jitter; 429 and 503 honour ``Retry-After``.
401 and 403 mean this agent is not let in (a token rotated on one side only, a
ward code mistyped): its reports stay until it is. 413 halves the batch. Any
other 4xx means a report is wrong: the batch is halved until the refused report
is alone, and only that one is set aside (logged and removed) rather than retried
for ever. A reply that is not the acknowledgement expected (too large, not JSON,
not an object) keeps every report.
"""

from __future__ import annotations

import asyncio
import logging
import random
import ssl
from dataclasses import dataclass

import aiohttp

from probes.json_reply import json_object
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
        # While looking for the one report a collector refuses: the batch size to send.
        self._narrowed_to: int | None = None

    def wake(self) -> None:
        self._wake.set()

    async def push_once(self, session: aiohttp.ClientSession) -> PushOutcome:
        """Send one batch of the oldest reports; delete those the collector acknowledged."""
        batch = self.spool.oldest(self._narrowed_to or self.batch_size)
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
                status = response.status
                retry_after = _retry_after(response.headers.get("Retry-After"))
                try:
                    body = await json_object(response)
                except ValueError as exc:
                    # Only an acknowledgement lets reports go; anything else keeps them.
                    if status == 200:
                        return PushOutcome(error=f"collector's 200 is not an acknowledgement "
                                                 f"({exc}); reports kept")
                    body = {}
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            return PushOutcome(error=f"cannot reach the collector: {type(exc).__name__}: {exc}")
        if status == 200:
            acknowledged = body.get("acknowledged")
            if not isinstance(acknowledged, list):
                return PushOutcome(error="collector's 200 has no list of acknowledged ids; "
                                         "reports kept")
            # Only ids of this batch: an id the spool no longer holds was dropped in flight.
            sent = {r.id for r in batch}
            acked = list({i for i in acknowledged if isinstance(i, str) and i in sent})
            self.spool.acknowledge(acked)
            self._narrowed_to = None
            return PushOutcome(acknowledged=len(acked))
        reason = str(body.get("error", ""))[:500] or None
        if status in (401, 403, 429, 503) or status >= 500 or status < 400:
            return PushOutcome(retry_after=retry_after, error=f"collector said {status}: {reason}")
        if status == 413 and len(batch) > 1:
            self.batch_size = max(1, len(batch) // 2)
            return PushOutcome(error=f"collector said 413: {reason}; "
                                     f"now sending {self.batch_size} at a time")
        if len(batch) > 1:
            # One bad report must not cost the good ones sent beside it: halve the batch
            # until the refused report is alone, and set aside only that one.
            self._narrowed_to = max(1, len(batch) // 2)
            return PushOutcome(error=f"collector refused a batch with {status}: {reason}; "
                                     f"narrowing to {self._narrowed_to} report(s) to find why")
        # The collector refused this report itself; retrying the same bytes cannot succeed.
        details = body.get("details")
        log.error("collector refused report %s with %d: %s %s; setting it aside",
                  batch[0].id, status, reason, details if isinstance(details, list) else "")
        self.spool.acknowledge([batch[0].id], delivered=False)
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
