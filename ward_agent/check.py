"""The technician's one-shot readiness check: every probe of the ward once, then the
collector's checklist for the ward.

It is the collector's checklist, not a second one: the criteria table judges the same
series, taken in as ``collector.state.FleetState`` takes reports in (the newest of each
kind and target, each with when it was measured), into the same five states; titles,
problem texts and state words are the ward page's (``collector.i18n``,
``collector.views``). What the collector reads from the inventory — the ward's name,
thresholds, links' contracts, devices, time servers — the check reads from
``readiness:`` in agent.yaml, which ``collector provision`` and the demo write from the
inventory. ``tests/test_check_agrees.py`` holds the two together. ``--push`` sends the
results to the collector at once (or, if it cannot be reached, leaves them in the
agent's spool, so nothing is lost).
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import json
import sqlite3
import ssl
import sys
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, TextIO

import aiohttp

from collector.i18n import MESSAGES, Language, translate
from collector.views import (
    figures_text,
    human_duration,
    notices_in,
    problem_text,
    ups_runtimes,
    with_cause,
)
from inventory import criteria
from inventory.load import SHIPPED_WARDS_CSV, read_wards_csv
from inventory.model import Ward
from inventory.naming import ward_labels
from probes import PROBES, series_for
from probes.json_reply import json_object
from probes.series import Sample, inventory_series, sample
from ward_agent.config import AgentConfig
from ward_agent.display import GREEN, RED, RESET, use_colour
from ward_agent.jobs import jobs_for
from ward_agent.runner import run_job_once
from ward_agent.spool import Spool

LAST_REPORT = "sansang_agent_last_report_timestamp_seconds"
TINTS = {"pass": GREEN, "fail": RED}
ItemKey = tuple[str, str, tuple[tuple[str, str], ...]]


@functools.cache
def _shipped_wards() -> dict[str, Ward]:
    return read_wards_csv(SHIPPED_WARDS_CSV)[0]


def ward_of(config: AgentConfig) -> Ward:
    """The ward as the inventory describes it, from ``readiness:`` (its name, when not
    written there, from the shipped ward list)."""
    profile = config.readiness
    shipped = _shipped_wards().get(config.ward)
    return Ward(code=config.ward, name=profile.name or (shipped.name if shipped else config.ward),
                kind=shipped.kind if shipped else "phường", province="-", cluster="-",
                links=profile.links, devices=profile.devices, ntp_servers=profile.ntp_servers)


def silent_after_seconds(config: AgentConfig) -> float:
    """How long the collector lets this agent stay silent: its report interval (the ICMP
    rounds, as the collector's --report-interval must say) times the threshold."""
    interval = (config.icmp.interval_seconds if config.icmp
                else criteria.DEFAULT_REPORT_INTERVAL_SECONDS)
    return criteria.agent_silent_after_seconds(config.readiness.thresholds, interval)


def timed_samples(ward: Ward, reports: Iterable[Mapping[str, Any]]
                  ) -> list[tuple[Sample, float | None]]:
    """The series a verdict reads, each with when it was measured (None: declared, always
    current), as the collector keeps them: the newest report of each kind and target, and
    the agent's last report at the newest measurement."""
    newest: dict[tuple[str, str], Mapping[str, Any]] = {}
    for report in reports:
        key = (report["kind"], report["target"])
        if key not in newest or report["measured_at"] >= newest[key]["measured_at"]:
            newest[key] = report
    timed: list[tuple[Sample, float | None]] = [(s, None) for s in inventory_series(ward)]
    for (kind, target), report in newest.items():
        result = PROBES[kind].result_type.model_validate(report["result"])
        timed.extend((s, report["measured_at"]) for s in series_for(kind, target, result, ward)
                     if s[0] in criteria.KEPT_METRICS)
    if newest:
        last = max(report["measured_at"] for report in newest.values())
        timed.append((sample(LAST_REPORT, (), last), None))
    return timed


@dataclass(frozen=True)
class Checklist:
    """The ward's verdict with what is shown beside it: each check's figures (passing or
    failing) and, for each failing item, the probe's own words for what went wrong."""

    ward: Ward
    outcomes: dict[str, criteria.CheckOutcome]
    readings: dict[str, tuple[criteria.FailingItem, ...]]
    causes: dict[ItemKey, str]
    runtimes: dict[str, float]
    now: float
    # For a check with no data: what the probes that would have measured it said.
    unmeasured: dict[str, str]
    platform_names: Mapping[str, str] = dataclasses.field(default_factory=dict)
    # What is worth attention though no verdict counts it, as the ward page says it.
    notices: dict[Language, list[str]] = dataclasses.field(default_factory=dict)

    @property
    def ready(self) -> bool:
        return criteria.ward_ready(self.outcomes)


def evaluate(config: AgentConfig, reports: list[dict[str, Any]], now: float,
             silent_after: float) -> Checklist:
    """The checklist for ``reports`` at ``now``, judged as the collector judges the ward
    whose agent may stay silent ``silent_after`` seconds."""
    ward = ward_of(config)
    timed = timed_samples(ward, reports)
    thresholds = config.readiness.thresholds
    outcomes = criteria.evaluate_timed(timed, thresholds, now, silent_after)
    readings: dict[str, tuple[criteria.FailingItem, ...]] = {}
    limits = {c.name: criteria.freshness_of(c, silent_after) for c in criteria.CHECKS}
    for limit in set(limits.values()):
        fresh = [s for s, at in timed if at is None or now - at <= limit]
        judged = criteria.readings(fresh, thresholds, now, silent_after)
        readings.update({name: judged[name] for name, own in limits.items() if own == limit})
    causes = {item_key(item): cause for outcome in outcomes.values() for item in outcome.failing
              if (cause := cause_of(item, reports, ward))}
    unmeasured = {name: error for name, outcome in outcomes.items()
                  if outcome.state == "no_data"
                  and (error := failed_probes(criteria.CHECKS_BY_NAME[name], reports))}
    languages: tuple[Language, ...] = ("vi", "en")
    notices = {language: notices_in(timed, thresholds, silent_after,
                                    functools.partial(_device_called, ward, language),
                                    language, now)
               for language in languages}
    return Checklist(ward, outcomes, readings, causes, ups_runtimes([s for s, _ in timed]),
                     now, unmeasured, config.readiness.platform_names, notices)


def _device_called(ward: Ward, language: Language, device: str) -> str:
    return ward_labels(ward, {"device": device}, language)["device"]


def item_key(item: criteria.FailingItem) -> ItemKey:
    return item.check, item.condition, tuple(sorted(item.labels.items()))


def cause_of(item: criteria.FailingItem, reports: Iterable[Mapping[str, Any]],
             ward: Ward) -> str | None:
    """What the probes behind a failing item said went wrong (a timeout, an HTTP status,
    a TLS error), from the reports whose series carry it; None when they said nothing
    beyond the figure itself."""
    errors: list[str] = []
    for report in reports:
        result = PROBES[report["kind"]].result_type.model_validate(report["result"])
        if result.error and result.error not in errors and criteria.carries(
                item, series_for(report["kind"], report["target"], result, ward)):
            errors.append(result.error)
    return "; ".join(errors) or None


def failed_probes(check: criteria.Check, reports: Iterable[Mapping[str, Any]]) -> str | None:
    """What the failed probes of the kinds that measure ``check`` said, e.g. a speed test
    the collector refused."""
    kinds = {name for name, kind in PROBES.items()
             if check.measured_metrics & {family.name for family in kind.families}}
    errors = list(dict.fromkeys(report["result"]["error"] for report in reports
                                if report["kind"] in kinds and report["result"].get("error")))
    return "; ".join(errors) or None


def verdict(config: AgentConfig, reports: list[dict[str, Any]],
            now: float) -> dict[str, criteria.CheckOutcome]:
    """Every check's outcome for ``reports`` just made (see ``evaluate``)."""
    return evaluate(config, reports, now, silent_after_seconds(config)).outcomes


# --- in words


@dataclass(frozen=True)
class Line:
    """One check as the technician reads it: state word, title, figures, and below it the
    problems (each with its cause) or the note that says why there is no verdict."""

    check: str
    state: criteria.State
    mark: str
    title: str
    figures: str
    details: tuple[str, ...]


def _named_labels(checklist: Checklist, language: Language,
                  labels: Mapping[str, str]) -> dict[str, str]:
    """A problem's labels in people's words: the ward's links and devices, the platforms
    by the names ``readiness.platform_names`` gives."""
    named = ward_labels(checklist.ward, labels, language)
    if "platform" in named:
        named["platform"] = checklist.platform_names.get(named["platform"], named["platform"])
    return named


def checklist_lines(checklist: Checklist, language: Language) -> list[Line]:
    lines = []
    for check in criteria.CHECKS:
        outcome = checklist.outcomes[check.name]
        details: list[str] = []
        if outcome.state == "fail":
            for item in outcome.failing:
                text = problem_text(
                    item, checklist.runtimes, language, checklist.now,
                    names=functools.partial(_named_labels, checklist, language))
                cause = checklist.causes.get(item_key(item))
                if cause is None and item.value is None:
                    cause = translate("agent_check.not_probed", language)
                details.append(with_cause(text, cause, language))
        elif outcome.state == "stale" and outcome.newest_at is not None:
            details.append(translate("agent_check.stale", language,
                                     d=human_duration(checklist.now - outcome.newest_at,
                                                      language)))
        elif outcome.state == "not_configured":
            key = f"agent_check.unconfigured.{check.name}"
            details.append(translate(key if key in MESSAGES
                                     else "agent_check.unconfigured.other", language))
        elif outcome.state == "no_data" and (failed := checklist.unmeasured.get(check.name)):
            details.append(translate("agent_check.no_data_cause", language, cause=failed))
        lines.append(Line(
            check=check.name, state=outcome.state,
            mark=translate(f"state.{outcome.state}", language).upper(),
            title=translate(f"check.{check.name}", language),
            figures=figures_text(
                checklist.readings.get(check.name, ()), check, language,
                passed=outcome.state == "pass",
                names=functools.partial(_named_labels, checklist, language)),
            details=tuple(details),
        ))
    return lines


def verdict_line(checklist: Checklist, language: Language) -> str:
    """``Phường Tân Sơn Nhất (26968): SẴN SÀNG``, and how many checks fail when some do."""
    ward = checklist.ward
    words = translate("board.ready" if checklist.ready else "board.not_ready", language)
    text = f"{ward.name} ({ward.code}): {words.upper()}"
    failing = sum(1 for o in checklist.outcomes.values() if o.state == "fail")
    if failing:
        key = "board.failing_check" if failing == 1 else "board.failing_checks"
        text += f" — {translate(key, language, count=failing)}"
    return text


def print_checklist(checklist: Checklist, language: Language, stream: TextIO) -> None:
    colour = use_colour(stream)
    lines = checklist_lines(checklist, language)
    mark_width = max(len(line.mark) for line in lines)
    title_width = max(len(line.title) for line in lines)
    for line in lines:
        text = f"{line.mark:<{mark_width}}  {line.title:<{title_width}}  {line.figures}".rstrip()
        tint = TINTS.get(line.state)
        print(f"{tint}{text}{RESET}" if colour and tint else text, file=stream)
        for detail in line.details:
            print(f"{'':{mark_width + 2}}- {detail}", file=stream)
    notices = checklist.notices.get(language, [])
    if notices:
        print(f"\n{translate('ward.notices', language)}:", file=stream)
        for notice in notices:
            print(f"  - {notice}", file=stream)


# --- running it


async def run_all(config: AgentConfig, progress: TextIO | None,
                  language: Language) -> list[dict[str, Any]]:
    jobs = jobs_for(config)
    reports: list[dict[str, Any]] = []
    for index, job in enumerate(jobs, start=1):
        started = time.monotonic()
        if progress:
            print(translate("agent_check.progress", language, index=index, total=len(jobs),
                            kind=job.kind, targets=len(job.targets)),
                  end="", file=progress, flush=True)
        done = await run_job_once(job, config.ward)
        reports.extend(done)
        if progress:
            failed = sum(1 for r in done if not r["result"]["up"])
            status = (translate("agent_check.progress_failed", language, n=failed) if failed
                      else translate("agent_check.progress_ok", language))
            print(f" {status} ({time.monotonic() - started:.1f} s)", file=progress, flush=True)
    return reports


async def push_now(config: AgentConfig, reports: list[dict[str, Any]],
                   language: Language = "en") -> str:
    """Send ``reports`` to the collector; on failure keep them in the spool for the agent.
    Returns what happened, in one line."""
    url = str(config.collector_url).rstrip("/") + "/api/v1/reports"
    headers = {"Authorization": f"Bearer {config.token().reveal()}"}
    context: ssl.SSLContext | bool = (ssl.create_default_context(cafile=config.ca_file)
                                      if config.ca_file else True)
    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=15)) as session:
            async with session.post(url, json={"reports": reports}, headers=headers,
                                    ssl=context) as response:
                body = await json_object(response)
                acknowledged = body.get("acknowledged")
                if response.status == 200 and isinstance(acknowledged, list):
                    return translate("agent_check.pushed", language, n=len(acknowledged),
                                     url=url)
                error = translate("agent_check.collector_said", language,
                                  status=response.status, error=str(body.get("error"))[:500])
    except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
        error = translate("agent_check.unreachable", language, why=str(exc) or type(exc).__name__)
    try:
        spool = Spool(config.spool.path, config.spool.max_bytes, config.spool.max_age_seconds)
        try:
            for report in reports:
                spool.put(report)
        finally:
            spool.close()
    except (OSError, sqlite3.Error) as exc:
        return translate("agent_check.not_kept", language, error=error, path=config.spool.path,
                         why=getattr(exc, "strerror", None) or exc)
    return translate("agent_check.kept", language, error=error, n=len(reports))


