"""The readiness report: its CSV and XLSX rows are the API's ward list, ward for ward."""

from __future__ import annotations

import asyncio
import csv
import json
import subprocess
import sys
from pathlib import Path

from openpyxl import load_workbook

from collector.export import COLUMNS, headers
from collector.i18n import translate
from demo.fleet import run_fleet, simulated_ward
from demo.inventory import write_demo_inventory
from inventory import DEFAULT_INVENTORY, load_inventory
from tests.lab.servers import ROOT, http_get, running_collector


def test_export_writes_csv_and_xlsx_equal_to_the_api(tmp_path: Path) -> None:
    shipped = load_inventory(DEFAULT_INVENTORY)
    urls = {p: f"http://127.0.0.1:9/{p}" for p in shipped.platforms}
    inventory_path = write_demo_inventory(tmp_path / "inventory.yaml", shipped, "26968", urls)
    inventory = load_inventory(inventory_path)
    wards = list(inventory.wards)
    with running_collector(tmp_path / "collector", wards, inventory=inventory_path) as collector:
        fleet = [simulated_ward(inventory, w, collector.tokens[w]) for w in wards[:60]]
        asyncio.run(run_fleet(collector.url, fleet, interval_seconds=0, rounds=1))
        status, body = http_get(collector.url + "/api/v1/wards?lang=en")
        assert status == 200
        api = json.loads(body)["wards"]
        run = subprocess.run(
            [sys.executable, "-m", "collector", "export", "--collector-url", collector.url,
             "--out", str(tmp_path / "report"), "--lang", "en"],
            cwd=ROOT, capture_output=True, text=True, check=True,
        )
    assert "wrote" in run.stdout
    csv_path = next((tmp_path / "report").glob("*.csv"))
    xlsx_path = next((tmp_path / "report").glob("*.xlsx"))

    with csv_path.open(encoding="utf-8-sig", newline="") as handle:
        csv_rows = list(csv.DictReader(handle))
    sheet = load_workbook(xlsx_path).active
    assert sheet is not None
    values = list(sheet.iter_rows(values_only=True))
    assert list(values[0]) == headers("en")
    assert list(csv_rows[0]) == headers("en")
    csv_rows = [dict(zip(COLUMNS, row.values(), strict=True)) for row in csv_rows]
    xlsx_rows = [dict(zip(COLUMNS, ("" if v is None else str(v) for v in row), strict=True))
                 for row in values[1:]]

    expected = [
        {"ward": w["code"], "name": w["name"],
         "status": translate(f"board.{w['status']}", "en"),
         "ready": "yes" if w["ready"] else "no",
         "failing_checks": "; ".join(translate(f"check.{f['check']}", "en")
                                     for f in w["failing"]),
         "problems": "; ".join(p for f in w["failing"] for p in f["problems"])}
        for w in api
    ]
    for rows in (csv_rows, xlsx_rows):
        assert [{k: r[k] for k in expected[0]} for r in rows] == expected
    # The fleet's mix shows up: some ready, some not, the rest never reported.
    statuses = {w["status"] for w in api}
    assert {"ready", "not_ready", "not_installed"} <= statuses
