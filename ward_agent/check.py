"""The technician's one-shot readiness check: every probe of the ward once, then the checklist.

The verdict comes from the same criteria table and the same series mapping as
the collector's, so "ready" on the laptop means "ready" on the NOC board.
``--push`` sends the results to the collector at once (or, if it cannot be
reached, leaves them in the agent's spool, so nothing is lost).
"""

from __future__ import annotations

import asyncio
import json
import math
import sys
import time
from typing import Any, TextIO

import aiohttp

from inventory import criteria
from inventory.model import Ward
from probes import PROBES, series_for
from probes.json_reply import json_object
from probes.series import Sample, inventory_series, sample
from ward_agent.config import AgentConfig
from ward_agent.display import GREEN, RED, RESET, use_colour
from ward_agent.jobs import jobs_for
from ward_agent.runner import run_job_once
from ward_agent.spool import Spool

Language = str


def ward_of(config: AgentConfig) -> Ward:
    profile = config.readiness
    return Ward(code=config.ward, name=config.ward, kind="phường", province="-",
                cluster="-", links=profile.links, devices=profile.devices,
                ntp_servers=profile.ntp_servers)


async def run_all(config: AgentConfig, progress: TextIO | None) -> list[dict[str, Any]]:
    jobs = jobs_for(config)
    reports: list[dict[str, Any]] = []
    for index, job in enumerate(jobs, start=1):
        started = time.monotonic()
        if progress:
            print(f"[{index}/{len(jobs)}] {job.kind}: {len(job.targets)} target(s)…",
                  end="", file=progress, flush=True)
        done = await run_job_once(job, config.ward)
        reports.extend(done)
        if progress:
            failed = sum(1 for r in done if not r["result"]["up"])
            status = "ok" if not failed else f"{failed} failed"
            print(f" {status} ({time.monotonic() - started:.1f} s)", file=progress, flush=True)
    return reports


def verdict(config: AgentConfig, reports: list[dict[str, Any]],
            now: float) -> dict[str, criteria.CheckOutcome]:
    ward = ward_of(config)
    samples: list[Sample] = list(inventory_series(ward))
    for report in reports:
        result = PROBES[report["kind"]].result_type.model_validate(report["result"])
        samples.extend(series_for(report["kind"], report["target"], result, ward))
    samples.append(sample("sansang_agent_last_report_timestamp_seconds", (), now))
    return criteria.evaluate_ward(samples, config.readiness.thresholds, now, math.inf)


def print_checklist(outcomes: dict[str, criteria.CheckOutcome], language: Language,
                    stream: TextIO) -> None:
    colour = use_colour(stream)
    # The same five states as every page of the collector.
    words = {
        "vi": {"pass": "ĐẠT", "fail": "CHƯA ĐẠT", "stale": "SỐ LIỆU CŨ",
               "not_configured": "CHƯA KHAI BÁO", "no_data": "CHƯA CÓ SỐ LIỆU"},
        "en": {"pass": "PASS", "fail": "FAIL", "stale": "STALE",
               "not_configured": "NOT CONFIGURED", "no_data": "NO DATA"},
    }["vi" if language == "vi" else "en"]
    tints = {"pass": GREEN, "fail": RED}
    for check in criteria.CHECKS:
        outcome = outcomes[check.name]
        title = check.title_vi if language == "vi" else check.title_en
        mark, tint = words[outcome.state], tints.get(outcome.state, "")
        text = f"{mark:<16} {title}"
        print(f"{tint}{text}{RESET}" if colour and tint else text, file=stream)
        for item in outcome.failing:
            print(f"{'':17}- {item.describe('vi' if language == 'vi' else 'en')}", file=stream)


async def push_now(config: AgentConfig, reports: list[dict[str, Any]]) -> str:
    """Send ``reports`` to the collector; on failure keep them in the spool for the agent."""
    url = str(config.collector_url).rstrip("/") + "/api/v1/reports"
    headers = {"Authorization": f"Bearer {config.token().reveal()}"}
    import ssl

    context: ssl.SSLContext | bool = (ssl.create_default_context(cafile=config.ca_file)
                                      if config.ca_file else True)
    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=15)) as session:
            async with session.post(url, json={"reports": reports}, headers=headers,
                                    ssl=context) as response:
                body = await json_object(response)
                acknowledged = body.get("acknowledged")
                if response.status == 200 and isinstance(acknowledged, list):
                    return f"pushed {len(acknowledged)} report(s) to {url}"
                error = f"collector said {response.status}: {str(body.get('error'))[:500]}"
    except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
        error = f"cannot reach the collector: {exc}"
    spool = Spool(config.spool.path, config.spool.max_bytes, config.spool.max_age_seconds)
    try:
        for report in reports:
            spool.put(report)
    finally:
        spool.close()
    return f"{error}; kept {len(reports)} report(s) in the agent's spool for later"


async def run_check(config: AgentConfig, *, as_json: bool, push: bool,
                    language: Language) -> int:
    reports = await run_all(config, None if as_json else sys.stderr)
    now = time.time()
    outcomes = verdict(config, reports, now)
    ready = criteria.ward_ready(outcomes)
    pushed = await push_now(config, reports) if push else None
    if as_json:
        print(json.dumps({
            "ward": config.ward, "ready": ready,
            "checks": {
                name: {"ok": o.ok, "state": o.state,
                       "problems": [i.describe("vi" if language == "vi" else "en")
                                    for i in o.failing]}
                for name, o in outcomes.items()
            },
            "reports": reports, "push": pushed,
        }, ensure_ascii=False))
    else:
        print(file=sys.stdout)
        print_checklist(outcomes, language, sys.stdout)
        ready_text = {"vi": ("SẴN SÀNG", "CHƯA SẴN SÀNG"), "en": ("READY", "NOT READY")}
        yes, no = ready_text["vi" if language == "vi" else "en"]
        print(f"\n{config.ward}: {yes if ready else no}")
        if pushed:
            print(pushed)
    return 0 if ready else 1


def check(config: AgentConfig, *, as_json: bool, push: bool, language: Language) -> int:
    return asyncio.run(run_check(config, as_json=as_json, push=push, language=language))
