"""The latest state of every ward, its verdict, and its ready-rendered lines for ``/metrics``.

Only the newest measurement of each (ward, kind, target) counts: a replayed,
older report is stored in history but never makes a ward look current. When a
measurement changes, it is rendered to exposition lines once (UTF-8 bytes, ready to
send), only the families it touches are joined again for its ward, and the ward's
verdict is marked stale; verdicts are brought up to date (``refresh``) before
anything reads them, so a burst of reports costs one evaluation per ward, not one
per report. A scrape joins ready-made bytes and does no per-series work.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import time
import zoneinfo
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from collector.exposition import (
    FAMILIES,
    cached_label_pairs_text,
    format_value,
    label_text,
    sample_line,
)
from inventory import criteria
from inventory.model import Inventory, SeriesBudget, Thresholds
from inventory.naming import platform_name
from probes import PROBES, report_bounds, series_for
from probes.base import ProbeResult
from probes.series import Sample, inventory_series, sample

# The newest measurement of one (kind, target): (measured_at, its series that verdicts
# read, all its series rendered as (family, exposition lines in UTF-8)). Rendered once,
# when the report arrives. Only plain tuples are kept, not the result object, so the
# garbage collector can untrack them.
Rendered = tuple[tuple[str, bytes], ...]
# A report as the state takes it in: (kind, target, measured_at, result).
Incoming = tuple[str, str, float, ProbeResult]
Measurement = tuple[float, tuple[Sample, ...], Rendered]


def over_budget(budget: SeriesBudget, measurements: int, series: int,
                results: Iterable[tuple[str, ProbeResult]]) -> list[str]:
    """Why a ward holding ``measurements`` (kind, target) pairs and ``series`` series, with
    these results among them, would be past its budget; empty when it fits."""
    problems = []
    for name, result in results:
        # Only an SNMP result has interfaces; a device may report at most so many.
        interfaces = getattr(result, "interfaces", None)
        if interfaces is not None and len(interfaces) > budget.max_interfaces_per_device:
            problems.append(f"{name}: {len(interfaces)} interfaces, more than "
                            f"max_interfaces_per_device ({budget.max_interfaces_per_device})")
    if measurements > budget.max_measurements:
        problems.append(f"{measurements} measured targets (kind and target), more than "
                        f"max_measurements ({budget.max_measurements})")
    if series > budget.max_series:
        problems.append(f"{series} series, more than max_series ({budget.max_series})")
    return problems


@dataclass
class PreparedPush:
    """A push worked out but not yet applied: for each series key whose newest report is
    newer than what the ward shows, (index in the push, the report, its series)."""

    ward: str
    changes: dict[tuple[str, str], tuple[int, Incoming, list[Sample]]] = field(
        default_factory=dict)
    over_budget: list[str] = field(default_factory=list)


@dataclass
class WardState:
    code: str
    thresholds: Thresholds
    simulated: bool = False
    last_report_at: float | None = None
    dropped_reports_total: int = 0
    measurements: dict[tuple[str, str], Measurement] = field(default_factory=dict)
    # How many series each measurement makes, for the ward's series budget.
    series_counts: dict[tuple[str, str], int] = field(default_factory=dict)
    # Pushes refused, by reason ("series_budget"), as exported.
    refusals: dict[str, int] = field(default_factory=dict)
    static_samples: list[Sample] = field(default_factory=list)
    outcomes: dict[str, criteria.CheckOutcome] = field(default_factory=dict)
    # When each check entered its current state (pass or fail), for "failing since".
    check_since: dict[str, float] = field(default_factory=dict)
    ready: bool = False
    ready_since: float | None = None
    verdict_stale: bool = True
    # When the verdict was last worked out (Unix time), to space re-evaluations.
    evaluated_at: float = 0.0
    # When a measurement the verdict judged grows too old for its check (Unix time), and
    # the measurements already too old (shown as stale, no longer in /metrics).
    expires_at: float = math.inf
    expired: set[tuple[str, str]] = field(default_factory=set)
    silent: bool | None = None
    # What each measurement's probe said went wrong (its error), when it said anything:
    # the cause shown beside a failing item.
    errors: dict[tuple[str, str], str] = field(default_factory=dict)
    # Each check's state and the verdict's (``VERDICT``) as last written to the history.
    recorded_states: dict[str, str] = field(default_factory=dict)


class FleetState:
    def __init__(self, inventory: Inventory, simulated_wards: Iterable[str] = (),
                 report_interval_seconds: float = criteria.DEFAULT_REPORT_INTERVAL_SECONDS):
        self.inventory = inventory
        self.report_interval_seconds = report_interval_seconds
        self.zone = zoneinfo.ZoneInfo(inventory.timezone)
        simulated = set(simulated_wards)
        self.wards: dict[str, WardState] = {}
        for code, ward in inventory.wards.items():
            self.wards[code] = WardState(
                code, inventory.thresholds_for(code), simulated=code in simulated,
                static_samples=[*inventory_series(ward), *criteria.limit_samples(
                    inventory.thresholds_for(code), report_interval_seconds)],
            )
        # metric -> the freshness of each check it is measured for (None: as long as the
        # ward's agent may stay silent), to know when a verdict's measurements grow old.
        self._freshness: dict[str, list[float | None]] = {}
        for check in criteria.CHECKS:
            for metric in check.measured_metrics:
                self._freshness.setdefault(metric, []).append(check.freshness_seconds)
        # (day, ward) -> ready: verdicts not yet written to the readiness history.
        self.pending_history: dict[tuple[str, str], bool] = {}
        # (ward, at, subject, before, after): state changes not yet written to the history.
        self.pending_changes: list[tuple[str, float, str, str | None, str]] = []
        # family name -> ward code -> that ward's rendered lines of the family
        self._chunks: dict[str, dict[str, bytes]] = {name: {} for name in FAMILIES}
        self._headers = {name: family.header.encode() for name, family in FAMILIES.items()}
        # The labels every line of a ward starts with, rendered once.
        self._ward_label_text = {code: label_text(self._ward_labels(code)) for code in self.wards}
        self._render_static()
        self.refresh()

    # --- taking reports in

    def apply(self, ward_code: str, kind: str, target: str, measured_at: float,
              result: ProbeResult) -> bool:
        """Take in one report; True when it changed what the ward shows."""
        return self.apply_reports(ward_code, ((kind, target, measured_at, result),))

    def apply_reports(self, ward_code: str, reports: Iterable[Incoming]) -> bool:
        """Take in a ward's reports (a push); True when they changed what the ward shows."""
        return self.apply_prepared(self.prepare(ward_code, reports))

    def prepare(self, ward_code: str, reports: Iterable[Incoming]) -> PreparedPush:
        """Work out a push's series, and whether they fit the ward's series budget,
        without changing anything: ingest refuses a push over budget before storing it.

        Only the newest report of each series can show: a replayed backlog renders
        once per series, not once per report."""
        prepared = PreparedPush(ward_code)
        ward = self.wards.get(ward_code)
        if ward is None:
            return prepared
        latest: dict[tuple[str, str], tuple[int, Incoming]] = {}
        for index, report in enumerate(reports):
            seen = latest.get((report[0], report[1]))
            if seen is None or report[2] >= seen[1][2]:
                latest[(report[0], report[1])] = (index, report)
        inventory_ward = self.inventory.wards[ward_code]
        for key, (index, report) in latest.items():
            kind, target, measured_at, result = report
            current = ward.measurements.get(key)
            if current is None or measured_at >= current[0]:
                series = series_for(kind, target, result, inventory_ward)
                prepared.changes[key] = (index, report, series)
        prepared.over_budget = self._budget_problems(ward, prepared)
        return prepared

    def _budget_problems(self, ward: WardState, prepared: PreparedPush) -> list[str]:
        keys = ward.series_counts.keys() | prepared.changes.keys()
        total = sum(count for key, count in ward.series_counts.items()
                    if key not in prepared.changes)
        total += sum(len(series) for _, _, series in prepared.changes.values())
        return over_budget(self.inventory.series_budget_for(ward.code), len(keys), total, [
            (f"{kind} {target}", report[3]) for (kind, target), (_, report, _)
            in prepared.changes.items()])

    def apply_prepared(self, prepared: PreparedPush, fresh: Sequence[bool] | None = None) -> bool:
        """Apply what ``prepare`` worked out; with ``fresh``, only the reports flagged new
        (a report already stored was applied when it first came).

        Each family a changed measurement touches is joined again once for the whole
        push, not once per report: a replayed backlog of 200 reports costs one join."""
        ward_code = prepared.ward
        ward = self.wards.get(ward_code)
        if ward is None:
            return False
        touched: set[str] = set()
        newest = ward.last_report_at
        for key, (index, (_, _, measured_at, result), series) in prepared.changes.items():
            if fresh is not None and not fresh[index]:
                continue
            current = ward.measurements.get(key)
            if current is not None and measured_at < current[0]:
                continue
            rendered = self._rendered(ward_code, series)
            # Only what a verdict reads, or a notice shows, is kept as values; the rest
            # lives on as lines.
            judged = tuple(s for s in series if s[0] in criteria.KEPT_METRICS)
            ward.measurements[key] = (measured_at, judged, rendered)
            ward.series_counts[key] = len(series)
            error = getattr(result, "error", None)
            if error:
                ward.errors[key] = str(error)[:300]
            else:
                ward.errors.pop(key, None)
            ward.expired.discard(key)
            touched.update(name for name, _ in rendered)
            if current is not None:
                # A family the old measurement had and the new one lacks must go too.
                touched.update(name for name, _ in current[2])
            if newest is None or measured_at > newest:
                newest = measured_at
        moved = newest != ward.last_report_at
        if moved:
            ward.last_report_at = newest
            self._render_agent_lines(ward_code)
        for family in touched:
            self._join_family(ward_code, family)
        if touched or moved:
            ward.verdict_stale = True
            return True
        return False

    def restore(self, ward_code: str, rows: Iterable[tuple[str, str, str, float, str]]
                ) -> list[str]:
        """Take back a ward's stored newest reports at start-up: (id, kind, target,
        measured_at, result JSON) rows. A row that no longer reads (a kind since removed,
        a field since tightened) or that does not fit the ward's series budget is skipped
        and named in the returned problems: no row can stop a start."""
        if ward_code not in self.wards:
            return [f"ward {ward_code}: not in the inventory; its stored reports are ignored"]
        problems: list[str] = []
        readable: list[tuple[Incoming, list[Sample]]] = []
        for report_id, kind, target, measured_at, result_json in rows:
            probe = PROBES.get(kind)
            try:
                if probe is None:
                    raise ValueError(f"unknown kind {kind!r}")
                data = json.loads(result_json)
                bounds = report_bounds.problems(data)
                if bounds:
                    raise ValueError("; ".join(bounds[:3]))
                result = probe.result_type.model_validate(data)
                if not math.isfinite(measured_at):
                    raise ValueError("measured_at is not a finite number")
                series = series_for(kind, target, result, self.inventory.wards[ward_code])
            except (ValueError, TypeError, RecursionError, OverflowError) as exc:
                problems.append(f"ward {ward_code} report {report_id} ({kind} {target}): "
                                f"skipped, {str(exc).splitlines()[0][:200]}")
                continue
            readable.append(((kind, target, measured_at, result), series))
        # Newest first, so what a budget leaves out is the oldest. One series at a time
        # against a running count: linear in the rows.
        readable.sort(key=lambda row: row[0][2], reverse=True)
        budget = self.inventory.series_budget_for(ward_code)
        kept = PreparedPush(ward_code)
        total = 0
        for index, (report, series) in enumerate(readable):
            key = (report[0], report[1])
            if key in kept.changes:
                continue
            over = over_budget(budget, len(kept.changes) + 1, total + len(series),
                               [(f"{key[0]} {key[1]}", report[3])])
            if over:
                problems.append(f"ward {ward_code} report ({key[0]} {key[1]}): skipped, "
                                f"{over[0]}")
                continue
            kept.changes[key] = (index, report, series)
            total += len(series)
        self.apply_prepared(kept)
        return problems

    def count_refusal(self, ward_code: str, reason: str) -> None:
        """A push refused for ``reason`` (a short fixed word): counted, and exported."""
        ward = self.wards.get(ward_code)
        if ward is None:
            return
        ward.refusals[reason] = ward.refusals.get(reason, 0) + 1
        base = self._ward_labels(ward_code)
        self._set_chunk(REFUSED, ward_code, "".join(
            sample_line(REFUSED, {**base, "reason": name}, count)
            for name, count in sorted(ward.refusals.items())).encode())

    def agent_status(self, ward_code: str, dropped_reports_total: int) -> None:
        """The agent's own count of reports its full spool dropped (it only grows)."""
        ward = self.wards.get(ward_code)
        if ward is not None and dropped_reports_total > ward.dropped_reports_total:
            ward.dropped_reports_total = dropped_reports_total
            self._render_agent_lines(ward_code)

    # --- verdicts

    def refresh(self, now: float | None = None) -> None:
        """Bring every stale verdict up to date, and those whose agent just fell silent."""
        for code in self.wards_to_refresh(now):
            self.refresh_ward(code, now)

    def wards_to_refresh(self, now: float | None = None, spacing_seconds: float = 0.0
                         ) -> list[str]:
        """Wards whose verdict is out of date: their reports changed, or their agent just
        fell silent. With ``spacing_seconds``, a ward judged less than that long ago waits
        (unless it fell silent), so a ward sending many small pushes is judged once for
        them all, while the first push after a quiet spell is judged at once."""
        now = time.time() if now is None else now
        due = []
        for code, ward in self.wards.items():
            silent = (ward.last_report_at is None
                      or now - ward.last_report_at > self._silent_after(ward))
            if silent != ward.silent or now >= ward.expires_at or (
                    ward.verdict_stale and now - ward.evaluated_at >= spacing_seconds):
                due.append(code)
        return due

    def refresh_ward(self, code: str, now: float | None = None) -> None:
        now = time.time() if now is None else now
        ward = self.wards[code]
        silent_after = self._silent_after(ward)
        ward.silent = ward.last_report_at is None or now - ward.last_report_at > silent_after
        self._evaluate(code, now, silent_after)

    def _silent_after(self, ward: WardState) -> float:
        return criteria.agent_silent_after_seconds(ward.thresholds, self.report_interval_seconds)

    def _evaluate(self, code: str, now: float, silent_after: float) -> None:
        ward = self.wards[code]
        timed = self.timed_samples(code)
        outcomes = criteria.evaluate_timed(timed, ward.thresholds, now, silent_after)
        self._expire_old_measurements(code, now, silent_after)
        for name, outcome in outcomes.items():
            before = ward.outcomes.get(name)
            if before is None or before.ok != outcome.ok:
                ward.check_since[name] = now
        ward.outcomes = outcomes
        ready = criteria.ward_ready(outcomes)
        if ready != ward.ready or ward.ready_since is None:
            ward.ready_since = now
        ward.ready = ready
        ward.verdict_stale = False
        ward.evaluated_at = now
        if ward.last_report_at is not None:
            day = dt.datetime.fromtimestamp(now, self.zone).date().isoformat()
            self.pending_history[(day, code)] = ready
            self._note_changes(ward, now, {
                **{name: o.state for name, o in outcomes.items()},
                VERDICT: "ready" if ready else "not_ready"})
        base = self._ward_labels(code)
        self._chunks["sansang_ward_ready"][code] = sample_line(
            "sansang_ward_ready", base, 1 if ready else 0).encode()
        self._set_chunk(CHECK_STATE, code, "".join(
            sample_line(CHECK_STATE, {**base, "check": n, "state": o.state}, 1)
            for n, o in outcomes.items()).encode())
        judged = [(n, o) for n, o in outcomes.items() if o.ok is not None]
        self._set_chunk("sansang_ward_check_ok", code, "".join(
            sample_line("sansang_ward_check_ok", {**base, "check": n}, 1 if o.ok else 0)
            for n, o in judged).encode())
        self._set_chunk("sansang_ward_check_failing_since_timestamp_seconds", code, "".join(
            sample_line("sansang_ward_check_failing_since_timestamp_seconds",
                        {**base, "check": n}, ward.check_since[n])
            for n, o in judged if not o.ok).encode())

    # --- rendering

    def _expire_old_measurements(self, code: str, now: float, silent_after: float) -> None:
        """Take measurements older than their checks' freshness out of ``/metrics`` (as
        client_python's collectors drop what is gone: Prometheus must not alert or draw on
        old data as if it were current; the pages still show them as stale), and note
        when the next one will grow old, so the verdict is judged again then."""
        ward = self.wards[code]
        expired: set[tuple[str, str]] = set()
        expiries = []
        for key, (at, judged, _) in ward.measurements.items():
            limits = [f if f is not None else silent_after
                      for name, _, _ in judged for f in self._freshness.get(name, ())]
            limit = min(limits, default=silent_after)
            if now - at > limit:
                expired.add(key)
            else:
                expiries.append(at + limit)
        ward.expires_at = min(expiries, default=math.inf)
        if expired != ward.expired:
            changed = expired ^ ward.expired
            ward.expired = expired
            for family in {name for key in changed for name, _ in ward.measurements[key][2]}:
                self._join_family(code, family)

    def timed_samples(self, ward_code: str) -> list[tuple[Sample, float | None]]:
        """Every series the ward's verdict reads, each with when it was measured (None:
        from the inventory or the agent's own, always current)."""
        ward = self.wards[ward_code]
        out: list[tuple[Sample, float | None]] = [(s, None) for s in ward.static_samples]
        for measured_at, samples, _ in ward.measurements.values():
            out.extend((s, measured_at) for s in samples)
        out.extend((s, None) for s in self._agent_samples(ward))
        return out

    def samples(self, ward_code: str) -> list[Sample]:
        """The ward's current measured series that verdicts read (without the ward label)."""
        ward = self.wards[ward_code]
        out: list[Sample] = []
        for _, samples, _ in ward.measurements.values():
            out.extend(samples)
        out.extend(self._agent_samples(ward))
        return out

    @staticmethod
    def _agent_samples(ward: WardState) -> tuple[Sample, ...]:
        """The agent's own two series (once it has reported): when it last reported, and
        how many reports its full spool dropped."""
        if ward.last_report_at is None:
            return ()
        return (sample(LAST_REPORT, (), ward.last_report_at),
                sample(DROPPED, (), ward.dropped_reports_total))

    def _ward_labels(self, code: str) -> dict[str, str]:
        if self.wards[code].simulated:
            return {"ward": code, "simulated": "true"}
        return {"ward": code}

    def _set_chunk(self, family: str, code: str, text: bytes) -> None:
        if text:
            self._chunks[family][code] = text
        else:
            self._chunks[family].pop(code, None)

    def _render_static(self) -> None:
        """What only the inventory says: go-live, ward identities, contracts, devices.

        These families never come from a measurement, so no report joins them again."""
        golive = dt.datetime.combine(self.inventory.golive, dt.time(), tzinfo=dt.UTC).timestamp()
        self._static = (FAMILIES["sansang_golive_timestamp_seconds"].header
                        + f"sansang_golive_timestamp_seconds {golive:.0f}\n"
                        + FAMILIES["sansang_platform_info"].header
                        + "".join(sample_line("sansang_platform_info", {
                            "platform": platform,
                            "name": platform_name(self.inventory, platform)}, 1)
                            for platform in self.inventory.platforms)).encode()
        info = self._chunks["sansang_ward_info"]
        for code, ward in self.inventory.wards.items():
            labels = {
                "ward": code, "name": ward.name, "kind": ward.kind,
                "province": ward.province, "cluster": ward.cluster,
            }
            if self.wards[code].simulated:
                labels["simulated"] = "true"
            info[code] = sample_line("sansang_ward_info", labels, 1).encode()
            for name, text in self._rendered(code, self.wards[code].static_samples):
                self._chunks[name][code] = text

    def _rendered(self, code: str, samples: Iterable[Sample]) -> Rendered:
        """``samples`` as exposition lines, grouped by family, with the ward's labels."""
        prefix = self._ward_label_text[code]
        lines: dict[str, list[str]] = {}
        for name, labels, value in samples:
            all_labels = f"{prefix},{cached_label_pairs_text(labels)}" if labels else prefix
            lines.setdefault(name, []).append(f"{name}{{{all_labels}}} {format_value(value)}\n")
        return tuple((name, "".join(text).encode()) for name, text in lines.items())

    def _join_family(self, code: str, family: str) -> None:
        """The ward's lines of one family, from every measurement that has some."""
        ward = self.wards[code]
        self._set_chunk(family, code, b"".join([
            text for key, (_, _, rendered) in ward.measurements.items()
            if key not in ward.expired
            for name, text in rendered if name == family
        ]))

    def _render_agent_lines(self, code: str) -> None:
        for name, text in self._rendered(code, self._agent_samples(self.wards[code])):
            self._chunks[name][code] = text

    def _note_changes(self, ward: WardState, now: float, states: dict[str, str]) -> None:
        for subject, after in states.items():
            before = ward.recorded_states.get(subject)
            if before != after:
                self.pending_changes.append((ward.code, now, subject, before, after))
                ward.recorded_states[subject] = after

    def remember_states(self, recorded: dict[tuple[str, str], str]) -> None:
        """The states the history last recorded, (ward, subject) -> state, read back at
        start-up: a restart records only what really changed while it was down."""
        for (code, subject), after in recorded.items():
            ward = self.wards.get(code)
            if ward is not None:
                ward.recorded_states[subject] = after

    def take_pending_changes(self) -> list[tuple[str, float, str, str | None, str]]:
        pending, self.pending_changes = self.pending_changes, []
        return pending

    def take_pending_history(self) -> dict[tuple[str, str], bool]:
        pending, self.pending_history = self.pending_history, {}
        return pending

    def render_bytes(self) -> bytes:
        """The whole exposition, UTF-8, as ``/metrics`` sends it."""
        # No refresh here: verdicts are brought up to date by the collector's refresher
        # every second, so a scrape never pays for evaluating a burst of reports.
        parts = [self._static]
        for name, chunks in self._chunks.items():
            if chunks:
                parts.append(self._headers[name])
                parts.extend(chunks.values())
        return b"".join(parts)

    def render(self) -> str:
        return self.render_bytes().decode()

    def summary(self) -> dict[str, Any]:
        self.refresh()
        reporting = sum(1 for w in self.wards.values() if w.last_report_at is not None)
        ready = sum(1 for w in self.wards.values() if w.ready)
        return {"wards": len(self.wards), "wards_reporting": reporting, "wards_ready": ready}


LAST_REPORT = "sansang_agent_last_report_timestamp_seconds"
DROPPED = "sansang_agent_dropped_reports_total"
REFUSED = "sansang_ward_pushes_refused_total"
CHECK_STATE = "sansang_ward_check_state"
# The subject under which a ward's own verdict (ready or not_ready) goes in its history.
VERDICT = "ready"
