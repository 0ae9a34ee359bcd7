"""Prometheus rules from the criteria table: recording rules, and one alert rule per condition.

Each alert carries ``ward``, ``cluster``, ``name``, its item label (target, link, platform,
resolver, device), ``severity``, ``check`` and ``condition``. Annotations: a Vietnamese
``summary``, an English ``description``, an absolute ``runbook_url`` and the ``ward_url`` of
the ward's page; values and limits (the ward's own, read from ``sansang_ward_limit``) go
through Prometheus's own humanize functions, which ``inventory.criteria`` mimics for the pages.
The rules do not depend on the inventory: overrides live in the collector's limit series.
"""

from __future__ import annotations

import string
from typing import Any

from alerts.promql import (
    JOIN_WARD_INFO,
    WARD_INFO,
    failure_expr,
    joined,
    missing_expr,
    number,
)
from inventory.criteria import (
    CHECKS,
    LIMIT_METRIC,
    NOT_READY,
    Check,
    Condition,
    Language,
    format_value,
)

# Where the generated links point unless the deployment says otherwise: placeholders
# under the reserved .invalid domain, replaced by `--public-url` and `--runbook-base-url`.
DEFAULT_PUBLIC_URL = "https://sansang.hcmc.invalid"
DEFAULT_RUNBOOK_BASE_URL = "https://sansang.hcmc.invalid/docs/runbooks"

SILENT = "sansang:ward_silent:bool"

# (record, what it holds): the names dashboards and the NOC board query.
RECORDING_RULES: tuple[tuple[str, str, str], ...] = (
    ("sansang:ward_failing_checks:count",
     "sum by (ward) (1 - sansang_ward_check_ok)",
     "per ward, how many checks fail now (a check without data is not counted)"),
    (SILENT, "",
     "per ward, 1 when its agent is silent or never reported, else 0"),
    ("sansang:wards:count",
     f"count(group by (ward) ({WARD_INFO}))",
     "wards in the inventory"),
    ("sansang:wards_ready:count",
     "count(max by (ward) (sansang_ward_ready) == 1) or vector(0)",
     "wards whose every check passes"),
    ("sansang:wards_not_ready:count",
     f"count(group by (ward) ({WARD_INFO}) unless on(ward) (sansang_ward_ready == 1))"
     " or vector(0)",
     "wards not ready, those without a verdict included"),
    ("sansang:wards_silent:count",
     f"sum({SILENT}) or vector(0)",
     "wards whose agent is silent or never reported"),
    ("sansang:check_failing_wards:count",
     "sum by (check) (1 - sansang_ward_check_ok)",
     "per check, how many wards fail it now"),
    ("sansang:cluster_wards_not_ready:count",
     f"count by (cluster) ({WARD_INFO} unless on(ward) (sansang_ward_ready == 1))"
     f" or (0 * count by (cluster) ({WARD_INFO}))",
     "per technician cluster, wards not ready (0 for a cluster all ready)"),
    ("sansang:golive_remaining:seconds",
     "max(sansang_golive_timestamp_seconds) - time()",
     "seconds to go-live; negative after it"),
)

# Go template pieces per unit: the scale to display units, the function, the suffix.
_DISPLAY: dict[str, tuple[float, str, str]] = {
    "seconds": (1.0, "humanizeDuration", ""),
    "duration": (1.0, "humanizeDuration", ""),
    "ratio": (1.0, "humanizePercentage", ""),
    "bits_per_second": (8.0, "humanize", ""),
}

# Go templates cannot call Babel: Prometheus's humanize functions give the figure (four
# significant digits, as inventory.humane keeps), and these rewrites put it in the words
# and form inventory.humane uses — a space before the unit, durations in their largest
# whole unit, a decimal comma in Vietnamese. tests/test_alert_words.py holds both to it.
_WORDS = {
    "vi": {"second": "giây", "seconds": "giây", "minute": "phút", "minutes": "phút",
           "hour": "giờ", "hours": "giờ", "day": "ngày", "days": "ngày"},
    "en": {"second": "second", "seconds": "seconds", "minute": "minute",
           "minutes": "minutes", "hour": "hour", "hours": "hours", "day": "day",
           "days": "days"},
}


