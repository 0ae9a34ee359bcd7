"""Text made safe for a spreadsheet cell: what a ward or the inventory wrote never runs as a
formula and never carries a character a spreadsheet cannot hold.

OWASP's rule for CSV injection: a cell that starts with ``= + - @``, a tab or a carriage
return is read as a formula by Excel and LibreOffice, so it gets a leading apostrophe.
Control characters (which XLSX cannot store at all) become spaces.
"""

from __future__ import annotations

import re
from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# C0 controls but tab, line feed and carriage return, DEL and the C1 controls:
# XML 1.0 (and so XLSX) cannot hold most of them, and none belongs in a report.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def without_controls(text: str) -> str:
    return _CONTROL.sub(" ", text)


def safe_cell(value: Any) -> Any:
    """``value`` as a cell: numbers and booleans as they are, text neutralised."""
    if not isinstance(value, str):
        return value
    text = without_controls(value)
    if text.startswith(FORMULA_STARTS):
        return "'" + text
    return text


def safe_row(row: list[Any]) -> list[Any]:
    return [safe_cell(value) for value in row]
