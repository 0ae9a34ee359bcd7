"""The criteria table as PromQL: one failure expression per condition, whatever the overrides.

A condition whose limit is a threshold compares against the ward's own limit, the
collector's ``sansang_ward_limit{check,condition}`` series, so a per-ward override
changes the result and never the rule text. Expressions keep only ``ward`` and the
check's item labels, and join ``cluster`` and ``name`` from ``sansang_ward_info``.
"""

from __future__ import annotations

from collections.abc import Mapping

from inventory.criteria import LIMIT_METRIC, Check, Condition, Missing

WARD_INFO = "sansang_ward_info"
JOIN_WARD_INFO = f"* on(ward) group_left(cluster, name) {WARD_INFO}"

# The alert fires on the negation of the passing comparison.
FAILS_WHEN = {"<=": ">", "<": ">=", ">=": "<", "==": "!="}


def limit_selector(check: Check, condition: Condition) -> str:
    """The ward's limit series of a condition, e.g. ``sansang_ward_limit{check="loss",…}``."""
    return selector(LIMIT_METRIC, None, {"check": check.name, "condition": condition.name})


def limit_expr(check: Check, condition: Condition) -> str:
    """The condition's limit per ward (and item, with ``relative_to``), in base units."""
    if not isinstance(condition.threshold, str):
        return number(condition.threshold)
    limit = limit_selector(check, condition)
    if condition.relative_to:
        return f"({condition.relative_to} * on(ward) group_left() {limit})"
    return limit


def failure_expr(check: Check, condition: Condition, *, as_bool: bool = False) -> str:
    """Series (ward and item labels) whose measurement fails; the value is the measurement.

    With ``as_bool`` every measured series is returned, 1 when failing and 0 when not.
    """
    item_labels = ("ward", *check.item_labels, *condition.extra_labels)
    fails = FAILS_WHEN[condition.passes_when] + (" bool" if as_bool else "")
    measured = condition.metric
    if condition.where:
        label, values = condition.where
        measured += f"{{{label}=~{quote('|'.join(values))}}}"
    if condition.window:
        measured = f"avg_over_time({measured}[{condition.window}])"
    if condition.measure == "age":
        measured = f"time() - {measured}"
    elif condition.measure == "remaining":
        measured = f"{measured} - time()"
    elif condition.measure == "magnitude":
        measured = f"abs({measured})"
    limit = limit_expr(check, condition)
    if condition.relative_to:
        body = f"{measured} {fails} on({', '.join(item_labels)}) {limit}"
    elif isinstance(condition.threshold, str):
        body = f"{measured} {fails} on(ward) group_left() {limit}"
    else:
        body = f"{measured} {fails} {limit}"
    if condition.only:
        on = ", ".join(("ward", *condition.only.on))
        listed = selector(condition.only.metric, None, condition.only.match)
        body = f"({body}) and on({on}) {listed}"
    # The worst measurement of an item stands for it when several series report it.
    worst = "min" if condition.passes_when == ">=" else "max"
    if condition.every_item:
        # Failing only when no item passes: the best item's value, per ward.
        best = "max" if condition.passes_when == ">=" else "min"
        every = f"{best} by (ward) ({measured})"
        return (f"{every} {fails} on(ward) group_left() {limit}"
                if isinstance(condition.threshold, str) else f"{every} {fails} {limit}")
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
