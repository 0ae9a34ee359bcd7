"""What any report may hold, whatever its kind: the bounds agent and collector both apply.

Every number must fit what the store, the exposition and Prometheus (a float64) can
hold; every string is free of control characters; nesting is shallow. The collector
refuses a report outside these bounds before storing anything; the agent makes its own
results fit them before spooling, so a device's odd text never costs a batch.
"""

from __future__ import annotations

import math
import re
from typing import Any

# SNMP's Counter64 is the largest integer a device can report; the smallest is a
# signed 64-bit one. Both are exact enough as float64 for Prometheus.
MIN_INTEGER = -(2**63)
MAX_INTEGER = 2**64 - 1
# Free text (an error, a device's description, a final URL); identities are shorter.
MAX_TEXT_LENGTH = 4000
# A report is an object of objects and lists, a few levels deep (snmp: result,
# interfaces, one interface). Anything deeper is not a report.
MAX_DEPTH = 8
# Controls but tab, line feed and carriage return, which error texts may carry.
_TEXT_CONTROLS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# In a name (a target, an interface), no control at all: it becomes a label value.
_NAME_CONTROLS = re.compile(r"[\x00-\x1f\x7f]")
# The same rules as JSON Schema patterns, for the API's published description.
TEXT_PATTERN = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$"
NAME_PATTERN = r"^[^\x00-\x1f\x7f]+$"


def problems(data: Any, where: str = "") -> list[str]:
    """Why ``data`` (as parsed from JSON) falls outside the bounds; empty when it fits.

    Iterative, so no input can exhaust the interpreter's stack."""
    found: list[str] = []
    stack: list[tuple[Any, str, int]] = [(data, where, 0)]
    while stack and len(found) < 50:
        value, path, depth = stack.pop()
        if depth > MAX_DEPTH:
            found.append(f"{path or 'body'}: nested deeper than {MAX_DEPTH} levels")
        elif isinstance(value, bool) or value is None:
            continue
        elif isinstance(value, int):
            if not MIN_INTEGER <= value <= MAX_INTEGER:
                found.append(f"{path}: integer outside {MIN_INTEGER}..{MAX_INTEGER}")
        elif isinstance(value, float):
            if not math.isfinite(value):
                found.append(f"{path}: not a finite number")
        elif isinstance(value, str):
            if len(value) > MAX_TEXT_LENGTH:
                found.append(f"{path}: text longer than {MAX_TEXT_LENGTH} characters")
            elif _TEXT_CONTROLS.search(value):
                found.append(f"{path}: control character in text")
        elif isinstance(value, dict):
            for key, item in value.items():
                if not isinstance(key, str) or _NAME_CONTROLS.search(key):
                    found.append(f"{path}: field name with a control character")
                    continue
                stack.append((item, f"{path}.{key}" if path else key, depth + 1))
        elif isinstance(value, list):
            stack.extend((item, f"{path}.{index}" if path else str(index), depth + 1)
                         for index, item in enumerate(value))
        else:
            found.append(f"{path}: unexpected {type(value).__name__}")
    return found


def bound_schema(schema: Any) -> None:
    """Write these bounds into a JSON Schema (in place), where it has none tighter: every
    string gets the text pattern and length, every integer the range."""
    stack = [schema]
    while stack:
        node = stack.pop()
        if isinstance(node, list):
            stack.extend(node)
            continue
        if not isinstance(node, dict):
            continue
        kind = node.get("type")
        if kind == "string" and "enum" not in node and "const" not in node:
            node.setdefault("pattern", TEXT_PATTERN)
            node["maxLength"] = min(node.get("maxLength", MAX_TEXT_LENGTH), MAX_TEXT_LENGTH)
        elif kind == "integer":
            node["minimum"] = max(node.get("minimum", MIN_INTEGER), MIN_INTEGER)
            node["maximum"] = min(node.get("maximum", MAX_INTEGER), MAX_INTEGER)
        stack.extend(value for key, value in node.items() if key != "pattern")


def fitted(data: Any) -> Any:
    """``data`` made to fit the bounds where that loses nothing that matters: control
    characters become spaces, over-long text is cut, with a mark. Numbers and nesting
    are left alone: a probe that produces them out of bounds is a bug to see."""
    if isinstance(data, str):
        text = _TEXT_CONTROLS.sub(" ", data)
        if len(text) > MAX_TEXT_LENGTH:
            text = text[: MAX_TEXT_LENGTH - 1] + "…"
        return text
    if isinstance(data, dict):
        return {key: fitted(value) for key, value in data.items()}
    if isinstance(data, list):
        return [fitted(value) for value in data]
    return data