async def run_check(config: AgentConfig, *, as_json: bool, push: bool,
                    language: Language) -> int:
    started = time.time()
    reports = await run_all(config, None if as_json else sys.stderr, language)
    now = time.time()
    # The probes run one after another: what this run measured counts as current, so its
    # first measurements are not stale by the time its last one is done.
    checklist = evaluate(config, reports, now, silent_after_seconds(config) + (now - started))
    pushed = await push_now(config, reports, language) if push else None
    if as_json:
        print(json.dumps({
            "ward": config.ward, "name": checklist.ward.name, "ready": checklist.ready,
            "verdict": verdict_line(checklist, language),
            "checks": {
                line.check: {"ok": checklist.outcomes[line.check].ok, "state": line.state,
                             "title": line.title, "figures": line.figures,
                             "problems": list(line.details)}
                for line in checklist_lines(checklist, language)
            },
            "notices": checklist.notices.get(language, []),
            "reports": reports, "push": pushed,
        }, ensure_ascii=False))
    else:
        print(file=sys.stdout)
        print_checklist(checklist, language, sys.stdout)
        print(f"\n{verdict_line(checklist, language)}")
        if pushed:
            print(pushed)
    return 0 if checklist.ready else 1


def check(config: AgentConfig, *, as_json: bool, push: bool, language: Language) -> int:
    return asyncio.run(run_check(config, as_json=as_json, push=push, language=language))
