"""Numbers, quantities, durations and times as people read them, in Vietnamese or English.

One formatter for every page, export, command-line line and problem text, on Babel's CLDR
data: a decimal comma and dot-grouped thousands in Vietnamese ("1.234,5"), a space before
a unit ("425,2 ms", "28,73 Mbit/s"), durations in words ("10 phút", "14 ngày"), dates as
``dd/mm/yyyy HH:MM`` in the city's own zone. Percentages follow CLDR for each language
("35%", no space, in both).

The alert rules format the same values in Prometheus's Go templates, which Babel cannot
reach: ``alerts.rules`` applies the same rules there (same precision, same units, same
largest-whole-unit durations), so an alert and a page say the same thing in the same form.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Literal

from babel.numbers import format_decimal, format_percent
from babel.units import format_unit

Language = Literal["vi", "en"]

# Prometheus's humanize keeps four significant digits; so do we, so that a page and an
# alert show the same figure.
SIGNIFICANT = 4
_PREFIXES = ("", "k", "M", "G", "T", "P")


def _significant(value: float) -> float:
    return float(f"{value:.{SIGNIFICANT}g}")


def number(value: float, language: Language, decimals: int = 3) -> str:
    """``1234.5`` -> ``1.234,5`` (vi) or ``1,234.5`` (en); at most ``decimals`` decimals."""
    if not math.isfinite(value):
        return "?"
    if abs(value) >= LARGEST:
        return _plain(value, language)
    pattern = "#,##0" + ("." + "#" * decimals if decimals else "")
    return format_decimal(_significant(value), format=pattern, locale=language)


# Past this, a figure is noise from a broken device or a hostile push, not a measurement:
# it is shown as Python writes it (Babel's decimal arithmetic would refuse it).
LARGEST = 1e15


def _plain(value: float, language: Language) -> str:
    text = f"{value:.4g}"
    return text.replace(".", ",") if language == "vi" else text


def percent(ratio: float, language: Language) -> str:
    """``0.025`` -> ``2,5%`` (vi), ``2.5%`` (en)."""
    if not math.isfinite(ratio):
        return "?"
    if abs(ratio * 100) >= LARGEST:
        return _plain(ratio * 100, language) + "%"
    return format_percent(_significant(ratio * 100) / 100, format="#,##0.####%",
                          locale=language)


def short_time(seconds: float, language: Language) -> str:
    """A response or round-trip time: ``425,2 µs`` under a millisecond, ``425,2 ms`` under
    a second, ``2,3 giây`` above, ``1 phút 10 giây`` past a minute, its largest whole unit
    past an hour."""
    if not math.isfinite(seconds):
        return "?"
    if 0 < abs(seconds) < 0.001:  # loopback and LAN round trips
        return f"{number(seconds * 1e6, language)} µs"
    if abs(seconds) < 1:
        return f"{number(seconds * 1000, language)} ms"
    if abs(seconds) < 60:
        return _unit(_significant(seconds), "duration-second", language)
    if abs(seconds) >= 3600:
        return duration(seconds, language)
    whole = int(abs(seconds))
    sign = "-" if seconds < 0 else ""
    return (sign + _unit(whole // 60, "duration-minute", language) + " "
            + _unit(whole % 60, "duration-second", language))


def duration(seconds: float, language: Language) -> str:
    """An age, a runtime or a time left, in its largest whole unit: ``45 giây``,
    ``10 phút``, ``3 giờ``, ``14 ngày`` (truncated, as a clock counts)."""
    if not math.isfinite(seconds):
        return "?"
    value = abs(seconds)
    sign = "-" if seconds < 0 else ""
    for size, unit in ((86400, "duration-day"), (3600, "duration-hour"),
                       (60, "duration-minute")):
        if value >= size:
            return sign + _unit(int(value // size), unit, language)
    return sign + _unit(int(value), "duration-second", language)


def bitrate(bits_per_second: float, language: Language) -> str:
    """``28730000`` -> ``28,73 Mbit/s``: the prefix people quote, as Prometheus picks it."""
    if not math.isfinite(bits_per_second):
        return "?"
    value, prefix = bits_per_second, ""
    for candidate in _PREFIXES:
        prefix = candidate
        if abs(value) < 1000 or candidate == _PREFIXES[-1]:
            break
        value /= 1000
    return f"{number(value, language)} {prefix}bit/s"


def timestamp(unix: float, zone: dt.tzinfo) -> str:
    """``14:05 03/12/2026`` in ``zone``: the same in both languages."""
    return dt.datetime.fromtimestamp(unix, zone).strftime("%H:%M %d/%m/%Y")


def date(day: dt.date) -> str:
    return day.strftime("%d/%m/%Y")


def _unit(value: float, unit: str, language: Language) -> str:
    if abs(value) >= LARGEST:
        return f"{_plain(value, language)} {unit.removeprefix('duration-')}"
    # "giờ" rather than CLDR's colloquial "tiếng" for hours: the word of official texts.
    text = format_unit(value, unit, length="long", format="#,##0.###", locale=language)
    return text.replace("tiếng", "giờ") if language == "vi" else text