def _rewrite(pattern: str, replacement: str) -> str:
    return f' | reReplaceAll "{pattern}" "{replacement}"'


def _plural_fix(language: Language) -> str:
    """English "1 seconds" -> "1 second" (Vietnamese has no plural)."""
    if language != "en":
        return ""
    return "".join(_rewrite(f"(^|[^0-9.,])1 {unit}s", f"${{1}}1 {unit}")
                   for unit in ("second", "minute", "hour", "day"))


def _in_words(unit: str, language: Language) -> str:
    """The rewrites after a humanize function for ``unit`` (see ``_WORDS``)."""
    w = _WORDS[language]
    comma = _rewrite("([0-9])\\\\.([0-9])", "${1},${2}") if language == "vi" else ""
    if unit == "seconds":  # short_time: ms, seconds, "1 minute 10 seconds", then whole
        return (_rewrite("^0s$", "0 ms") + _rewrite("^(-?[0-9.]+)us$", "${1} µs")
                + _rewrite("^(-?[0-9.]+)ms$", "${1} ms")
                + _rewrite("^(-?[0-9.]+)s$", f"${{1}} {w['seconds']}")
                + _rewrite("^(-?[0-9]+)m ([0-9]+)s$",
                           f"${{1}} {w['minutes']} ${{2}} {w['seconds']}")
                + _rewrite("^(-?[0-9]+)d .*$", f"${{1}} {w['days']}")
                + _rewrite("^(-?[0-9]+)h .*$", f"${{1}} {w['hours']}")
                + _plural_fix(language) + comma)
    if unit == "duration":  # duration: the largest whole unit, truncated
        return (_rewrite("^(-?[0-9]+)d .*$", f"${{1}} {w['days']}")
                + _rewrite("^(-?[0-9]+)h .*$", f"${{1}} {w['hours']}")
                + _rewrite("^(-?[0-9]+)m .*$", f"${{1}} {w['minutes']}")
                + _rewrite("^(-?[0-9]+)(\\\\.[0-9]+)?s$", f"${{1}} {w['seconds']}")
                + _rewrite("^-?[0-9.]+[munpfazy]s$", f"0 {w['seconds']}")
                + _plural_fix(language))
    if unit == "bits_per_second":
        return _rewrite("^(-?[0-9.]+)([kMGTP]?)$", "${1} ${2}bit/s") + comma
    if unit == "ratio":
        return comma
    return ""


def rule_groups(
    runbook_base_url: str = DEFAULT_RUNBOOK_BASE_URL, public_url: str = DEFAULT_PUBLIC_URL,
) -> dict[str, Any]:
    """The rule file's document: a recording group and an alerting group."""
    agent = CHECKS[0]
    records = []
    for record, expr, _ in RECORDING_RULES:
        if record == SILENT:
            assert agent.missing is not None
            expr = (f"{failure_expr(agent, agent.conditions[0], as_bool=True)}"
                    f" or ({missing_expr(agent.missing)})")
        records.append({"record": record, "expr": expr})

    links = {"ward_url": f"{public_url.rstrip('/')}/ward/{{{{ $labels.ward }}}}"}
    alerts: list[dict[str, Any]] = []
    for check in CHECKS:
        runbook = runbook_url(runbook_base_url, check.alert)
        for condition in check.conditions:
            alerts.append(_alert(
                check, condition.name, condition.severity or check.severity,
                condition.for_ or check.for_,
                condition.keep_firing_for or check.keep_firing_for,
                joined(failure_expr(check, condition)),
                _go(condition.problem_vi, check, condition, "vi"),
                _go(condition.problem_en, check, condition, "en"),
                {"runbook_url": runbook, **links},
            ))
        if check.missing is not None:
            missing = check.missing
            alerts.append(_alert(
                check, missing.name, missing.severity or check.severity, check.for_,
                check.keep_firing_for, joined(missing_expr(missing)),
                _go(missing.problem_vi, check, None, "vi"),
                _go(missing.problem_en, check, None, "en"),
                {"runbook_url": runbook, **links},
            ))
    alerts += _not_ready_rules({"runbook_url": runbook_url(runbook_base_url, NOT_READY.alert),
                                **links})
    return {"groups": [
        {"name": "sansang-records", "rules": records},
        {"name": "sansang-alerts", "rules": alerts},
    ]}


