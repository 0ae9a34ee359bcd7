"""One row per figure: ours, the peer's from the same run, their ratio, the target and the verdict.

Targets live here, in the benchmark's output, never in a timed test. A row
that could not be measured says why instead of showing a number.
"""

from __future__ import annotations

import json
import platform
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class Row:
    key: str
    figure: str
    unit: str
    ours: float | None
    peer: float | None = None
    peer_name: str = ""
    target: str = "—"
    # None when the row has no target, or could not be measured.
    met: bool | None = None
    note: str = ""
    details: dict[str, Any] = field(default_factory=dict)
    unavailable: str | None = None

    @property
    def ratio(self) -> float | None:
        if self.ours is None or not self.peer:
            return None
        return self.ours / self.peer


def unavailable_rows(keys: Sequence[tuple[str, str, str]], peer_name: str,
                     reason: str) -> list[Row]:
    """Rows for a benchmark that could not run: (key, figure, unit) each, with the reason."""
    return [Row(key, figure, unit, None, None, peer_name, unavailable=reason)
            for key, figure, unit in keys]


def at_least(value: float | None, limit: float) -> bool | None:
    return None if value is None else value >= limit


def at_most(value: float | None, limit: float) -> bool | None:
    return None if value is None else value <= limit


def all_met(*checks: bool | None) -> bool | None:
    if any(c is None for c in checks):
        return None
    return all(checks)


def _number(value: float | None, unit: str) -> str:
    if value is None:
        return "—"
    if unit in ("ms", "MB", "s", "Gbit/s", "%"):
        text = f"{value:,.3f}" if abs(value) < 10 else f"{value:,.1f}"
    else:
        text = f"{value:,.0f}"
    return f"{text} {unit}"


def _ratio(value: float | None) -> str:
    if value is None:
        return "—"
    if value >= 10:
        return f"{value:,.0f}×"
    return f"{value:.3f}×" if value < 0.1 else f"{value:.2f}×"


def _verdict(row: Row) -> str:
    if row.unavailable:
        return "n/a"
    if row.met is None:
        return "—" if row.target == "—" else "?"
    return "yes" if row.met else "NO"


def table(rows: Sequence[Row]) -> str:
    header = ("figure", "ours", "peer", "ratio", "target", "met?")
    lines: list[tuple[str, ...]] = []
    notes: list[str] = []
    for row in rows:
        if row.unavailable:
            lines.append((row.figure, "not available", row.peer_name or "—", "—", row.target,
                          "n/a"))
            notes.append(f"{row.figure}: not available: {row.unavailable}")
            continue
        peer = _number(row.peer, row.unit)
        if row.peer_name and row.peer is not None:
            peer = f"{peer} ({row.peer_name})"
        lines.append((row.figure, _number(row.ours, row.unit), peer, _ratio(row.ratio),
                      row.target, _verdict(row)))
        if row.note:
            notes.append(f"{row.figure}: {row.note}")
    widths = [max(len(line[i]) for line in (header, *lines)) for i in range(len(header))]

    def fmt(cells: tuple[str, ...]) -> str:
        return "  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip()

    out = [fmt(header), fmt(tuple("-" * w for w in widths)), *(fmt(line) for line in lines)]
    if notes:
        out += ["", *(f"  * {n}" for n in notes)]
    return "\n".join(out)


def write_json(path: Path, rows: Sequence[Row], meta: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    document = {
        "when": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "machine": {"python": platform.python_version(), "platform": platform.platform()},
        **meta,
        "rows": [{**asdict(r), "ratio": r.ratio} for r in rows],
    }
    path.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n",
                    encoding="utf-8")


Benchmark = Callable[..., list[Row]]
