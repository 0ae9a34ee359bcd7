"""The mutation tool itself, on a tiny module: which mutants it makes, and that a run kills,
times out and lists survivors as it says (so `python -m tools.mutate` cannot rot unseen)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tools.mutate import list_mutants

ROOT = Path(__file__).resolve().parent.parent

TINY = '''\
import re

NAME = re.compile(r"^[a-z]{2,4}$")


def is_name(text):
    return NAME.search(text) is not None


def clamp(value, high):
    if value > high:
        return high
    return value


def countdown(n):
    steps = 0
    while n > 0:
        n -= 1
        steps += 1
    return steps
'''

TINY_TESTS = '''\
from tiny import clamp, countdown, is_name


def test_names():
    assert is_name("abc")
    assert not is_name("1ab")
    assert not is_name("abcde")


def test_clamp():
    assert clamp(5, 3) == 3
    assert clamp(2, 3) == 2


def test_countdown():
    assert countdown(3) == 3
'''


def test_each_operator_makes_its_mutants_in_a_fixed_order():
    described = [m.describe("tiny.py") for m in list_mutants(TINY)]
    assert described == [
        "tiny.py:3: r\"^[a-z]{2,4}$\"  →  '[a-z]{2,4}$'",
        "tiny.py:3: r\"^[a-z]{2,4}$\"  →  '^[a-z]{2,4}'",
        "tiny.py:3: r\"^[a-z]{2,4}$\"  →  '^[a-z]*$'",
        "tiny.py:3: r\"^[a-z]{2,4}$\"  →  '^.{2,4}$'",
        "tiny.py:7: NAME.search(text) is not None  →  NAME.search(text) is None",
        "tiny.py:7: return NAME.search(text) is not None  →  return None",
        "tiny.py:11: if value > high: …  →  (deleted)",
        "tiny.py:11: value > high  →  value >= high",
        "tiny.py:12: return high  →  return None",
        "tiny.py:11: value > high  →  not value > high",
        "tiny.py:13: return value  →  return None",
        "tiny.py:17: steps = 0  →  (deleted)",
        "tiny.py:17: 0  →  1",
        "tiny.py:18: while n > 0: …  →  (deleted)",
        "tiny.py:18: 0  →  1",
        "tiny.py:18: n > 0  →  n >= 0",
        "tiny.py:19: n -= 1  →  (deleted)",
        "tiny.py:19: 1  →  2",
        "tiny.py:19: n -= 1  →  n += 1",
        "tiny.py:20: steps += 1  →  (deleted)",
        "tiny.py:20: 1  →  2",
        "tiny.py:20: steps += 1  →  steps -= 1",
        "tiny.py:18: n > 0  →  not n > 0",
        "tiny.py:21: return steps  →  return None",
    ]


def test_strict_models_are_loosened_and_prose_types_and_docstrings_are_left_alone():
    source = '''\
"""A docstring."""
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Kind = Literal["icmp", "http"]


class Report(BaseModel):
    """Another docstring."""

    model_config = ConfigDict(extra="forbid")
    ward: str = Field(pattern=r"^[0-9]{5}$")
    note: str = "a sentence with spaces"
'''
    assert [(m.original, m.mutated) for m in list_mutants(source)] == [
        ('"forbid"', "'ignore'"),
        ('r"^[0-9]{5}$"', "'[0-9]{5}$'"),
        ('r"^[0-9]{5}$"', "'^[0-9]{5}'"),
        ('r"^[0-9]{5}$"', "'^[0-9]*$'"),
        ('r"^[0-9]{5}$"', "'^.{5}$'"),
    ]


def test_a_run_counts_killed_timed_out_and_surviving_mutants(tmp_path: Path):
    (tmp_path / "tiny.py").write_text(TINY)
    (tmp_path / "test_tiny.py").write_text(TINY_TESTS)
    (tmp_path / "pytest.ini").write_text("[pytest]\n")  # no configuration from above
    # A killed regex loosening, a killed comparison, the one survivor (clamp(3, 3) is 3 either
    # way) and an endless loop.
    run = subprocess.run(
        [sys.executable, "-m", "tools.mutate", "tiny.py", "--tests", "test_tiny.py",
         "--root", str(tmp_path), "--only", "0", "4", "7", "18", "--timeout", "3",
         "--fail-under", "80"],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )
    assert run.stdout.splitlines() == [
        "tiny.py: 4 mutants, 2 killed, 1 timed out, 1 survived: 75.0 %",
        "  survived #7 tiny.py:11: value > high  →  value >= high",
    ]
    assert run.returncode == 1  # under --fail-under
