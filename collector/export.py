"""The city readiness report for the leadership meeting, as CSV and XLSX.

Read from the collector's own ward list (``/api/v1/wards``), so the report says
exactly what the board and the API say; one row per ward, the checks as columns.
Written for people in the language asked (``--lang``): column names, statuses and check
states in words, times in the city's zone (``inventory.humane``). Programs read the API.
"""

from __future__ import annotations

import base64
import csv
import datetime as dt
import json
import os
import urllib.request
import zoneinfo
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Font, PatternFill

from collector.cells import safe_row, without_controls
from collector.i18n import Language, translate
from inventory import criteria, humane

CHECK_NAMES = [check.name for check in criteria.CHECKS]
# The columns' keys; their headers are in words (``headers``).
COLUMNS = ["ward", "name", "kind", "province", "cluster", "status", "ready", "simulated",
           "failing_checks", "problems", "last_report",
           *[f"check_{name}" for name in CHECK_NAMES]]


def headers(language: Language = "vi") -> list[str]:
    return [translate(f"check.{key.removeprefix('check_')}", language)
            if key.startswith("check_") else translate(f"export.{key}", language)
            for key in COLUMNS]
FILLS = {"ready": "C6EFCE", "not_ready": "FFC7CE", "silent": "D9D9D9",
         "not_installed": "FFFFFF"}


def fetch_wards(collector_url: str, language: str = "vi", user: str | None = None,
                password: str | None = None, timeout: float = 30
                ) -> tuple[list[dict[str, Any]], str]:
    """The wards as the API lists them, and the city's time zone."""
    request = urllib.request.Request(
        collector_url.rstrip("/") + f"/api/v1/wards?lang={language}")
    if user is not None:
        token = base64.b64encode(f"{user}:{password or ''}".encode()).decode()
        request.add_header("Authorization", f"Basic {token}")
    with urllib.request.urlopen(request, timeout=timeout) as response:
        body = json.loads(response.read())
    return list(body["wards"]), str(body.get("timezone") or "UTC")


def rows(wards: list[dict[str, Any]], language: Language = "vi",
         zone: dt.tzinfo = dt.UTC) -> list[list[Any]]:
    def yes(value: bool) -> str:
        return translate("export.yes" if value else "export.no", language)

    out = []
    for ward in wards:
        last = ward["last_report_at"]
        out.append([
            ward["code"], ward["name"], ward["kind"], ward["province"], ward["cluster"],
            translate(f"board.{ward['status']}", language), yes(ward["ready"]),
            yes(ward["simulated"]),
            "; ".join(translate(f"check.{f['check']}", language) for f in ward["failing"]),
            "; ".join(p for f in ward["failing"] for p in f["problems"]),
            humane.timestamp(last, zone) if last else "",
            # The check's state, as every page shows it.
            *[translate(f"state.{ward['states'].get(name, 'no_data')}", language)
              for name in CHECK_NAMES],
        ])
    return out


def write_csv(path: Path, table: list[list[Any]], language: Language = "vi") -> None:
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(headers(language))
        writer.writerows(safe_row(row) for row in table)


def write_xlsx(path: Path, table: list[list[Any]], title: str, language: Language = "vi",
               statuses: list[str] | None = None) -> None:
    """``statuses``: each row's status key, for its colour."""
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = translate("export.sheet", language)
    sheet.append(headers(language))
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    status_column = COLUMNS.index("status")
    for index, row in enumerate(table):
        sheet.append([without_controls(v) if isinstance(v, str) else v for v in row])
        # Text stays text: openpyxl would store a string starting with "=" as a formula.
        # (Typed as a string, it needs no apostrophe, unlike a CSV cell.)
        for cell in sheet[sheet.max_row]:
            if isinstance(cell.value, str):
                cell.data_type = "s"
        fill = FILLS.get(statuses[index]) if statuses else None
        if fill:
            sheet.cell(sheet.max_row, status_column + 1).fill = PatternFill(
                "solid", start_color=fill, end_color=fill)
    sheet.freeze_panes = "C2"
    sheet.auto_filter.ref = sheet.dimensions
    book.properties.title = title
    book.save(path)


def export(collector_url: str, out_dir: Path, language: str = "vi", user: str | None = None,
           password: str | None = None) -> tuple[Path, Path]:
    wards, zone_name = fetch_wards(collector_url, language, user, password)
    lang: Language = "en" if language == "en" else "vi"
    zone = zoneinfo.ZoneInfo(zone_name)
    table = rows(wards, lang, zone)
    out_dir.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now(zone).strftime("%Y%m%d-%H%M")
    csv_path = out_dir / f"sansang-readiness-{stamp}.csv"
    xlsx_path = out_dir / f"sansang-readiness-{stamp}.xlsx"
    write_csv(csv_path, table, lang)
    write_xlsx(xlsx_path, table, f"sansang {stamp}", lang, [w["status"] for w in wards])
    return csv_path, xlsx_path


def password_from_env() -> str | None:
    return os.environ.get("SANSANG_NOC_PASSWORD")
