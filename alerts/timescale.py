"""Rules and routing compressed in time, for end-to-end tests that cannot wait for hours.

Every duration in a rule document (``for:``, ``keep_firing_for:``, range selectors) and in the
Alertmanager route (group wait and interval) is multiplied by one factor; the
logic is untouched. A test that uses a factor of 1/30 waits 10 s where the
production rules wait 5 minutes, and states its promise in those terms.
"""

from __future__ import annotations

import copy
import re
from typing import Any

_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, "w": 604800.0}
_DURATION = re.compile(r"^(\d+(?:\.\d+)?)(ms|s|m|h|d|w)$")
_RANGE = re.compile(r"\[(\d+(?:ms|s|m|h|d|w))\]")


def seconds(duration: str) -> float:
    match = _DURATION.match(duration)
    if match is None:
        raise ValueError(f"not a Prometheus duration: {duration!r}")
    return float(match.group(1)) * _UNITS[match.group(2)]


def format_duration(value: float) -> str:
    milliseconds = max(1, round(value * 1000))
    if milliseconds % 1000:
        return f"{milliseconds}ms"
    return f"{milliseconds // 1000}s"


def scale(duration: str, factor: float) -> str:
    return format_duration(seconds(duration) * factor)


def scale_rules(document: dict[str, Any], factor: float) -> dict[str, Any]:
    scaled = copy.deepcopy(document)
    for group in scaled["groups"]:
        for rule in group["rules"]:
            rule["expr"] = _RANGE.sub(lambda m: f"[{scale(m.group(1), factor)}]", rule["expr"])
            for key in ("for", "keep_firing_for"):
                if key in rule:
                    rule[key] = scale(rule[key], factor)
    return scaled


def scale_routing(config: dict[str, Any], factor: float) -> dict[str, Any]:
    scaled = copy.deepcopy(config)
    route = scaled["route"]
    for key in ("group_wait", "group_interval"):
        if key in route:
            route[key] = scale(route[key], factor)
    return scaled
