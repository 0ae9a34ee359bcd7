"""Readable terminal output for the probe command line: aligned columns, colour on a TTY."""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from typing import Any, TextIO

GREEN, RED, DIM, RESET = "\033[32m", "\033[31m", "\033[2m", "\033[0m"


def use_colour(stream: TextIO) -> bool:
    return stream.isatty() and "NO_COLOR" not in os.environ


def human(value: Any, unit: str = "") -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        if unit == "s":
            return f"{value * 1000:.2f} ms" if value < 10 else f"{value:.1f} s"
        if unit == "ratio":
            return f"{value * 100:.1f} %"
        if unit == "B/s":
            return f"{value * 8 / 1e6:.2f} Mbit/s"
        return f"{value:.3g}"
    return str(value)


def table(rows: Sequence[dict[str, Any]], columns: Sequence[tuple[str, str, str]],
          stream: TextIO = sys.stdout) -> None:
    """Print ``rows`` with ``columns`` = (field, heading, unit); ``up`` colours the row."""
    colour = use_colour(stream)
    cells = [[human(row.get(f), unit) for f, _, unit in columns] for row in rows]
    headings = [h for _, h, _ in columns]
    widths = [max(len(h), *(len(c[i]) for c in cells)) if cells else len(h)
              for i, h in enumerate(headings)]
    line = "  ".join(h.ljust(w) for h, w in zip(headings, widths, strict=True))
    print(f"{DIM}{line}{RESET}" if colour else line, file=stream)
    for row, cell in zip(rows, cells, strict=True):
        text = "  ".join(c.ljust(w) for c, w in zip(cell, widths, strict=True))
        if colour:
            text = f"{GREEN if row.get('up') else RED}{text}{RESET}"
        print(text, file=stream)
        if row.get("error"):
            print(f"    {row['error']}", file=stream)
