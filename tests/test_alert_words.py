"""An alert and a page say a value the same way: the rules' Go templates (Prometheus's
humanize functions, then the rewrites of ``alerts.rules``) give, for every unit and
language, the text ``inventory.humane`` gives the pages. Prometheus's humanize functions
are modelled by ``inventory.criteria``'s copies of them (checked against Prometheus in
test_criteria); the rewrites are applied as Go's regexp would."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from alerts.rules import _DISPLAY, _in_words
from inventory.criteria import format_value, humanize, humanize_duration, humanize_percentage

GO_FUNCTIONS = {"humanizeDuration": humanize_duration, "humanizePercentage": humanize_percentage,
                "humanize": humanize}
REWRITE = re.compile(r'\| reReplaceAll "((?:[^"\\]|\\.)*)" "((?:[^"\\]|\\.)*)"')


def go_text(value: float, unit: str, language: str) -> str:
    scale, function, suffix = _DISPLAY[unit]
    text = GO_FUNCTIONS[function](value * scale) + suffix
    for pattern, replacement in REWRITE.findall(_in_words(unit, language)):
        pattern = pattern.replace("\\\\", "\\")  # a Go string literal's escapes
        text = re.sub(pattern, re.sub(r"\$\{(\d+)\}", r"\\g<\1>", replacement), text)
    return text


CASES = [
    ("seconds", [0.0, 0.0004252, 0.012, 0.1, 0.4252, 0.999, 1.0, 2.345, 59.5, 70.0, 600.0, 7200.0]),
    ("duration", [0.5, 1.0, 6.044, 59.9, 60.0, 420.0, 3599.0, 3600.0, 86399.0, 86400.0,
                  863400.0, 1209600.0]),
    ("ratio", [0.0, 0.001234, 0.01, 0.015, 0.2, 0.35, 1.0]),
    ("bits_per_second", [125.0, 118750.0, 3.59e6, 5.25e6, 12.5e6, 1.25e8, 1.3e9]),
]


@pytest.mark.parametrize("language", ["vi", "en"])
@pytest.mark.parametrize(("unit", "values"), CASES, ids=[c[0] for c in CASES])
def test_the_alert_templates_say_each_value_as_the_pages_do(
        unit: str, values: list[float], language: str) -> None:
    for value in values:
        assert go_text(value, unit, language) == format_value(value, unit, language), value


@pytest.mark.parametrize(("value", "unit", "vi", "en"), [
    (0.4252, "seconds", "425,2 ms", "425.2 ms"),
    (3.2, "seconds", "3,2 giây", "3.2 seconds"),
    (600.0, "duration", "10 phút", "10 minutes"),
    (14 * 86400.0, "duration", "14 ngày", "14 days"),
    (0.015, "ratio", "1,5%", "1.5%"),
    (28.73e6 / 8, "bits_per_second", "28,73 Mbit/s", "28.73 Mbit/s"),
])
def test_values_read_as_people_write_them(value: float, unit: str, vi: str, en: str) -> None:
    assert format_value(value, unit, "vi") == vi
    assert format_value(value, unit, "en") == en


@given(st.floats(allow_nan=True, allow_infinity=True),
       st.sampled_from(["seconds", "duration", "ratio", "bits_per_second", "state"]),
       st.sampled_from(["vi", "en"]))
def test_no_value_a_device_or_a_stranger_sends_stops_the_formatter(
        value: float, unit: str, language: str) -> None:
    assert isinstance(format_value(value, unit, language), str)  # type: ignore[arg-type]
