"""What the pages and the JSON API show, computed from the fleet state.

One function per view; each returns plain data (dicts and lists), so the HTML
pages, the CSV download, the JSON API and the report export all say the same.
"""

from __future__ import annotations

import datetime as dt
import math
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from collector.i18n import MESSAGES, Language, translate
from collector.state import FleetState, WardState
from inventory import criteria, humane
from inventory.model import Inventory, Thresholds
from inventory.naming import display_labels

# A ward that never reported has no agent yet: its own state, never "lost contact".
Status = Literal["ready", "not_ready", "silent", "not_installed"]
SEVERITY_ORDER = {"critical": 0, "warning": 1, "info": 2}


@dataclass(frozen=True)
class FailingCheck:
    check: str
    title: str
    severity: str
    # When it started failing; None for a ward that never reported (its checks have
    # failed since nothing: counting from the collector's start would mislead).
    since: float | None
    problems: list[str]


def status_of(ward: WardState) -> Status:
    if ward.last_report_at is None:
        return "not_installed"
    agent = ward.outcomes.get("agent")
    if agent is not None and agent.ok is False:
        return "silent"
    return "ready" if ward.ready else "not_ready"


def ups_runtimes(samples: list[Any]) -> dict[str, float]:
    """Each UPS's runtime on battery, in seconds, by device."""
    return {dict(labels).get("device", ""): value for name, labels, value in samples
            if name == "sansang_ups_runtime_seconds"}