def header(runbook_base_url: str, public_url: str) -> str:
    lines = [
        "Generated by `python -m alerts.generate` from the criteria table",
        "(inventory/criteria.py). Each ward's limits are the collector's sansang_ward_limit",
        "series, so an override in the inventory changes no rule here.",
        f"Links: runbooks under {runbook_base_url}, ward pages under {public_url}.",
        "Do not edit: change the table and regenerate.",
        "",
        "Recording rules:",
        *(f"  {record}: {meaning}" for record, _, meaning in RECORDING_RULES),
    ]
    return "".join(f"# {line}".rstrip() + "\n" for line in lines)


def _alert(
    check: Check, condition: str, severity: str, for_: str, keep_firing_for: str, expr: str,
    problem_vi: str, problem_en: str, links: dict[str, str],
) -> dict[str, Any]:
    return {
        "alert": check.alert,
        "expr": expr,
        "for": for_,
        "keep_firing_for": keep_firing_for,
        "labels": {"severity": severity, "check": check.name, "condition": condition},
        "annotations": {
            "summary": f"{{{{ $labels.name }}}}: {problem_vi}",
            "description": (f"Ward {{{{ $labels.name }}}} ({{{{ $labels.ward }}}}, "
                            f"{{{{ $labels.cluster }}}}): {problem_en}. {check.hint_en}"),
            **links,
        },
    }


def _not_ready_rules(links: dict[str, str]) -> list[dict[str, Any]]:
    """Warning before go-live, critical from go-live on (also when go-live is unknown: warning)."""
    not_ready = f"max by (ward) ({NOT_READY.metric}) == 0"
    after_golive = "on() (sansang_golive_timestamp_seconds <= time())"
    failing = {
        language: ('{{ with printf "max by (check) (sansang_ward_check_ok{ward=%q}) == 0" '
                   '$labels.ward | query | sortByLabel "check" }}'
                   '{{ range $i, $s := . }}{{ if $i }}, {{ end }}{{ $s.Labels.check'
                   + _check_titles(language) + ' }}{{ end }}')
        for language in ("vi", "en")
    }
    annotations = {
        "summary": ("{{ $labels.name }} chưa sẵn sàng: "
                    + failing["vi"] + "{{ else }}một số tiêu chí chưa có dữ liệu{{ end }}"),
        "description": ("Ward {{ $labels.name }} ({{ $labels.ward }}, {{ $labels.cluster }}) "
                        "is not ready; failing checks: " + failing["en"]
                        + "{{ else }}none yet, some checks have no data{{ end }}. "
                        + NOT_READY.hint_en),
        **links,
    }
    return [
        {
            "alert": NOT_READY.alert,
            "expr": f"(({not_ready}) {combine} {after_golive}) {JOIN_WARD_INFO}",
            "for": NOT_READY.for_,
            "labels": {"severity": severity},
            "annotations": annotations,
        }
        for combine, severity in (("unless", "warning"), ("and", "critical"))
    ]


def _check_titles(language: Language) -> str:
    """A check's key rewritten to its title (the criteria table's), for people."""
    return "".join(_rewrite(f"^{check.name}$", check.title_vi if language == "vi"
                            else check.title_en) for check in CHECKS)


