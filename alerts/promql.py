"""The criteria table as PromQL: one failure expression per condition, per-ward limits included.

Wards whose inventory overrides a threshold get their own term; every other ward shares
the default term (``metric{ward!~"a|b"} > 0.1 or metric{ward="a"} > 0.12``), so the
rules stay short however many wards there are. Expressions keep only ``ward`` and the
check's item labels, and join ``cluster`` and ``name`` from ``sansang_ward_info``.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass

from inventory.criteria import (
    DEFAULT_REPORT_INTERVAL_SECONDS,
    Check,
    Condition,
    Missing,
    limit_value,
)
from inventory.model import Inventory

WARD_INFO = "sansang_ward_info"
JOIN_WARD_INFO = f"* on(ward) group_left(cluster, name) {WARD_INFO}"

# The alert fires on the negation of the passing comparison.
FAILS_WHEN = {"<=": ">", ">=": "<", "==": "!="}


@dataclass(frozen=True)
class LimitGroup:
    """Wards that share one limit. The default group lists the wards it leaves out."""

    limit: float
    wards: tuple[str, ...] = ()
    excluded: tuple[str, ...] = ()

    @property
    def matcher(self) -> str | None:
        if self.wards:
            if len(self.wards) == 1:
                return f"ward={quote(self.wards[0])}"
            return f"ward=~{quote(_alternatives(self.wards))}"
        if self.excluded:
            return f"ward!~{quote(_alternatives(self.excluded))}"
        return None


def limit_groups(
    condition: Condition, inventory: Inventory,
    report_interval_seconds: float = DEFAULT_REPORT_INTERVAL_SECONDS,
) -> list[LimitGroup]:
    """The default group first, then one group per overriding limit, by limit."""
    default = limit_value(condition, inventory.thresholds, report_interval_seconds)
    overridden: dict[float, list[str]] = defaultdict(list)
    for code in inventory.wards:
        limit = limit_value(condition, inventory.thresholds_for(code), report_interval_seconds)
        if limit != default:
            overridden[limit].append(code)
    excluded = tuple(sorted(code for codes in overridden.values() for code in codes))
    return [LimitGroup(default, excluded=excluded)] + [
        LimitGroup(limit, wards=tuple(sorted(codes))) for limit, codes in sorted(overridden.items())
    ]


def failure_expr(
    check: Check, condition: Condition, groups: list[LimitGroup], *, as_bool: bool = False
) -> str:
    """Series (ward and item labels) whose measurement fails; the value is the measurement.

    With ``as_bool`` every measured series is returned, 1 when failing and 0 when not.
    """
    item_labels = ("ward", *check.item_labels, *condition.extra_labels)
    fails = FAILS_WHEN[condition.passes_when] + (" bool" if as_bool else "")
    terms = []
    for group in groups:
        measured = selector(condition.metric, group.matcher)
        if condition.window:
            measured = f"avg_over_time({measured}[{condition.window}])"
        if condition.measure == "age":
            measured = f"time() - {measured}"
        elif condition.measure == "remaining":
            measured = f"{measured} - time()"
        elif condition.measure == "magnitude":
            measured = f"abs({measured})"
        limit = number(group.limit)
        if condition.relative_to:
            reference = selector(condition.relative_to, group.matcher)
            limit = f"on({', '.join(item_labels)}) ({limit} * {reference})"
        terms.append(f"{measured} {fails} {limit}")
    body = " or ".join(f"({term})" for term in terms) if len(terms) > 1 else terms[0]
    if condition.only:
        on = ", ".join(("ward", *condition.only.on))
        listed = selector(condition.only.metric, None, condition.only.match)
        body = f"({body}) and on({on}) {listed}"
    # The worst measurement of an item stands for it when several series report it.
    worst = "min" if condition.passes_when == ">=" else "max"
    return f"{worst} by ({', '.join(item_labels)}) ({body})"


def missing_expr(missing: Missing) -> str:
    """Expected items without a ``missing.metric`` sample, value 1."""
    if missing.label is None:
        return f"group by (ward) ({WARD_INFO}) unless on(ward) {missing.metric}"
    if missing.listed_by is None:
        # Only wards that report the metric at all: before that the check has no data.
        source = missing.metric if missing.once_reporting else WARD_INFO
        reporting = f"group by (ward) ({source})"
        expected = " or ".join(
            f'label_replace({reporting}, "{missing.label}", {quote(value)}, "", "")'
            for value in missing.values
        )
    else:
        expected = (f"group by (ward, {missing.label}) "
                    f"({selector(missing.listed_by, None, missing.listed_match)})")
    body = f"({expected}) unless on(ward, {missing.label}) {missing.metric}"
    if missing.listed_by is not None and missing.once_reporting:
        body = f"({body}) and on(ward) group by (ward) ({missing.metric})"
    return body


def joined(expr: str) -> str:
    """``expr`` with the ward's cluster and name, for routing and for the message."""
    return f"({expr}) {JOIN_WARD_INFO}"


def selector(metric: str, ward_matcher: str | None, match: Mapping[str, str] | None = None) -> str:
    matchers = [f"{key}={quote(value)}" for key, value in sorted((match or {}).items())]
    if ward_matcher:
        matchers.append(ward_matcher)
    return f"{metric}{{{','.join(matchers)}}}" if matchers else metric


def quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def number(value: float) -> str:
    return f"{value:.12g}"


def _alternatives(wards: tuple[str, ...]) -> str:
    return "|".join(re.escape(code) for code in wards)
