"""The city readiness report for the leadership meeting, as CSV and XLSX.

Read from the collector's own ward list (``/api/v1/wards``), so the report says
exactly what the board and the API say; one row per ward, the checks as columns.
"""

from __future__ import annotations

import base64
import csv
import datetime as dt
import json
import os
import urllib.request
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Font, PatternFill

from collector.cells import safe_row, without_controls
from inventory import criteria

CHECK_NAMES = [check.name for check in criteria.CHECKS]
COLUMNS = ["ward", "name", "kind", "province", "cluster", "status", "ready", "simulated",
           "failing_checks", "problems", "last_report_utc",
           *[f"check_{name}" for name in CHECK_NAMES]]
FILLS = {"ready": "C6EFCE", "not_ready": "FFC7CE", "silent": "D9D9D9",
         "not_installed": "FFFFFF"}


def fetch_wards(collector_url: str, language: str = "vi", user: str | None = None,
                password: str | None = None, timeout: float = 30) -> list[dict[str, Any]]:
    request = urllib.request.Request(
        collector_url.rstrip("/") + f"/api/v1/wards?lang={language}")
    if user is not None:
        token = base64.b64encode(f"{user}:{password or ''}".encode()).decode()
        request.add_header("Authorization", f"Basic {token}")
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return list(json.loads(response.read())["wards"])


def rows(wards: list[dict[str, Any]]) -> list[list[Any]]:
    out = []
    for ward in wards:
        last = ward["last_report_at"]
        out.append([
            ward["code"], ward["name"], ward["kind"], ward["province"], ward["cluster"],
            ward["status"], "yes" if ward["ready"] else "no",
            "yes" if ward["simulated"] else "no",
            " ".join(f["check"] for f in ward["failing"]),
            "; ".join(p for f in ward["failing"] for p in f["problems"]),
            dt.datetime.fromtimestamp(last, dt.UTC).strftime("%Y-%m-%d %H:%M:%S") if last else "",
            # The check's state, as every page shows it: pass, fail, stale, not_configured,
            # no_data.
            *[ward["states"].get(name, "no_data") for name in CHECK_NAMES],
        ])
    return out


def write_csv(path: Path, table: list[list[Any]]) -> None:
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(COLUMNS)
        writer.writerows(safe_row(row) for row in table)


def write_xlsx(path: Path, table: list[list[Any]], title: str) -> None:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "readiness"
    sheet.append(COLUMNS)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    status_column = COLUMNS.index("status")
    for row in table:
        sheet.append([without_controls(v) if isinstance(v, str) else v for v in row])
        # Text stays text: openpyxl would store a string starting with "=" as a formula.
        # (Typed as a string, it needs no apostrophe, unlike a CSV cell.)
        for cell in sheet[sheet.max_row]:
            if isinstance(cell.value, str):
                cell.data_type = "s"
        fill = FILLS.get(row[status_column])
        if fill:
            sheet.cell(sheet.max_row, status_column + 1).fill = PatternFill(
                "solid", start_color=fill, end_color=fill)
    sheet.freeze_panes = "C2"
    sheet.auto_filter.ref = sheet.dimensions
    book.properties.title = title
    book.save(path)


def export(collector_url: str, out_dir: Path, language: str = "vi", user: str | None = None,
           password: str | None = None) -> tuple[Path, Path]:
    wards = fetch_wards(collector_url, language, user, password)
    table = rows(wards)
    out_dir.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%d-%H%M")
    csv_path = out_dir / f"sansang-readiness-{stamp}.csv"
    xlsx_path = out_dir / f"sansang-readiness-{stamp}.xlsx"
    write_csv(csv_path, table)
    write_xlsx(xlsx_path, table, f"sansang readiness {stamp}")
    return csv_path, xlsx_path


def password_from_env() -> str | None:
    return os.environ.get("SANSANG_NOC_PASSWORD")