def problem_text(item: criteria.FailingItem, runtimes: dict[str, float],
                 language: Language, now: float | None = None,
                 inventory: Inventory | None = None, ward: str = "",
                 names: Callable[[Mapping[str, str]], dict[str, str]] | None = None) -> str:
    """The failing item as a sentence: platforms, links and devices by their names in
    ``inventory`` (``inventory.naming``), an age ("silent for") counted up to ``now``; a UPS
    on battery says how many minutes it has left, the first thing the ward needs to know
    when the mains fail."""
    labels: dict[str, str] | None
    if names is None and inventory is not None:
        labels = display_labels(inventory, ward, item.labels, language)
    else:
        labels = None if names is None else names(item.labels)
    text = item.describe(language, now=time.time() if now is None else now, labels=labels)
    runtime = runtimes.get(item.labels.get("device", ""))
    if item.condition == "on_battery" and runtime is not None:
        minutes = translate("ward.ups_runtime", language, minutes=int(runtime // 60))
        text = f"{text}, {minutes}"
    return text[:1].upper() + text[1:]


def failing_checks(ward: WardState, language: Language,
                   runtimes: dict[str, float] | None = None,
                   inventory: Inventory | None = None, code: str = "",
                   causes: Mapping[int, str] | None = None) -> list[FailingCheck]:
    """The ward's failing checks, each problem with its probe's cause (``causes``: by the
    failing item's id())."""
    runtimes, causes = runtimes or {}, causes or {}
    out = []
    for name, outcome in ward.outcomes.items():
        if outcome.ok is not False:
            continue
        check = criteria.CHECKS_BY_NAME[name]
        out.append(FailingCheck(
            check=name,
            title=check.title_vi if language == "vi" else check.title_en,
            severity=check.severity,
            since=None if ward.last_report_at is None else ward.check_since.get(name, 0.0),
            problems=[with_cause(problem_text(item, runtimes, language, inventory=inventory,
                                              ward=code), causes.get(id(item)), language)
                      for item in outcome.failing],
        ))
    return sorted(out, key=lambda f: (SEVERITY_ORDER.get(f.severity, 9),
                                      math.inf if f.since is None else f.since))


def notices(state: FleetState, code: str, language: Language,
            now: float | None = None) -> list[str]:
    """The ward's notices (``notices_in``) from what the collector holds of it."""
    ward = state.wards[code]
    # Only the series a notice reads: the national board asks this of every ward.
    timed: list[tuple[Any, float | None]] = [
        (s, None) for s in ward.static_samples if s[0] == "sansang_device_info"]
    timed += [(s, at) for at, samples, _ in ward.measurements.values() for s in samples
              if s[0] in criteria.NOTICE_METRICS]
    return notices_in(
        timed, ward.thresholds,
        criteria.agent_silent_after_seconds(ward.thresholds, state.report_interval_seconds),
        lambda device: display_labels(state.inventory, code, {"device": device},
                                      language)["device"],
        language, time.time() if now is None else now)


def notices_in(timed: Iterable[tuple[Any, float | None]], thresholds: Thresholds,
               fresh_for: float, device_name: Callable[[str], str], language: Language,
               now: float) -> list[str]:
    """What is worth attention at a ward though no verdict counts it: what its printers
    report (out of paper, jammed, door open), and their supplies below the limit, but
    for a printer whose supplies are required, not what fails the devices check (a
    consumed supply below the limit, out of toner): that is said as a failure.
    Fresh measurements only (``fresh_for`` seconds): an old reading is never shown as
    today's. ``timed`` as ``FleetState.timed_samples`` gives them."""
    timed = list(timed)
    judged = criteria.judging(sample for sample, _ in timed)
    limit = thresholds.printer_supply_min_ratio
    errors: dict[str, list[str]] = {}
    low: list[tuple[str, str, float, bool]] = []
    for (name, labels, value), at in timed:
        if at is None or now - at > fresh_for or math.isnan(value):
            continue
        tags = dict(labels)
        device = tags.get("device", "")
        # What a verdict judges (a required printer's toner) is said as a failure, if it
        # fails, and not again as a notice.
        if judged(name, tags):
            continue
        if name == "sansang_printer_error" and value:
            errors.setdefault(device, []).append(
                translate(f"printer_error.{tags.get('error')}", language))
        elif name == "sansang_printer_supply_level_ratio" and value < limit:
            supply = tags.get("supply", "")
            # A waste box (its figure is the space left in it, RFC 3805).
            low.append((device, supply, value, tags.get("kind", "").startswith("waste")))
    out = [translate("notice.printer_errors", language, device=device_name(device),
                     errors=", ".join(words))
           for device, words in sorted(errors.items())]
    # A waste box's figure is the space left in it: "5 % left" would read as harmless.
    out += [translate("notice.waste_full" if receptacle else "notice.supply", language,
                      device=device_name(device), supply=supply,
                      value=humane.percent(value, language),
                      threshold=humane.percent(limit, language))
            for device, supply, value, receptacle in sorted(low)]
    return [text[:1].upper() + text[1:] for text in out]


def ward_summary(state: FleetState, code: str, language: Language,
                 now: float | None = None) -> dict[str, Any]:
    """One ward as the API, the board and the export show it (at ``now``, by default
    the time it is asked)."""
    now = time.time() if now is None else now
    ward = state.wards[code]
    info = state.inventory.wards[code]
    causes = {id(item): cause for outcome in ward.outcomes.values()
              for item in outcome.failing if (cause := cause_of(state, code, item))}
    failing = failing_checks(ward, language, ups_runtimes(state.samples(code)),
                             state.inventory, code, causes)
    return {
        "code": code,
        "name": info.name,
        "kind": info.kind,
        "province": info.province,
        "cluster": info.cluster,
        "simulated": ward.simulated,
        "status": status_of(ward),
        "ready": ward.ready,
        "last_report_at": ward.last_report_at,
        "checks": {name: outcome.ok for name, outcome in ward.outcomes.items()},
        "states": {name: outcome.state for name, outcome in ward.outcomes.items()},
        # Worked out when asked, so it grows between two looks.
        "silent_for_seconds": (now - ward.last_report_at
                               if ward.last_report_at is not None and ward.silent else None),
        "failing": [
            {"check": f.check, "title": f.title, "severity": f.severity, "since": f.since,
             "problems": f.problems}
            for f in failing
        ],
        "notices": notices(state, code, language, now),
        "address": info.address,
        "contact": info.contact.model_dump() if info.contact else None,
        "former_units": list(info.former_units),
    }


def ward_list(state: FleetState, language: Language) -> list[dict[str, Any]]:
    state.refresh()
    return [ward_summary(state, code, language) for code in state.wards]


def counts(wards: list[dict[str, Any]]) -> dict[str, int]:
    return {
        "total": len(wards),
        "ready": sum(1 for w in wards if w["status"] == "ready"),
        "not_ready": sum(1 for w in wards if w["status"] == "not_ready"),
        "silent": sum(1 for w in wards if w["status"] == "silent"),
        "not_installed": sum(1 for w in wards if w["status"] == "not_installed"),
        "simulated": sum(1 for w in wards if w["simulated"]),
    }


def dispatch_rows(wards: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Failing wards, most severe first, then the longest failing first."""
    rows = []
    for ward in wards:
        if not ward["failing"]:
            continue
        times = [f["since"] for f in ward["failing"] if f["since"] is not None]
        worst = min((f["severity"] for f in ward["failing"]),
                    key=lambda s: SEVERITY_ORDER.get(s, 9))
        rows.append({**ward, "failing_since": min(times, default=None), "worst": worst})
    return sorted(rows, key=lambda w: (
        SEVERITY_ORDER.get(w["worst"], 9),
        math.inf if w["failing_since"] is None else w["failing_since"]))


def golive_line(state: FleetState, language: Language, now: float) -> str:
    today = dt.datetime.fromtimestamp(now, state.zone).date()
    golive = state.inventory.golive
    days = (golive - today).days
    date_text = humane.date(golive)
    if days > 0:
        return translate("board.countdown", language, days=days, date=date_text)
    if days == 0:
        return translate("board.golive_today", language)
    return translate("board.since_golive", language, days=-days, date=date_text)


def readiness_history(rows: list[tuple[str, str, bool]],
                      wards: set[str]) -> list[tuple[str, int]]:
    """Ready-ward count per day: each ward keeps its last verdict until it changes."""
    current: dict[str, bool] = {}
    out: list[tuple[str, int]] = []
    day_rows: dict[str, list[tuple[str, bool]]] = {}
    for day, ward, ready in rows:
        if ward in wards:
            day_rows.setdefault(day, []).append((ward, ready))
    for day in sorted(day_rows):
        for ward, ready in day_rows[day]:
            current[ward] = ready
        out.append((day, sum(current.values())))
    return out


def human_duration(seconds: float, language: Language) -> str:
    """An age in words, its largest whole unit (``inventory.humane``: as the alerts say)."""
    return humane.duration(max(0.0, seconds), language)


def figures_text(items: Iterable[criteria.FailingItem], check: criteria.Check,
                 language: Language, passed: bool,
                 names: Callable[[Mapping[str, str]], dict[str, str]] | None = None) -> str:
    """Each item's figures beside their limits, e.g. ``main: tải xuống 42Mbit/s ≥ 40Mbit/s,
    tải lên ...``; a figure is named where its item has several. An item judged yes or no
    (a device answers) shows by its name on a passing line, and not at all on a failing
    one, whose problems name it. ``names``: the platform, link and device in words."""
    grouped: dict[str, list[tuple[str, str]]] = {}
    for item in items:
        labels = item.labels if names is None else names(item.labels)
        name = " ".join(labels[k] for k in check.item_labels if k in labels)
        figures = grouped.setdefault(name, [])
        reading = item.reading(language)
        if reading:
            # What tells an item's figures apart (a printer's supplies): named before each.
            condition = next((c for c in check.conditions if c.name == item.condition), None)
            part = " ".join(labels[k] for k in (condition.extra_labels if condition else ())
                            if k in labels)
            figures.append((item.condition, f"{part} {reading}" if part else reading))
    parts = []
    for name, figures in grouped.items():
        texts = [reading if len(figures) == 1 else figure_named(check.name, condition, reading,
                                                          language)
                 for condition, reading in figures]
        if texts:
            parts.append(f"{name}: {', '.join(texts)}" if name else ", ".join(texts))
        elif passed:
            parts.append(name)
    return "; ".join(part for part in parts if part)


def figure_named(check: str, condition: str, reading: str, language: Language) -> str:
    key = f"agent_check.figure.{check}.{condition}"
    return f"{translate(key, language)} {reading}" if key in MESSAGES else reading


def cause_of(state: FleetState, code: str, item: criteria.FailingItem) -> str | None:
    """What the probes behind a failing item said went wrong (a timeout, an HTTP status,
    a TLS error), from the ward's newest measurements; None when they said nothing."""
    # Only the measurements whose probe said something: the board asks this of every
    # failing item of every ward, and most measurements carry no error.
    ward = state.wards[code]
    causes = [error for key, error in ward.errors.items()
              if criteria.carries(item, ward.measurements[key][1])]
    return "; ".join(dict.fromkeys(causes)) or None


def with_cause(text: str, cause: str | None, language: Language) -> str:
    """A problem sentence and, quoted after it, what the probe said went wrong."""
    return f"{text} ({translate('agent_check.cause', language, cause=cause)})" if cause else text