def runbook_url(base: str, alert: str) -> str:
    """The absolute address of an alert's runbook (``docs/runbooks/<alert>.md``)."""
    return f"{base.rstrip('/')}/{alert}.md"


def _go(text: str, check: Check, condition: Condition | None, language: Language) -> str:
    """A problem text of the table as a Go template over the alert's labels and value."""
    parts = []
    for literal, name, _, _ in string.Formatter().parse(text):
        parts.append(literal)
        if name is None:
            continue
        if name in ("value", "threshold"):
            if condition is None:
                raise ValueError(f"{check.name}: a missing-item text cannot use {{{name}}}")
            part = (_go_value(check, condition, language) if name == "value"
                    else _go_threshold(check, condition, language))
            parts.append(part)
        elif name in _NAMED:
            parts.append(_go_name(name, language))
        else:
            parts.append(f"{{{{ $labels.{name} }}}}")
    return "".join(parts)


# A platform, link or device by its name for people (inventory.naming), read from the
# collector's info series when the alert fires; its id when the series is missing.
_NAMED = {
    "platform": ("sansang_platform_info{platform=%q}", ("platform",)),
    "link": ("sansang_link_info{ward=%q,link=%q}", ("ward", "link")),
    "device": ("sansang_device_info{ward=%q,device=%q}", ("ward", "device")),
}


def _go_name(name: str, language: Language) -> str:
    query, labels = _NAMED[name]
    label = "name" if language == "vi" or name == "platform" else "name_en"
    arguments = " ".join(f"$labels.{label_}" for label_ in labels)
    return (f'{{{{ with printf "{query}" {arguments} | query }}}}'
            f'{{{{ . | first | label "{label}" }}}}{{{{ else }}}}{{{{ $labels.{name} }}}}'
            "{{ end }}")


def _go_value(check: Check, condition: Condition, language: Language) -> str:
    scale, function, suffix = _DISPLAY[condition.unit]
    function += _in_words(condition.unit, language)
    if scale == 1.0:
        return f"{{{{ $value | {function} }}}}{suffix}"
    # No arithmetic in Go templates: ask Prometheus for the value in display units.
    worst = "min" if condition.passes_when == ">=" else "max"
    labels = ("ward", *check.item_labels, *condition.extra_labels)
    return _go_query(f"{number(scale)} * {worst}({condition.metric}{{{_matchers(labels)}}})",
                     [f"$labels.{label}" for label in labels], function, suffix)


def _go_threshold(check: Check, condition: Condition, language: Language) -> str:
    """The ward's own limit: a constant, or its ``sansang_ward_limit`` series (times the
    contracted rate with ``relative_to``), read by the template when the alert fires."""
    scale, function, suffix = _DISPLAY[condition.unit]
    function += _in_words(condition.unit, language)
    if not isinstance(condition.threshold, str):
        return format_value(condition.threshold, condition.unit, language)
    limit = f"{LIMIT_METRIC}{{ward=%q,check=%q,condition=%q}}"
    arguments = ["$labels.ward", f'"{check.name}"', f'"{condition.name}"']
    if condition.relative_to:
        labels = ("ward", *check.item_labels)
        query = (f"{number(scale)} * {condition.relative_to}{{{_matchers(labels)}}}"
                 f" * on(ward) group_left() {limit}")
        arguments = [f"$labels.{label}" for label in labels] + arguments
    else:
        query = f"{number(scale)} * {limit}" if scale != 1.0 else limit
    return _go_query(query, arguments, function, suffix)


def _matchers(labels: tuple[str, ...]) -> str:
    return ",".join(f"{label}=%q" for label in labels)


def _go_query(query: str, arguments: list[str], function: str, suffix: str) -> str:
    return (f'{{{{ with printf "{query}" {" ".join(arguments)} | query }}}}'
            f"{{{{ . | first | value | {function} }}}}{suffix}{{{{ end }}}}")
