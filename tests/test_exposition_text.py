"""The hand-made exposition pieces read back by prometheus_client's parser: any label value,
any help text and any value renders to text that parses to the same thing, and nothing
raises (NaN, the infinities, integers beyond float range, -0.0)."""

from __future__ import annotations

import math
import subprocess
import sys

from hypothesis import example, given
from hypothesis import strategies as st
from prometheus_client.parser import text_string_to_metric_families

from collector.exposition import (
    Family,
    cached_label_pairs_text,
    format_value,
    label_text,
    sample_line,
)
from tests.lab.require import require_binary

NAME = "sansang_test_value"
# Lone surrogates are left out: they cannot be UTF-8, and ingest refuses them
# (pydantic will not read them as a string), so no label value carries one.
LABEL_VALUES = st.text() | st.sampled_from(
    ['"', "\\", "\n", '\\"', "\\n", '\\\\"', "a}b", "a,b=c", "\r\n", "\u2028", "é" * 3, ""])
VALUES = (st.floats() | st.integers() | st.integers(-(2**1100), 2**1100)
          | st.sampled_from([math.nan, math.inf, -math.inf, -0.0, 10**400, -(10**400),
                             2**63, 2**64, 10**15, 10**15 - 1, 1e-300, 5e-324, True, False]))
LABEL_NAMES = st.sampled_from(["ward", "target", "platform", "interface", "reason"])


def expected(value: float) -> float:
    """The float64 a Prometheus server keeps: beyond float range is an infinity."""
    if value > sys.float_info.max:
        return math.inf
    if value < -sys.float_info.max:
        return -math.inf
    return float(value)


def same_value(parsed: float, value: float) -> bool:
    want = expected(value)
    return (math.isnan(want) and math.isnan(parsed)) or parsed == want


def parse_one(text: str) -> tuple[str, str, dict[str, str], float]:
    [family] = text_string_to_metric_families(text)
    [sample] = family.samples
    return family.name, family.documentation, sample.labels, sample.value


@given(st.dictionaries(LABEL_NAMES, LABEL_VALUES, max_size=4), VALUES)
@example({"ward": 'a"b\\c\nd'}, math.nan)
@example({"target": "\\"}, 10**400)
def test_any_labels_and_value_read_back_the_same(labels: dict[str, str], value: float) -> None:
    text = Family(NAME, "A value.").header + sample_line(NAME, labels, value)
    name, _, parsed_labels, parsed_value = parse_one(text)
    assert name == NAME
    assert parsed_labels == labels
    assert same_value(parsed_value, value), (text, parsed_value)


@given(st.lists(st.tuples(LABEL_NAMES, LABEL_VALUES), max_size=3, unique_by=lambda p: p[0]))
def test_cached_label_pairs_render_as_label_text_does(pairs: list[tuple[str, str]]) -> None:
    assert cached_label_pairs_text(tuple(pairs)) == label_text(dict(pairs))


# The parser strips the line and the blanks before the help text, so those cannot come back.
HELP_TEXTS = (st.text() | st.sampled_from(["C:\\ward\\n", "one\ntwo", "\\", 'say "ready"'])
              ).map(str.strip)


@given(HELP_TEXTS)
@example("a backslash \\ and a newline \n in help")
def test_any_help_text_reads_back_the_same(help_text: str) -> None:
    text = Family(NAME, help_text).header + f"{NAME} 1\n"
    assert parse_one(text)[1] == help_text


@given(VALUES)
def test_format_value_never_raises_and_writes_a_number_prometheus_reads(value: float) -> None:
    written = format_value(value)
    assert written in ("NaN", "+Inf", "-Inf") or math.isfinite(float(written))
    assert same_value(float(written), value)


def test_promtool_reads_the_hardest_labels_help_and_values() -> None:
    promtool = require_binary("promtool")["promtool"]
    values = [math.nan, math.inf, -math.inf, -0.0, 10**400, -(10**400), 2**64, 5e-324, 1e15]
    label_values = ['"', "\\", "\n", '\\"\\n', "a}b,c=d", "\r", "\u2028", "Phường Bến Thành", ""]
    family = Family(NAME, 'Backslash \\ newline \n quote " and Vietnamese: Sẵn sàng.')
    text = family.header + "".join(
        sample_line(NAME, {"ward": label, "n": str(n)}, value)
        for n, (label, value) in enumerate(zip(label_values, values, strict=True)))
    check = subprocess.run([promtool, "check", "metrics"], input=text, capture_output=True,
                           text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    assert check.stdout + check.stderr == ""
